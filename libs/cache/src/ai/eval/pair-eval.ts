import type { EmbeddingProvider } from '../embeddings/embedding.provider';
import { type GuardName, type SemanticGuardOptions, guardConflict, signatureOf } from '../semantic/guards';
import { cosine } from '../semantic/vector-math';

/** One labelled pair of prompts: would the answer to `a` be a right answer to `b`? */
export interface LabelledPair {
  a: string;
  b: string;
  equivalent: boolean;
  /** What makes the pair hard: 'paraphrase', 'number', 'negation', 'entity', … */
  kind: string;
  /** 'dev' pairs were written before the guards were tuned; 'holdout' pairs after, and never tuned on. */
  split: 'dev' | 'holdout' | 'holdout2';
}

export interface ScoredPair extends LabelledPair {
  similarity: number;
  /** The first guard that tells them apart, if any. */
  conflict: GuardName | undefined;
}

export interface ThresholdRow {
  threshold: number;
  /** Predicted matches that are wrong, over all predicted matches (GPTCache's "wrong hits"). */
  wrongHitRate: number;
  /** Equivalent pairs that match. */
  recall: number;
  /** Non-equivalent pairs that match, over all non-equivalent pairs. */
  falseMatchRate: number;
  hits: number;
  wrongHits: number;
  /** The same three figures with the cosine alone, no guards. */
  cosineOnly: { wrongHitRate: number; recall: number; wrongHits: number; hits: number };
}

export async function scorePairs(
  pairs: readonly LabelledPair[],
  embedder: EmbeddingProvider,
  guards: SemanticGuardOptions = {},
): Promise<ScoredPair[]> {
  const texts = pairs.flatMap((p) => [p.a, p.b]);
  const vectors = await embedder.embed(texts);
  return pairs.map((pair, i) => ({
    ...pair,
    similarity: cosine(vectors[2 * i], vectors[2 * i + 1]),
    conflict: guardConflict(signatureOf(pair.a), signatureOf(pair.b), guards),
  }));
}

export function thresholdTable(scored: readonly ScoredPair[], thresholds: readonly number[]): ThresholdRow[] {
  const positives = scored.filter((p) => p.equivalent).length;
  const negatives = scored.length - positives;
  return thresholds.map((threshold) => {
    const count = (withGuards: boolean) => {
      let hits = 0;
      let wrong = 0;
      let right = 0;
      for (const p of scored) {
        if (p.similarity < threshold || (withGuards && p.conflict !== undefined)) continue;
        hits += 1;
        if (p.equivalent) right += 1;
        else wrong += 1;
      }
      return { hits, wrong, right };
    };
    const guarded = count(true);
    const bare = count(false);
    return {
      threshold,
      wrongHitRate: ratio(guarded.wrong, guarded.hits),
      recall: ratio(guarded.right, positives),
      falseMatchRate: ratio(guarded.wrong, negatives),
      hits: guarded.hits,
      wrongHits: guarded.wrong,
      cosineOnly: { wrongHitRate: ratio(bare.wrong, bare.hits), recall: ratio(bare.right, positives), wrongHits: bare.wrong, hits: bare.hits },
    };
  });
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}
