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
