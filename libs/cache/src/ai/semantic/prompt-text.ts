/**
 * Prompt text analysis shared by the local embedder and the semantic guards: one tokenizer, one notion
 * of "content word", so that what the embedder considers close is what the guards then check.
 */
import { type LexiconEntry, lexicon } from './lexicon';

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
  [/\bwhats\b/gi, 'what is'],
];

export type TokenKind = 'word' | 'number' | 'symbol' | 'operator';

/** A token of the prompt: its surface form (case kept) and its canonical form (lower case, lemma, synonyms folded). */
export interface Token {
  readonly surface: string;
  readonly canon: string;
  readonly kind: TokenKind;
  /** True for the first word of a sentence (its capital says nothing). */
  readonly sentenceStart: boolean;
  /** True for the first token after a clause boundary (punctuation, "but", "when"…). */
  readonly clauseStart: boolean;
  /** An unknown word read as the known word one edit away ("recieve" → "receive"). */
  readonly repaired: boolean;
}

// In order: URLs, e-mails, names with a symbol (C#, C++, F#, .NET), signed and plain numbers (-3, +12%,
// 1,000.5), identifiers (file.txt, user_id, foo-bar, a/b), words, emoji, currency and degree signs,
// operators, sentence punctuation. Anything else (spaces, brackets, quotes) separates tokens.
const TOKEN = new RegExp(
  [
    String.raw`https?:\/\/[^\s"'“”\x60]+`,
    String.raw`[\w.+-]+@[\w-]+(?:\.[\w-]+)+`,
    String.raw`[\p{L}][\p{L}\p{N}]*(?:#|\+\+)(?![\p{L}\p{N}])`,
    String.raw`(?<![\p{L}\p{N}.])\.[\p{L}][\p{L}\p{N}]*`,
    String.raw`(?<![\p{L}\p{N})\]])[-+−](?=\d)\d+(?:[.,]\d+)*%?`,
    String.raw`\d+(?:[.,]\d+)*%?`,
    String.raw`[\p{L}\p{N}_]+(?:[’'.\-/][\p{L}\p{N}_]+)*`,
    String.raw`\p{Extended_Pictographic}\uFE0F?(?:\u200D\p{Extended_Pictographic}\uFE0F?)*|[\u2B50\u2B06\u27A1]\uFE0F?`,
    String.raw`°[CFK]?|\p{Sc}`,
    String.raw`===|!==|==|!=|<=|>=|&&|\|\||\*\*|\/\/|->|=>|<-|<<|>>|\+\+|--|\+=|-=|!(?=[\p{L}(])|[-+*/%^&|~<>=×÷]`,
    String.raw`[.!?:;,]`,
  ].join('|'),
  'gu',
);

/** Words that open a new clause: a negation's scope and a relation's object stop there. */
const CLAUSE_WORDS = new Set(['but', 'and', 'or', 'although', 'though', 'while', 'when', 'whereas', 'because', 'if', 'unless', 'so', 'yet', 'that', 'which', 'who']);

/** The last prompts tokenized: the embedder and the guards read the same prompt one after the other. */
const recent = new Map<string, readonly Token[]>();

/** Splits a prompt into tokens. Contractions are expanded first ("what's" → "what is", "don't" → "do not"). */
export function tokenize(text: string): readonly Token[] {
  let tokens = recent.get(text);
  if (tokens === undefined) {
    tokens = tokenizeOnce(text);
    if (recent.size >= 256) recent.delete(recent.keys().next().value as string);
    recent.set(text, tokens);
  }
  return tokens;
}

function tokenizeOnce(text: string): Token[] {
  let expanded = text.normalize('NFC');
  for (const [pattern, replacement] of CONTRACTIONS) expanded = expanded.replace(pattern, replacement);
  expanded = stripDiscourse(expanded);
  const tokens: Token[] = [];
  let sentenceStart = true;
  let clauseStart = true;
  for (const match of expanded.matchAll(TOKEN)) {
    const surface = match[0];
    if (surface.length === 1 && '.!?:;,'.includes(surface)) {
      if (surface !== ',') sentenceStart = true;
      clauseStart = true;
      continue;
    }
    const kind = kindOf(surface);
    const entry = kind === 'word' ? wordEntry(surface) : { canon: kind === 'number' ? canonicalNumber(surface) : surface.toLowerCase(), repaired: false };
    if (kind === 'word' && CLAUSE_WORDS.has(entry.canon)) clauseStart = true;
    tokens.push({ surface, canon: entry.canon, kind, sentenceStart, clauseStart, repaired: entry.repaired });
    sentenceStart = false;
    clauseStart = false;
  }
  return tokens;
}

function kindOf(surface: string): TokenKind {
  if (/^[-+−]?\d/.test(surface)) return 'number';
  if (/^[\p{L}\p{N}_.]/u.test(surface) && !/^\.$/.test(surface)) return 'word';
  if (/^(?:°|\p{Sc}|\p{Extended_Pictographic}|[\u2B50\u2B06\u27A1])/u.test(surface)) return 'symbol';
  return 'operator';
}

/**
 * Discourse that asks nothing: greetings, thanks, the politeness of a request ("could you please",
 * "I would be grateful if you could", "sorry to bother you, but"). Removed by its place in the prompt: at the
 * start of a sentence, or as a whole sentence, never from the middle of one. Runs after contractions
 * are expanded.
 */
const OPENERS = [
  String.raw`(?:hi|hello|hey|hiya|greetings|good (?:morning|afternoon|evening))(?: there| all| team| assistant)?`,
  String.raw`dear (?:assistant|team|sir|madam|sir or madam)`,
  String.raw`(?:i )?hope (?:you are|all is) (?:well|doing well|good)`,
  String.raw`(?:okay|ok|so|well|alright|right)(?: so)?`,
  String.raw`(?:a )?(?:really )?quick (?:question|one)(?: please)?`,
  String.raw`sorry to bother you(?: but)?`,
  String.raw`if it is not too much trouble`,
  String.raw`(?:thanks|thank you)(?: so much| very much| a lot)?(?: in advance)?(?: also)?`,
  String.raw`please and thank you`,
  String.raw`(?:i would|i) (?:really )?(?:be (?:very )?grateful|appreciate it) if you (?:could|would|can)(?: please)?`,
  String.raw`i was hoping (?:that )?you (?:could|would|can)(?: please)?`,
  String.raw`i was wondering (?:if|whether) you (?:could|would|can)(?: please)?`,
  String.raw`(?:i was wondering|i am wondering|i wonder|just wondering)`,
  String.raw`(?:i would like to know|i want to know|i would like you to tell me)`,
  String.raw`would you (?:mind|be so kind as to|be able to)(?: please)?`,
  String.raw`(?:could|can|would|will) you(?: please| kindly)?(?: (?:tell|show) me)?`,
  String.raw`(?:please|kindly|pls|plz)(?: (?:tell|show) me)?`,
];
const OPENER = new RegExp(String.raw`(^|[.!?]\s+|\n)\s*(?:(?:${OPENERS.join('|')})\s*[,!.:;-]*\s+)+`, 'giu');
const CLOSERS = new RegExp(
  String.raw`(?:^|(?<=[.!?]))\s*(?:(?:thanks|thank you|many thanks|cheers|much appreciated|thx|ty)(?: so much| very much| a lot)?(?: in advance)?|appreciate it)\s*[.!]*\s*$`,
  'giu',
);

export function stripDiscourse(text: string): string {
  let out = text.replace(CLOSERS, '');
  // Repeated, so that "Hi! Could you please…" loses both.
  for (let i = 0; i < 3; i++) {
    const next = out.replace(OPENER, (_m, before: string) => before);
    if (next === out) break;
    out = next;
  }
  // What is left must still ask something: "Thanks!" alone is a prompt too.
  return /[\p{L}\p{N}]/u.test(out) ? out : text;
}

/** Lower case, lemma (WordNet's inflection rules, then a light stem for unknown words), typo repair, then the synonym fold. */
export function canonical(word: string): string {
  return wordEntry(word).canon;
}

function wordEntry(word: string): LexiconEntry {
  const w = word.toLowerCase().replace(/[’']s$/, '').replace(/’/g, "'");
  if (/^\d/.test(w)) return { canon: canonicalNumber(w), repaired: false };
  // Identifiers (digits, dots, dashes, underscores) are names, not words: nothing to stem or fold.
  if (/[^a-z']/.test(w) || FUNCTION_WORDS.has(w)) return { canon: w, repaired: false };
  const number = NUMBER_WORDS.get(w);
  if (number !== undefined) return { canon: number, repaired: false };
  return lexicon().entry(w);
}

function canonicalNumber(text: string): string {
  // "1,000" and "1000" are the same number; "3.11" keeps its point; "−3" is "-3".
  const signed = text.replace(/^−/, '-');
  const plain = /^[-+]?\d{1,3}(,\d{3})+(\.\d+)?%?$/.test(signed) ? signed.replace(/,/g, '') : signed;
  return plain.replace(/^([-+]?)0+(?=\d)/, '$1');
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

/** Words that change nothing about what is asked: leaving one out, or adding one, keeps the question. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a an the what is are was were be been being am do does did doing done have has had having i me my mine myself we us our ours ' +
    'you your yours it its itself this that these those there here to of in on at with as from ' +
    'can could would will shall should must may might let get got some any so then just please kindly also really actually ' +
    'basically simply very hi hello hey thank thanks tell explain describe show give know want wonder help if whether ' +
    'and or but how why where when which who whom'
  ).split(' '),
);

/** Words kept as they are (no lemma, no fold): the stopwords and the small words the guards read. */
const FUNCTION_WORDS: ReadonlySet<string> = new Set([
  ...STOPWORDS,
  ...'not no never none nobody nothing neither nor without non nowhere hardly barely quite need needs needed ought by about for against like near instead via through'.split(' '),
]);

/** Words whose presence flips what follows them. Their scope is what they negate (see guards). */
export const NEGATIONS: ReadonlySet<string> = new Set('not no never none nobody nothing neither nor without non nowhere hardly barely'.split(' '));

/**
 * Prepositions whose object carries direction or role: "convert C to F" is not "convert F to C", "a book
 * by Stephen King" is not "a book about Stephen King", "arguments for" are not "arguments against".
 */
export const RELATIONS: ReadonlySet<string> = new Set(
  ('to from into onto than vs versus v before after over under above below per toward towards between ' +
    'by about for against like near instead via through inside outside within around beyond since until').split(' '),
);

/** First and second person: "what is my name" is not "what is your name". */
export const PERSONS: ReadonlyMap<string, string> = new Map([
  ...'i me my mine myself we us our ours ourselves'.split(' ').map((w) => [w, '1'] as const),
  ...'you your yours yourself yourselves'.split(' ').map((w) => [w, '2'] as const),
]);

/** Tense of the question, read from its auxiliaries: "who was" is not "who is", "what will happen" is not "what happened". */
export const TENSES: ReadonlyMap<string, string> = new Map([
  ...'was were did had'.split(' ').map((w) => [w, 'past'] as const),
  ...'will shall'.split(' ').map((w) => [w, 'future'] as const),
]);

/** Modality: "can I" asks what is possible or allowed, "should I" for advice, "must I" what is required. */
export const MODALS: ReadonlyMap<string, string> = new Map([
  ...'can could may might'.split(' ').map((w) => [w, 'may'] as const),
  ...'should ought'.split(' ').map((w) => [w, 'should'] as const),
  ...'must'.split(' ').map((w) => [w, 'must'] as const),
]);

export function isNumberToken(canon: string): boolean {
  return /^[-+]?\d/.test(canon);
}
