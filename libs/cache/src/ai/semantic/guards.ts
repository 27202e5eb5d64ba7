import type { PromptSignature } from './prompt-signature';

/** Which guards run. Every one is on by default; precision comes first. */
export interface SemanticGuardOptions {
  /** Numbers must be the same, with their signs, in the same order ("2+2" never matches "2+3", "-3" never "3"). Default true. */
  numbers?: boolean;
  /** Operators must be the same ("2*3" never matches "2+3", `&&` never `||`). Default true. */
  operators?: boolean;
  /** Currency and degree signs and emoji must be the same ("$100" never matches "£100"). Default true. */
  symbols?: boolean;
  /**
   * The same things must be negated ("is it safe" never matches "is it not safe"; "red but not sweet"
   * never matches "not red but sweet"). Default true.
   */
  negation?: boolean;
  /**
   * Two prompts that both speak of someone speak of the same person ("what is my name" never matches
   * "what is your name"; "how do I…" still matches "how to…"). Default true.
   */
  person?: boolean;
  /** Quoted strings must be identical. Default true. */
  quotes?: boolean;
  /** Code blocks, inline code and indented lines must be identical, indentation included. Default true. */
  code?: boolean;
  /** Identifiers and names must be the same ("getUser" never matches "getUsers", "C#" never "C++"). Default true. */
  entities?: boolean;
  /**
   * The same relation words ("before" never matches "after", "by" never "about"), each keeping its object
   * ("convert C to F" never matches "convert F to C"). Default true.
   */
  relations?: boolean;
  /** The same tense ("who was" never matches "who is") and modality ("can I" never matches "should I"). Default true. */
  tense?: boolean;
  /**
   * No content word may be replaced by another ("reset my password" never matches "reset my username").
   * Words are compared by lemma and WordNet synset (see the README). Default true.
   */
  substitutions?: boolean;
  /** How many content words one prompt may have that the other lacks. Default 0. */
  maxAddedWords?: number;
  /**
   * A word that is not in the lexicon may be read as the one known word one edit away ("recieve" =
   * "receive") when the other prompt has that word as written. `false`: words must be known or identical. Default true.
   */
  typos?: boolean;
  /** The shared content words keep their order, up to a rotation ("in Python, how…" = "how… in Python"). Default true. */
  order?: boolean;
}

export type GuardName =
  | 'numbers' | 'operators' | 'symbols' | 'negation' | 'person' | 'quotes' | 'code' | 'entities' | 'relations' | 'tense'
  | 'typos' | 'substitutions' | 'addedWords' | 'order';

/** The first guard that tells the two prompts apart, or undefined when every enabled guard lets them match. */
export function guardConflict(a: PromptSignature, b: PromptSignature, options: SemanticGuardOptions = {}): GuardName | undefined {
  if (options.numbers !== false && !sameList(a.numbers, b.numbers)) return 'numbers';
  if (options.operators !== false && !sameList(a.operators, b.operators)) return 'operators';
  if (options.symbols !== false && !sameList(a.symbols, b.symbols)) return 'symbols';
  if (options.negation !== false && !sameList(a.negations, b.negations)) return 'negation';
  if (options.person !== false && a.persons.length > 0 && b.persons.length > 0 && !sameList(a.persons, b.persons)) return 'person';
  if (options.quotes !== false && !sameList(a.quotes, b.quotes)) return 'quotes';
  if (options.code !== false && !sameList(a.code, b.code)) return 'code';
  if (options.entities !== false && !entitiesAgree(a, b)) return 'entities';
  if (options.relations !== false && relationsConflict(a.relations, b.relations)) return 'relations';
  if (options.tense !== false && (!sameList(a.tenses, b.tenses) || !sameList(a.modals, b.modals))) return 'tense';
  if (!repairsAgree(a, b, options.typos !== false) || !repairsAgree(b, a, options.typos !== false)) return 'typos';
  const setA = new Set(a.content);
  const setB = new Set(b.content);
  const onlyA = [...setA].filter((w) => !setB.has(w));
  const onlyB = [...setB].filter((w) => !setA.has(w));
  if (options.substitutions !== false && onlyA.length > 0 && onlyB.length > 0) return 'substitutions';
  if (onlyA.length + onlyB.length > (options.maxAddedWords ?? 0)) return 'addedWords';
  if (options.order !== false && !sameOrderUpToRotation(a.content, b.content, setA, setB)) return 'order';
  return undefined;
}

/** Every repaired word of A is in B as written, or (typos allowed) one edit from a word of B: "recieve" needs "receive" there. */
function repairsAgree(a: PromptSignature, b: PromptSignature, typos: boolean): boolean {
  if (a.repairs.length === 0) return true;
  const wordsB = new Set(b.words);
  return a.repairs.every((r) => wordsB.has(r) || (typos && b.words.some((w) => oneEditApart(r, w))));
}

/** Damerau distance ≤ 1. */
export function oneEditApart(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // one letter changed
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // two swapped
  }
  const [longer, shorter] = a.length > b.length ? [a, b] : [b, a];
  return longer.slice(i + 1) === shorter.slice(i);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Every name or identifier of one prompt appears, as written (case aside), in the other: getUsers is not getUser. */
function entitiesAgree(a: PromptSignature, b: PromptSignature): boolean {
  return a.entities.every((e) => hasEntity(b, e)) && b.entities.every((e) => hasEntity(a, e));
}

/**
 * A name in mixed case (macOS, MBps) is found as written, or typed all in lower case ("macos"), but
 * not written with other capitals: "MBps" is not "Mbps".
 */
function hasEntity(signature: PromptSignature, entity: string): boolean {
  const words = signature.words;
  if (words.includes(entity)) return true;
  const lower = entity.toLowerCase();
  if (lower === entity || !words.includes(lower)) return false;
  return !words.some((w) => w !== lower && w.toLowerCase() === lower);
}

/**
 * The relation words differ ("before a run" / "after a run"), or one is used with objects that share
 * nothing ("convert C to F" / "convert F to C").
 */
function relationsConflict(a: readonly string[], b: readonly string[]): boolean {
  const ma = objectsByRelation(a);
  const mb = objectsByRelation(b);
  if (ma.size !== mb.size) return true;
  for (const [rel, objectsA] of ma) {
    const objectsB = mb.get(rel);
    if (objectsB === undefined) return true;
    if (![...objectsA].some((o) => objectsB.has(o))) return true;
  }
  return false;
}

function objectsByRelation(list: readonly string[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const pair of list) {
    const cut = pair.indexOf('>');
    const rel = pair.slice(0, cut);
    let set = map.get(rel);
    if (!set) map.set(rel, (set = new Set()));
    set.add(pair.slice(cut + 1));
  }
  return map;
}

function sameOrderUpToRotation(a: readonly string[], b: readonly string[], setA: Set<string>, setB: Set<string>): boolean {
  const seqA = firstOccurrences(a, setB);
  const seqB = firstOccurrences(b, setA);
  if (seqA.length !== seqB.length) return false;
  if (seqA.length < 2) return true;
  const start = seqA.indexOf(seqB[0]);
  for (let i = 0; i < seqB.length; i++) if (seqA[(start + i) % seqA.length] !== seqB[i]) return false;
  return true;
}

function firstOccurrences(words: readonly string[], keep: Set<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const w of words) {
    if (keep.has(w) && !seen.has(w)) {
      seen.add(w);
      out.push(w);
    }
  }
  return out;
}

/**
 * With the default guards (no substitutions, no added words, and numbers, operators, symbols, negations,
 * quotes, code, tense and modality checked), two prompts can only match if they have the same set of
 * content words and the same values of those. A hash of them is therefore an exact blocking key: looking
 * up its bucket finds every prompt a full scan could let through.
 */
export function blockingApplies(options: SemanticGuardOptions | false): boolean {
  if (options === false) return false;
  return (
    options.substitutions !== false && (options.maxAddedWords ?? 0) === 0 && options.numbers !== false && options.operators !== false &&
    options.symbols !== false && options.negation !== false && options.quotes !== false && options.code !== false && options.tense !== false
  );
}

/** The blocking key of a prompt (32-bit; a collision only adds a candidate, which the guards then refuse). */
export function blockOf(signature: PromptSignature): number {
  const content = [...new Set(signature.content)].sort();
  const s = signature;
  const text = JSON.stringify([content, s.numbers, s.operators, s.symbols, s.negations, s.quotes, s.code, s.tenses, s.modals]);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
