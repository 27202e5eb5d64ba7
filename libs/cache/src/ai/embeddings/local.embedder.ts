import { InvalidOptionError } from '../../core/errors';
import { NEGATIONS, STOPWORDS, tokenize } from '../semantic/prompt-text';
import type { EmbeddingProvider } from './embedding.provider';

export interface LocalEmbedderOptions {
  /** Vector length, a power of two. Default 256. */
  dimensions?: number;
}

const WORD = 1;
const SURFACE = 0.3; // the word as written: an exact word scores above a synonym or another form of it
const STOPWORD = 0.3;
const BIGRAM = 0.7;
const CHARS = 0.5; // shared by all character trigrams of one word

/**
 * An embedder that needs no network and no model: feature hashing of word unigrams (lemmas and WordNet
 * synonyms folded, stopwords down-weighted; symbols, operators and emoji as written), bigrams of content
 * words, and character trigrams (typos, word forms), each hashed with a sign into a fixed-length vector,
 * then L2-normalized. Deterministic, a few
 * microseconds per prompt. It sees words, not meaning: "cancel my plan" and "stop my subscription" are
 * far apart. For paraphrases that share no words, use an embedding model (`HttpEmbeddingProvider`).
 */
export class LocalEmbeddingProvider implements EmbeddingProvider {
  readonly id: string;
  readonly dimensions: number;
  /** Measured on the labelled pairs (test/semantic): see the README's threshold table. */
  readonly suggestedThreshold = 0.85;
  private readonly mask: number;

  constructor(options: LocalEmbedderOptions = {}) {
    const dimensions = options.dimensions ?? 256;
    if (!Number.isInteger(dimensions) || dimensions < 16 || (dimensions & (dimensions - 1)) !== 0) {
      throw new InvalidOptionError(`LocalEmbeddingProvider: dimensions must be a power of two of at least 16, e.g. 256; got ${dimensions}`);
    }
    this.dimensions = dimensions;
    this.mask = dimensions - 1;
    this.id = `local-v2-${dimensions}`;
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    let previous: string | undefined;
    for (const token of tokenize(text)) {
      const word = token.kind === 'word' || token.kind === 'number' ? token.canon : token.surface;
      const stop = STOPWORDS.has(word);
      this.add(vector, 'w' + word, stop ? STOPWORD : WORD);
      const surface = token.surface.toLowerCase();
      if (!stop && surface !== word) this.add(vector, 's' + surface, SURFACE);
      // Negations are counted by the guards; in the bigram chain they would only make word order matter.
      if (stop || NEGATIONS.has(word)) continue;
      if (previous !== undefined) this.add(vector, 'b' + previous + ' ' + word, BIGRAM);
      previous = word;
      const padded = `^${word}$`;
      const grams = padded.length - 2;
      const weight = CHARS / Math.sqrt(Math.max(grams, 1));
      for (let i = 0; i < grams; i++) this.add(vector, 'c' + padded.slice(i, i + 3), weight);
    }
    let norm = 0;
    for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let i = 0; i < vector.length; i++) vector[i] *= scale;
    }
    return vector;
  }

  private add(vector: Float32Array, feature: string, weight: number): void {
    const h = fnv1a(feature);
    vector[h & this.mask] += h & 0x80000000 ? -weight : weight;
  }
}

/** FNV-1a, 32 bits, over UTF-16 code units, with a final avalanche so low and high bits are both usable. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
