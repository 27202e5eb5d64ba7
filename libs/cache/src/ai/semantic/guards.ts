import { MODALS, NEGATIONS, PERSONS, RELATIONS, STOPWORDS, TENSES, type Token, isNumberToken, tokenize } from './prompt-text';

/**
 * What the guards compare, extracted once per prompt (and stored next to its vector, so a candidate is
 * checked without another round trip). Words are canonical: lower case, lemma, synonyms folded.
 */
export interface PromptSignature {
  /** Numbers in order of appearance, with their sign ("two" is 2, "1,000" is 1000, "-3" is not "3"). */
  readonly numbers: readonly string[];
  /** Arithmetic, comparison and logical operators in order ("2+2" has one "+"; `&&` is not `||`). */
  readonly operators: readonly string[];
  /** Currency and degree signs and emoji, in order ("$100" is not "£100", 👍 is not 👎). */
  readonly symbols: readonly string[];
  /** Each negation with what it negates: "not>sweet", "without>meat". Sorted. */
  readonly negations: readonly string[];
  /** Quoted strings, exact, sorted. */
  readonly quotes: readonly string[];
  /** Code: fenced blocks, `inline code` and indented lines, exact (indentation kept), sorted. */
  readonly code: readonly string[];
  /** Identifiers and names, unstemmed: `getuser`, file.txt, v2, c#, a capitalized word inside a sentence (mixed case kept: MBps). Sorted, unique. */
  readonly entities: readonly string[];
  /** Every word that is not a stopword, in lower case and unstemmed, and as written when it has capitals. Sorted, unique. */
  readonly words: readonly string[];
  /** Content words in order (stopwords, negations, relations and numbers left out). */
  readonly content: readonly string[];
  /** Relation words with their object, "to>fahrenheit", "by>king", sorted. */
  readonly relations: readonly string[];
  /** Grammatical persons used: '1' (I, my, we), '2' (you, your), sorted. */
  readonly persons: readonly string[];
  /** Tenses marked by an auxiliary: 'past' (was, did, had), 'future' (will, shall). Sorted, unique. */
  readonly tenses: readonly string[];
  /** Modality: 'may' (can, could, may, might), 'should', 'must' (must, have to, need to). Sorted, unique. */
  readonly modals: readonly string[];
  /** Words not in the lexicon read as a known word one edit away, as written (lower case). Sorted, unique. */
  readonly repairs: readonly string[];
}

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

/** Bumped when the signature changes: vectors stored with another version are not compared. */
export const SIGNATURE_VERSION = 2;

const QUOTED = /"([^"]+)"|“([^”]+)”|(?<=^|[\s(:=,[{])'([^']+)'(?=$|[\s.,;:!?)\]}])|‘([^’]+)’/g;
const INLINE_CODE = /`[^`\n]+`/g;
const INDENTED = /^(?:\t| {2,})\S/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Sets the code of a prompt apart, in order and exact (indentation kept, trailing spaces dropped):
 * fenced blocks, runs of indented lines with the line that introduces them ("server:" above "  port: 80"),
 * and `inline code`. The rest is prose.
 */
function splitCode(text: string): { prose: string; code: string[] } {
  const code: string[] = [];
  const prose: string[] = [];
  const lines = text.split('\n').map((l) => l.trimEnd());
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i])?.[1];
    if (fence !== undefined) {
      let j = i + 1;
      while (j < lines.length && !(lines[j].trim().startsWith(fence) && lines[j].trim().replace(/[`~]/g, '') === '')) j++;
      code.push(lines.slice(i, j + 1).join('\n'));
      i = j;
    } else if (INDENTED.test(lines[i])) {
      let j = i;
      while (j + 1 < lines.length && (INDENTED.test(lines[j + 1]) || (lines[j + 1] === '' && INDENTED.test(lines[j + 2] ?? '')))) j++;
      const head = prose.length > 0 && prose[prose.length - 1] !== '' ? prose[prose.length - 1] : '';
      code.push([head, ...lines.slice(i, j + 1)].join('\n'));
      i = j;
    } else {
      prose.push(lines[i]);
    }
  }
  const text2 = prose.join('\n').replace(INLINE_CODE, (m) => {
    code.push(m);
    return ' ';
  });
  return { prose: text2, code };
}

const INFINITIVE_BEFORE = new Set(['how', 'what', 'where', 'when', 'whether', 'which', 'who', 'want', 'need', 'like', 'going', 'try', 'have', 'has', 'had', 'able', 'ought', 'used']);
const AUXILIARIES = new Set(['do', 'does', 'did', 'is', 'are', 'was', 'were', 'am', 'can', 'could', 'will', 'would', 'should', 'shall', 'have', 'has', 'had', 'must', 'may', 'might']);
const WH = /^(how|where|what|which|who|when|why)$/;
const SUBJECT_PRONOUNS = new Set(['i', 'you', 'he', 'she', 'it', 'we', 'they', 'there', 'this', 'that']);
/** Relation words that mean the same direction. */
const RELATION_FAMILY = new Map([
  ['into', 'to'],
  ['onto', 'to'],
  ['toward', 'to'],
  ['towards', 'to'],
  ['versus', 'vs'],
  ['v', 'vs'],
]);

export function signatureOf(prompt: string): PromptSignature {
  const { prose: text, code } = splitCode(prompt.normalize('NFC').replace(/\r\n?/g, '\n'));
  const quotes = [...text.matchAll(QUOTED)].map((m) => m.slice(1).find((g) => g !== undefined) ?? '').sort();
  const tokens = tokenize(text);
  // In a prompt typed in capitals, a word in capitals is not an acronym.
  const letters = text.replace(/[^\p{L}]/gu, '');
  const shouting = letters.length >= 8 && letters.replace(/[^\p{Lu}]/gu, '').length > 0.6 * letters.length;
  const numbers: string[] = [];
  const operators: string[] = [];
  const symbols: string[] = [];
  const content: string[] = [];
  const entities = new Set<string>();
  const words = new Set<string>();
  const relations: string[] = [];
  const persons = new Set<string>();
  const negations: string[] = [];
  const tenses = new Set<string>();
  const modals = new Set<string>();
  const repairs = new Set<string>();
  tokens.forEach((token, i) => {
    const canon = token.canon;
    if (token.kind === 'operator') return void operators.push(canon);
    if (token.kind === 'symbol') return void symbols.push(canon);
    const person = PERSONS.get(canon);
    if (person !== undefined) persons.add(person);
    const tense = TENSES.get(canon);
    if (tense !== undefined) tenses.add(tense);
    const next = tokens[i + 1]?.canon;
    // "how can I…" asks for a way, like "how do I…": modality only counts outside a wh-question's auxiliary.
    const afterWh = i > 0 && WH.test(tokens[i - 1].canon);
    const modal = afterWh ? undefined : (MODALS.get(canon) ?? (next === 'to' && /^(have|has|had|need|needs|needed)$/.test(canon) ? 'must' : undefined));
    if (modal !== undefined) modals.add(modal);
    if (token.repaired && !STOPWORDS.has(canon)) repairs.add(token.surface.toLowerCase());
    if (isNumberToken(canon)) numbers.push(canon);
    else if (NEGATIONS.has(canon)) negations.push(`${canon === 'without' ? 'without' : 'not'}>${negationScope(tokens, i).join(' ')}`);
    else if (RELATIONS.has(canon)) {
      // "how to convert" is an infinitive, not a direction.
      const infinitive = canon === 'to' && i > 0 && INFINITIVE_BEFORE.has(tokens[i - 1].canon);
      // "I would like to", "do you like": the verb, not the preposition.
      const verb = canon === 'like' && i > 0 && (PERSONS.has(tokens[i - 1].canon) || AUXILIARIES.has(tokens[i - 1].canon));
      const object = nextContent(tokens, i) ?? '';
      // "summarize this for me": the asker, who is the asker whatever the words.
      const asker = canon === 'for' && (object === 'me' || object === 'us');
      if (!infinitive && !verb && !asker) relations.push(`${RELATION_FAMILY.get(canon) ?? canon}>${object}`);
    } else if (!STOPWORDS.has(canon)) content.push(canon);
    const lower = token.surface.toLowerCase();
    const mixed = /[a-z][A-Z]|[A-Z]{2,}[a-z]/.test(token.surface);
    if (isEntity(token, shouting)) entities.add(mixed ? token.surface : lower);
    if (!STOPWORDS.has(canon)) {
      words.add(lower);
      if (token.surface !== lower) words.add(token.surface); // as written too: "Mbps" tells "MBps" apart
    }
  });
  return {
    numbers, operators, symbols, negations: negations.sort(), quotes, code: code.sort(), entities: [...entities].sort(), words: [...words].sort(), content,
    relations: relations.sort(), persons: [...persons].sort(), tenses: [...tenses].sort(), modals: [...modals].sort(), repairs: [...repairs].sort(),
  };
}

/**
 * What a negation negates: the content words from it to the end of its clause. In a question whose
 * auxiliary carries the negation ("why doesn't my code compile"), the subject is skipped, so that it
 * reads as "why does my code not compile".
 */
function negationScope(tokens: readonly Token[], at: number): string[] {
  let from = at + 1;
  const inverted = at > 0 && AUXILIARIES.has(tokens[at - 1].canon) && tokens[from] !== undefined && !tokens[from].clauseStart;
  if (inverted && (SUBJECT_PRONOUNS.has(tokens[from].canon) || STOPWORDS.has(tokens[from].canon))) {
    if (SUBJECT_PRONOUNS.has(tokens[from].canon)) from += 1;
    else {
      while (from < tokens.length && !tokens[from].clauseStart && STOPWORDS.has(tokens[from].canon)) from++;
      from += 1; // the subject's head
    }
  }
  const scope = new Set<string>();
  for (let j = from; j < tokens.length && (j === at + 1 || !tokens[j].clauseStart); j++) {
    const t = tokens[j];
    if (t.kind === 'word' && !STOPWORDS.has(t.canon) && !NEGATIONS.has(t.canon) && !RELATIONS.has(t.canon)) scope.add(t.canon);
    if (t.kind === 'number') scope.add(t.canon);
  }
  return [...scope].sort();
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
  if (token.kind !== 'word') return false;
  if (/[#+]$|^\./.test(s)) return true; // C#, C++, .NET
  if (shouting) return /\d/.test(s) || /[_.@/-]/.test(s);
  if (/\d/.test(s) || /[_.@/-]/.test(s) || /^https?:/.test(s)) return true; // v2, user_id, file.txt, a/b, urls
  if (/[a-z][A-Z]|[A-Z]{2,}[a-z]/.test(s)) return true; // camelCase, MBps
  if (/^[A-Z]{2,}s?$/.test(s)) return true; // acronyms
  return !token.sentenceStart && /^[A-Z][a-z]/.test(s); // a name inside a sentence
}

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

const FIELDS = ['numbers', 'operators', 'symbols', 'negations', 'quotes', 'code', 'entities', 'words', 'content', 'relations', 'persons', 'tenses', 'modals', 'repairs'] as const;

/** Compact text form, stored next to the vector. */
export function encodeSignature(signature: PromptSignature): string {
  return JSON.stringify([SIGNATURE_VERSION, ...FIELDS.map((f) => signature[f])]);
}

/** The signature stored by `encodeSignature`, or undefined for another version (such a candidate is refused). */
export function decodeSignature(text: string): PromptSignature | undefined {
  const parsed = JSON.parse(text) as unknown[];
  if (parsed[0] !== SIGNATURE_VERSION || parsed.length !== FIELDS.length + 1) return undefined;
  return Object.fromEntries(FIELDS.map((f, i) => [f, parsed[i + 1]])) as unknown as PromptSignature;
}
