import { CODE_BLOCKS, HEADINGS, NAMES, TABLES, TERMS } from './llm-code-pool.fixture';
import { CLOSERS, CONNECTIVES, OPENERS, TOPICS } from './llm-prose-pool.fixture';

/**
 * Deterministic answer-style markdown (headings, prose, bullet and numbered lists, code blocks) of
 * roughly `targetBytes`, for sizing compression. Hand-written sentences (~17 KB, 16 subjects) and
 * code blocks are drawn without replacement, so a 10 KB text never repeats one. Half the sentences
 * come from a small grammar (~10^5 combinations) around three subjects per text: real answers keep
 * reusing their key terms, and without that the text was far less compressible than real prose
 * (type/token ratio 0.44 vs 0.24–0.31; gzip 43 % vs ~35 % at 10 KB). With it, it is within a point
 * of real README markdown (compression.measure.ts prints both), slightly on the harder side.
 * Past ~20 KB the hand-written pool starts over, so 100 KB figures are flattered by repetition;
 * 1 KB and 10 KB are the honest sizes.
 */
export function llmText(targetBytes: number, seed = 1): string {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  // An answer keeps coming back to the few things it is about; a fixed handful of subjects per text
  // gives the grammar sentences that recurrence.
  const subjects = shuffle([...SUBJECTS], rnd).slice(0, 3);
  // Topics one after another, each used up before the next, like the sections of one long answer.
  let topics: (readonly string[])[] = [];
  let deck: string[] = [];
  let connectives: string[] = [];
  const sentence = (): string => {
    const r = rnd();
    if (r < 0.5) return grammarSentence(subjects, pick, rnd);
    if (r < 0.58) {
      if (connectives.length === 0) connectives = shuffle([...CONNECTIVES], rnd);
      return connectives.pop() as string;
    }
    if (deck.length === 0) {
      if (topics.length === 0) topics = shuffle([...TOPICS], rnd);
      deck = shuffle([...(topics.pop() as readonly string[])], rnd);
    }
    return deck.pop() as string;
  };
  let codeDeck: (typeof CODE_BLOCKS)[number][] = [];
  const paragraph = (min: number, max: number): string =>
    Array.from({ length: min + Math.floor(rnd() * (max - min + 1)) }, sentence).join(' ');

  const blocks: string[] = [`${pick(OPENERS)} ${paragraph(1, 2)}`];
  let size = blocks[0].length;
  let step = 1;
  const closer = pick(CLOSERS);
  while (size + closer.length < targetBytes) {
    const block = nextBlock();
    if (size + block.length + closer.length > targetBytes && blocks.length > 1) break;
    blocks.push(block);
    size += block.length + 2;
  }
  blocks.push(closer);
  return blocks.join('\n\n');

  function nextBlock(): string {
    const r = rnd();
    if (r < 0.12) return `## ${pick(HEADINGS)}`;
    if (r < 0.2) return `### Step ${step++}: ${sentence().replace(/\.$/, '')}`;
    if (r < 0.6) return paragraph(2, 5);
    if (r < 0.77) {
      const items = Array.from({ length: 3 + Math.floor(rnd() * 4) }, () =>
        rnd() < 0.5 ? `- **${pick(TERMS)}**: ${sentence()}` : `- ${sentence()}`,
      );
      return items.join('\n');
    }
    if (r < 0.89) {
      const n = 2 + Math.floor(rnd() * 4);
      return Array.from({ length: n }, (_, i) => `${i + 1}. ${sentence()}`).join('\n');
    }
    if (codeDeck.length === 0) codeDeck = shuffle([...CODE_BLOCKS], rnd);
    const code = codeDeck.pop() as (typeof CODE_BLOCKS)[number];
    const body = code.body
      .replaceAll('{name}', pick(NAMES))
      .replaceAll('{table}', pick(TABLES))
      .replaceAll('{n}', String(2 + Math.floor(rnd() * 9000)));
    return `${pick(LEAD_INS)}\n\n\`\`\`${code.lang}\n${body}\n\`\`\``;
  }
}

const LEAD_INS = [
  "Here's a minimal example:",
  'For example:',
  'A typical version looks like this:',
  'You can adapt the following snippet:',
  'Something along these lines should work:',
  'Here is how that looks in code:',
];

const SUBJECTS = [
  'the retry logic', 'your connection pool', 'the background worker', 'a read replica', 'the scheduler',
  'the mobile client', 'the payment service', 'the search index', 'the nightly report', 'the import script',
  'the sourdough starter', 'your monthly budget', 'the training loop', 'the login page', 'the build pipeline',
  'the load balancer', 'a long-running query', 'the message consumer', 'your morning routine', 'the sauce',
];
const PROBLEMS = [
  'times out under load', 'slows down after a few hours', 'returns stale results after a deploy',
  'uses far more memory than expected', 'fails only in production', 'behaves differently on each run',
  'stops making progress', 'becomes hard to reason about', 'produces inconsistent results',
  'spikes every Monday morning', 'works locally but not in the container', 'turns out bland or uneven',
];
const CAUSES = [
  'the default timeout is much longer than the request budget', 'every request opens a fresh connection',
  'the cache key does not include the user locale', 'a single lock serializes all the writes',
  'the batch size grows with the input instead of staying fixed', 'errors are swallowed instead of logged',
  'the clock on one machine has drifted', 'the dataset no longer fits in memory', 'nobody owns the alert',
  'the configuration differs between environments', 'the temperature was too high at the start',
  'the measurements were taken on a cold cache',
];
const FIXES = [
  'set an explicit timeout and a retry budget', 'reuse a pooled client instead of creating one per call',
  'add the missing dimension to the key', 'split the work into smaller batches of a few hundred items',
  'log the failure with enough context to reproduce it', 'move the expensive step out of the request path',
  'write a test that reproduces the problem before changing anything', 'compare the two environments side by side',
  'start with a lower setting and increase it gradually', 'add a dashboard for the metric you care about',
];

function grammarSentence(subjects: readonly string[], pick: <T>(xs: readonly T[]) => T, rnd: () => number): string {
  const s = pick(subjects);
  switch (Math.floor(rnd() * 9)) {
    case 0:
      return `If ${s} ${pick(PROBLEMS)}, the usual cause is that ${pick(CAUSES)}.`;
    case 1:
      return `When ${s} ${pick(PROBLEMS)}, the first thing to try is to ${pick(FIXES)}.`;
    case 2:
      return `In one case I have seen, ${s} went from ${10 + Math.floor(rnd() * 990)} ms to ${1 + Math.floor(rnd() * 90)} ms once the team decided to ${pick(FIXES)}.`;
    case 3:
      return `It is tempting to blame ${s}, but often ${pick(CAUSES)}, so ${pick(FIXES)} first.`;
    case 4:
      return `Another reason ${s} ${pick(PROBLEMS)} is that ${pick(CAUSES)}.`;
    case 5:
      return `You do not need to rewrite ${s}; it is usually enough to ${pick(FIXES)}.`;
    case 6:
      return `To confirm the diagnosis, ${pick(FIXES)} and watch whether ${s} still ${pick(PROBLEMS)}.`;
    case 7:
      return `Note that ${s} can look healthy even when ${pick(CAUSES)}.`;
    default:
      return `A good rule of thumb: ${pick(FIXES)}, and check whether ${s} still ${pick(PROBLEMS)}.`;
  }
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** A seeded PRNG so every run measures the same bytes. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
