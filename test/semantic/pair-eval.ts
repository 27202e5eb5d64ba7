import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { EmbeddingProvider } from '../../libs/cache/src/ai/embeddings/embedding.provider';
import { type GuardName, type SemanticGuardOptions, guardConflict } from '../../libs/cache/src/ai/semantic/guards';
import { signatureOf } from '../../libs/cache/src/ai/semantic/prompt-signature';
import { cosine } from '../../libs/cache/src/ai/semantic/vector-math';

/** One labelled pair of prompts: would the answer to `a` be a right answer to `b`? */
export interface LabelledPair {
  a: string;
  b: string;
  equivalent: boolean;
  /** What makes the pair hard: 'paraphrase', 'number', 'negation', 'entity', … */
  kind: string;
}

export type PairSet = 'dev' | 'heldout';

/**
 * The development set (`pairs.dev.json`: written with the matcher, tuned on) and the held-out set
 * (`pairs.heldout.json`: frozen before the matcher changes of issue 15, never tuned on).
 */
export function loadPairs(set: PairSet): LabelledPair[] {
  return JSON.parse(readFileSync(path.join(__dirname, `pairs.${set}.json`), 'utf8')) as LabelledPair[];
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

export interface KindRow {
  kind: string;
  equivalent: boolean;
  pairs: number;
  /** Pairs that match at the threshold with the guards. */
  matched: number;
}

/** Per kind: how many pairs match (recall for a kind of rewording, wrong hits for a kind of hard negative). */
export function byKind(scored: readonly ScoredPair[], threshold: number): KindRow[] {
  const rows = new Map<string, KindRow>();
  for (const p of scored) {
    const row = rows.get(p.kind) ?? { kind: p.kind, equivalent: p.equivalent, pairs: 0, matched: 0 };
    row.pairs += 1;
    if (p.similarity >= threshold && p.conflict === undefined) row.matched += 1;
    rows.set(p.kind, row);
  }
  return [...rows.values()].sort((x, y) => Number(y.equivalent) - Number(x.equivalent));
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}
