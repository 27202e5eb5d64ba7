import { createHash } from 'node:crypto';

/**
 * The simulated backends (LLM, OCR, parser, transcription): realistic latency, deterministic output.
 * `SAMPLE_LATENCY_MS` is the base latency of one LLM call (default 400 ms); the other backends scale
 * from it. Tests set it to a few milliseconds. Read once at startup.
 */
export class Simulation {
  readonly baseLatencyMs: number;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const value = Number(env.SAMPLE_LATENCY_MS ?? 400);
    this.baseLatencyMs = Number.isFinite(value) && value >= 0 ? value : 400;
  }

  /** Waits `factor` × the base latency, ±25% depending on the input (the same input always waits the same). */
  async work(factor: number, input: string): Promise<void> {
    const jitter = 0.75 + (hashBytes(input)[0] / 255) * 0.5;
    const ms = Math.round(this.baseLatencyMs * factor * jitter);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

export function sha256(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}

export function hashBytes(input: string): Buffer {
  return createHash('sha256').update(input).digest();
}

/** Roughly what a tokenizer would count: a token per 4 characters. */
export function tokensOf(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

const WORDS = (
  'the cache keeps answers close so that repeated questions cost nothing while new ones still reach the model ' +
  'every answer is checked against its source and stored with the time it was made and the tags that describe it ' +
  'a document is read page by page its structure is parsed and its features requirements and metadata are extracted ' +
  'results are shared between instances through redis and kept in memory for the hottest keys'
).split(' ');

/** Deterministic prose of about `words` words, seeded by `seed`. */
export function prose(seed: string, words: number): string {
  const bytes = hashBytes(seed);
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[(bytes[i % bytes.length] + i * 7) % WORDS.length]);
  const text = out.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1) + '.';
}
