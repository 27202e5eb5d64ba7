/**
 * Prompt text analysis shared by the local embedder and the semantic guards: one tokenizer, one notion
 * of "content word", so that what the embedder considers close is what the guards then check.
 */

/** Whitespace runs become one space; Unicode is NFC (é typed two ways is one character). */
export function normalizeWhitespace(text: string): string {
  return text.normalize('NFC').replace(/\s+/g, ' ').trim();
}

const CONTRACTIONS: ReadonlyArray<[RegExp, string]> = [
  [/\bcan[’']t\b/gi, 'can not'],
  [/\bwon[’']t\b/gi, 'will not'],
  [/\bshan[’']t\b/gi, 'shall not'],
  [/\b(\w+)n[’']t\b/gi, '$1 not'],
  [/\b(what|where|who|how|when|why|it|that|there|here|he|she)[’']s\b/gi, '$1 is'],
  [/\b(\w+)[’']re\b/gi, '$1 are'],
  [/\b(\w+)[’']ll\b/gi, '$1 will'],
  [/\b(\w+)[’']ve\b/gi, '$1 have'],
  [/\b(\w+)[’']d\b/gi, '$1 would'],
  [/\bi[’']m\b/gi, 'i am'],
  [/\bcannot\b/gi, 'can not'],
];

/** A token of the prompt: its surface form (case kept) and its canonical form (lower case, stemmed, synonyms folded). */
export interface Token {
  readonly surface: string;
  readonly canon: string;
  /** True for the first word of a sentence (its capital says nothing). */
  readonly sentenceStart: boolean;
}

// URLs, e-mails, numbers (1,000.5 / 3.11 / 50%), identifiers (file.txt, user_id, foo-bar, a/b), words.
const TOKEN =
  /https?:\/\/[^\s"'“”`]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d+(?:[.,]\d+)*%?|[\p{L}\p{N}_]+(?:[.\-/][\p{L}\p{N}_]+)*|[.!?:;]/gu;

/** Splits a prompt into tokens. Contractions are expanded first ("what's" → "what is", "don't" → "do not"). */
export function tokenize(text: string): Token[] {
  let expanded = text.normalize('NFC');
  for (const [pattern, replacement] of CONTRACTIONS) expanded = expanded.replace(pattern, replacement);
  const tokens: Token[] = [];
  let sentenceStart = true;
  for (const match of expanded.matchAll(TOKEN)) {
    const surface = match[0];
    if (surface.length === 1 && '.!?:;'.includes(surface)) {
      sentenceStart = true;
      continue;
    }
    tokens.push({ surface, canon: canonical(surface), sentenceStart });
    sentenceStart = false;
  }
  return tokens;
}

/** Lower case, a light English stem (plurals, possessives), then a small synonym fold. */
export function canonical(word: string): string {
  let w = word.toLowerCase().replace(/[’']s$/, '');
  if (/^\d/.test(w)) return canonicalNumber(w);
  // Identifiers (digits, dots, dashes, underscores) are names, not words: nothing to stem or fold.
  if (/[^a-z’']/.test(w)) return w;
  const number = NUMBER_WORDS.get(w);
  if (number !== undefined) return number;
  w = stem(w);
  return SYNONYMS.get(w) ?? w;
}

function canonicalNumber(text: string): string {
  // "1,000" and "1000" are the same number; "3.11" keeps its point.
  const plain = /^\d{1,3}(,\d{3})+(\.\d+)?%?$/.test(text) ? text.replace(/,/g, '') : text;
  return plain.replace(/^0+(?=\d)/, '');
}

function stem(word: string): string {
  let w = word;
  if (w.length <= 3 || /[^a-z]/.test(w)) return w;
  if (w.endsWith('ies') && w.length > 4) w = w.slice(0, -3) + 'y';
  else if (/(ches|shes|sses|xes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  // -ing and -ed when a real stem of 4+ letters is left: storing → stor, stored → stor, store → stor.
  const suffix = /ing$/.test(w) ? 3 : /ed$/.test(w) ? 2 : 0;
  if (suffix > 0 && w.length - suffix >= 4) {
    w = w.slice(0, -suffix);
    if (/([b-df-hj-km-np-tv-z])\1$/.test(w) && !/(ll|ss|zz)$/.test(w)) w = w.slice(0, -1); // running → run
  } else if (w.endsWith('e') && w.length >= 5) {
    w = w.slice(0, -1);
  }
  return w;
}

const NUMBER_WORDS = new Map<string, string>(
  Object.entries({
    zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9',
    ten: '10', eleven: '11', twelve: '12', thirteen: '13', fourteen: '14', fifteen: '15', sixteen: '16',
    seventeen: '17', eighteen: '18', nineteen: '19', twenty: '20', thirty: '30', forty: '40', fifty: '50',
    hundred: '100', thousand: '1000', million: '1000000', billion: '1000000000', dozen: '12', half: '0.5',
    first: '1st', second: '2nd', third: '3rd', fourth: '4th', fifth: '5th', once: '1x', twice: '2x', single: '1',
    double: '2x', triple: '3x',
  }),
);

// A small, conservative fold of words that mean the same in a request. Each line is one meaning.
const SYNONYM_GROUPS = [
  'change modify alter edit',
  'delete remove erase',
  'buy purchase',
  'start begin',
  'big large huge',
  'small little tiny',
  'fast quick rapid speedy',
  'image picture photo',
  'fix repair',
  'error bug',
  'car automobile',
  'movie film',
  'make create',
  'use utilize',
  'method way approach',
  'find locate',
  'example instance',
  'choose pick select',
  'correct right',
  'stop halt',
  'difference differ',
  'meaning definition mean define',
  'summarize summary',
  'translate translation',
  'write compose',
  'good nice',
  'happy glad',
  'shut close',
  'list enumerate',
];
const SYNONYMS = new Map<string, string>();
for (const group of SYNONYM_GROUPS) {
  const [head, ...rest] = group.split(' ').map(stem);
  for (const word of rest) if (!SYNONYMS.has(word)) SYNONYMS.set(word, SYNONYMS.get(head) ?? head);
}

/** Words that change nothing about what is asked: leaving one out, or adding one, keeps the question. */
export const STOPWORDS: ReadonlySet<string> = canonicalSet(
  'a an the what is are was were be been being am do doe did doing done i me my mine myself we us our ours you your yours ' +
    'it its itself this that these those there here to of in on at for with by about as into onto from ' +
    'can could would will shall let get got some any so then just please kindly also really actually exactly ' +
    'basically simply very quite pretty hi hello hey thank thanks tell explain describe show give know want need ' +
    'wonder help like if whether',
);

/** Words whose presence flips a statement. Counted, never treated as content. */
export const NEGATIONS: ReadonlySet<string> = canonicalSet('not no never none nobody nothing neither nor without non cannot nowhere hardly barely');

/** Prepositions whose object carries direction or role: "convert C to F" is not "convert F to C". */
export const RELATIONS: ReadonlySet<string> = canonicalSet(
  'to from into onto than vs versus v before after over under above below per toward towards between',
);

/** First and second person: "what is my name" is not "what is your name". */
export const PERSONS: ReadonlyMap<string, string> = new Map([
  ...'i me my mine myself we us our ours ourselves'.split(' ').map((w) => [canonical(w), '1'] as const),
  ...'you your yours yourself yourselves'.split(' ').map((w) => [canonical(w), '2'] as const),
]);

/** The word lists hold canonical forms, since that is what they are compared with. */
function canonicalSet(words: string): ReadonlySet<string> {
  return new Set(words.split(/\s+/).filter(Boolean).map(canonical));
}

export function isNumberToken(canon: string): boolean {
  return /^\d/.test(canon);
}
