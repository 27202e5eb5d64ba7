import { NEGATIONS, PERSONS, RELATIONS, STOPWORDS, type Token, isNumberToken, normalizeWhitespace, tokenize } from './prompt-text';

/**
 * What the guards compare, extracted once per prompt (and stored next to its vector, so a candidate is
 * checked without another round trip). Words are canonical: lower case, stemmed, synonyms folded.
 */
export interface PromptSignature {
  /** Numbers in order of appearance ("two" is 2, "1,000" is 1000). */
  readonly numbers: readonly string[];
  /** Arithmetic and comparison operators in order ("2+2" has one "+"). */
  readonly operators: readonly string[];
  /** How many negations ("not", "no", "never", "without", "n't"…). */
  readonly negations: number;
  /** Quoted strings, exact (only whitespace normalized), sorted. */
  readonly quotes: readonly string[];
  /** Identifiers and names, in lower case, unstemmed: `getuser`, file.txt, v2, api, a capitalized word inside a sentence. Sorted, unique. */
  readonly entities: readonly string[];
  /** Every word that is not a stopword, in lower case and unstemmed (where the other prompt's names are looked up). Sorted, unique. */
  readonly words: readonly string[];
  /** Content words in order (stopwords, negations, relations and numbers left out). */
  readonly content: readonly string[];
  /** Relation words with their object, "to>fahrenheit", sorted. */
  readonly relations: readonly string[];
  /** Grammatical persons used: '1' (I, my, we), '2' (you, your), sorted. */
  readonly persons: readonly string[];
}

/** Which guards run. Every one is on by default; precision comes first. */
export interface SemanticGuardOptions {
  /** Numbers must be the same, in the same order ("2+2" never matches "2+3"). Default true. */
  numbers?: boolean;
  /** Operators must be the same ("2*3" never matches "2+3"). Default true. */
  operators?: boolean;
  /** The count of negations must be the same ("is it safe" never matches "is it not safe"). Default true. */
  negation?: boolean;
  /**
   * Two prompts that both speak of someone speak of the same person ("what is my name" never matches
   * "what is your name"; "how do I…" still matches "how to…"). Default true.
   */
  person?: boolean;
  /** Quoted strings must be identical. Default true. */
  quotes?: boolean;
  /** Identifiers and names must be the same ("getUser" never matches "getUsers"). Default true. */
  entities?: boolean;
  /**
   * The same relation words ("before" never matches "after"), each keeping its object ("convert C to F"
   * never matches "convert F to C"). Default true.
   */
  relations?: boolean;
  /**
   * No content word may be replaced by another ("reset my password" never matches "reset my username").
   * Default true.
   */
  substitutions?: boolean;
  /** How many content words one prompt may have that the other lacks. Default 0. */
  maxAddedWords?: number;
  /**
   * Treat two words of 7+ letters one edit apart (a letter added, dropped, changed or two swapped) as the
   * same word: "pasword" = "password". Off by default: "complement"/"compliment" and
   * "stationary"/"stationery" are one edit apart too.
   */
  typos?: boolean;
  /** The shared content words keep their order, up to a rotation ("in Python, how…" = "how… in Python"). Default true. */
  order?: boolean;
}

export type GuardName = 'numbers' | 'operators' | 'negation' | 'person' | 'quotes' | 'entities' | 'relations' | 'substitutions' | 'addedWords' | 'order';

const QUOTED = /"([^"]+)"|“([^”]+)”|`([^`]+)`|(?<=^|[\s(:=,[{])'([^']+)'(?=$|[\s.,;:!?)\]}])|‘([^’]+)’/g;
const OPERATOR = /(?<=[\d\s)(])[+*/=<>^×÷](?=[\s\d(]|$)|(?<=\d\s?)-(?=\s?\d)|[<>!=]=/g;

const INFINITIVE_BEFORE = new Set(['how', 'what', 'where', 'when', 'whether', 'which', 'who', 'want', 'need', 'like', 'going', 'try']);
/** Relation words that mean the same direction. */
const RELATION_FAMILY = new Map([
  ['into', 'to'],
  ['onto', 'to'],
  ['toward', 'to'],
  ['versus', 'vs'],
  ['v', 'vs'],
]);

export function signatureOf(prompt: string): PromptSignature {
  const text = normalizeWhitespace(prompt);
  const quotes = [...text.matchAll(QUOTED)].map((m) => m.slice(1).find((g) => g !== undefined) ?? '').sort();
  const operators = text.match(OPERATOR) ?? [];
  const tokens = tokenize(text);
  // In a prompt typed in capitals, a word in capitals is not an acronym.
  const letters = text.replace(/[^\p{L}]/gu, '');
  const shouting = letters.length >= 8 && letters.replace(/[^\p{Lu}]/gu, '').length > 0.6 * letters.length;
  const numbers: string[] = [];
  const content: string[] = [];
  const entities = new Set<string>();
  const words = new Set<string>();
  const relations: string[] = [];
  const persons = new Set<string>();
  let negations = 0;
  tokens.forEach((token, i) => {
    const canon = token.canon;
    const person = PERSONS.get(canon);
    if (person !== undefined) persons.add(person);
    if (isNumberToken(canon)) numbers.push(canon);
    else if (NEGATIONS.has(canon)) negations += 1;
    else if (RELATIONS.has(canon)) {
      // "how to convert" is an infinitive, not a direction.
      const infinitive = canon === 'to' && i > 0 && INFINITIVE_BEFORE.has(tokens[i - 1].canon);
      if (!infinitive) relations.push(`${RELATION_FAMILY.get(canon) ?? canon}>${nextContent(tokens, i) ?? ''}`);
    } else if (!STOPWORDS.has(canon)) content.push(canon);
    const lower = token.surface.toLowerCase();
    if (isEntity(token, shouting)) entities.add(lower);
    if (!STOPWORDS.has(canon)) words.add(lower);
  });
  return { numbers, operators, negations, quotes, entities: [...entities].sort(), words: [...words].sort(), content, relations: relations.sort(), persons: [...persons].sort() };
}

function nextContent(tokens: readonly Token[], from: number): string | undefined {
  for (let j = from + 1; j < tokens.length && j <= from + 3; j++) {
    const canon = tokens[j].canon;
    if (!STOPWORDS.has(canon) && !RELATIONS.has(canon) && !NEGATIONS.has(canon)) return canon;
  }
  // "rename a to b": a short object that happens to be a stopword is still the object.
  return tokens[from + 1]?.canon;
}

function isEntity(token: Token, shouting: boolean): boolean {
  const s = token.surface;
  if (shouting) return /\d/.test(s) || /[_.@/-]/.test(s);
  if (/^\d+(?:[.,]\d+)*%?$/.test(s)) return false; // plain numbers have their own guard
  if (/\d/.test(s) || /[_.@/-]/.test(s) || /^https?:/.test(s)) return true; // v2, user_id, file.txt, a/b, urls
  if (/[a-z][A-Z]/.test(s)) return true; // camelCase
  if (/^[A-Z]{2,}s?$/.test(s)) return true; // acronyms
  return !token.sentenceStart && /^[A-Z][a-z]/.test(s); // a name inside a sentence
}

/** The first guard that tells the two prompts apart, or undefined when every enabled guard lets them match. */
export function guardConflict(a: PromptSignature, b: PromptSignature, options: SemanticGuardOptions = {}): GuardName | undefined {
  if (options.numbers !== false && !sameList(a.numbers, b.numbers)) return 'numbers';
  if (options.operators !== false && !sameList(a.operators, b.operators)) return 'operators';
  if (options.negation !== false && a.negations !== b.negations) return 'negation';
  if (options.person !== false && a.persons.length > 0 && b.persons.length > 0 && !sameList(a.persons, b.persons)) return 'person';
  if (options.quotes !== false && !sameList(a.quotes, b.quotes)) return 'quotes';
  if (options.entities !== false && !entitiesAgree(a, b)) return 'entities';
  if (options.relations !== false && relationsConflict(a.relations, b.relations)) return 'relations';
  let contentA = a.content;
  let setA = new Set(contentA);
  const setB = new Set(b.content);
  if (options.typos === true) {
    // A word of A one edit from a word of B is read as that word.
    const aliases = typoAliases([...setA].filter((w) => !setB.has(w)), [...setB].filter((w) => !setA.has(w)));
    if (aliases.size > 0) {
      contentA = contentA.map((w) => aliases.get(w) ?? w);
      setA = new Set(contentA);
    }
  }
  const onlyA = [...setA].filter((w) => !setB.has(w));
  const onlyB = [...setB].filter((w) => !setA.has(w));
  if (options.substitutions !== false && onlyA.length > 0 && onlyB.length > 0) return 'substitutions';
  if (onlyA.length + onlyB.length > (options.maxAddedWords ?? 0)) return 'addedWords';
  if (options.order !== false && !sameOrderUpToRotation(contentA, b.content, setA, setB)) return 'order';
  return undefined;
}

/** Pairs words of 7+ letters one edit apart, each word at most once: A's word → B's word. */
function typoAliases(onlyA: readonly string[], onlyB: readonly string[]): Map<string, string> {
  const aliases = new Map<string, string>();
  const free = [...onlyB];
  for (const word of onlyA) {
    if (word.length < 7) continue;
    const j = free.findIndex((other) => other.length >= 7 && oneEditApart(word, other));
    if (j >= 0) aliases.set(word, free.splice(j, 1)[0]);
  }
  return aliases;
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
  const wordsA = new Set(a.words);
  const wordsB = new Set(b.words);
  return a.entities.every((e) => wordsB.has(e)) && b.entities.every((e) => wordsA.has(e));
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
 * With the default guards (no substitutions, no added words, no typo tolerance, and numbers, operators,
 * negations and quotes checked), two prompts can only match if they have the same set of content words,
 * the same numbers, operators, negation count and quotes. A hash of those is therefore an exact
 * blocking key: looking up its bucket finds every prompt a full scan could let through.
 */
export function blockingApplies(options: SemanticGuardOptions | false): boolean {
  if (options === false) return false;
  return (
    options.substitutions !== false && (options.maxAddedWords ?? 0) === 0 && options.typos !== true && options.numbers !== false &&
    options.operators !== false && options.negation !== false && options.quotes !== false
  );
}

/** The blocking key of a prompt (32-bit; a collision only adds a candidate, which the guards then refuse). */
export function blockOf(signature: PromptSignature): number {
  const content = [...new Set(signature.content)].sort();
  const text = JSON.stringify([content, signature.numbers, signature.operators, signature.negations, signature.quotes]);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Compact text form, stored next to the vector. */
export function encodeSignature(signature: PromptSignature): string {
  return JSON.stringify([
    signature.numbers,
    signature.operators,
    signature.negations,
    signature.quotes,
    signature.entities,
    signature.words,
    signature.content,
    signature.relations,
    signature.persons,
  ]);
}

export function decodeSignature(text: string): PromptSignature {
  const [numbers, operators, negations, quotes, entities, words, content, relations, persons] = JSON.parse(text) as [
    string[], string[], number, string[], string[], string[], string[], string[], string[],
  ];
  return { numbers, operators, negations, quotes, entities, words, content, relations, persons };
}
