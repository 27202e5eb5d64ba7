import { rate } from '../observability/stats';
import type { GuardName } from './semantic/guards';
import type { AiCacheStats, AiCacheStatus, AiSavings, AiSkipReason } from './ai.types';

const SIMILARITY_BUCKETS = [0.99, 0.95, 0.9, 0.85, 0.8, 0.7, 0];

/** The AI cache's counters: plain numbers, shared by every view (tenants, named caches) of one module. */
export class AiCounters {
  requests = 0;
  exact = 0;
  semantic = 0;
  stale = 0;
  misses = 0;
  calls = 0;
  callErrors = 0;
  coalesced = 0;
  stored = 0;
  semanticLookups = 0;
  readonly skipped: Partial<Record<AiSkipReason, number>> = {};
  readonly saved = { promptTokens: 0, completionTokens: 0, cost: 0, latencyMs: 0 };
  readonly byModel = new Map<string, { hits: number; tokens: number; cost: number }>();
  readonly similarity: Record<string, number> = {};

  hit(status: Exclude<AiCacheStatus, 'miss'>, model: string, saved: AiSavings, similarity?: number): void {
    this[status] += 1;
    this.saved.promptTokens += saved.promptTokens;
    this.saved.completionTokens += saved.completionTokens;
    this.saved.cost += saved.cost;
    this.saved.latencyMs += saved.latencyMs;
    let perModel = this.byModel.get(model);
    if (perModel === undefined) this.byModel.set(model, (perModel = { hits: 0, tokens: 0, cost: 0 }));
    perModel.hits += 1;
    perModel.tokens += saved.promptTokens + saved.completionTokens;
    perModel.cost += saved.cost;
    if (similarity !== undefined) {
      const bucket = SIMILARITY_BUCKETS.find((b) => similarity >= b) ?? 0;
      const label = bucket.toFixed(2);
      this.similarity[label] = (this.similarity[label] ?? 0) + 1;
    }
  }

  skip(reason: AiSkipReason): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  snapshot(semantic: {
    rejected: Partial<Record<GuardName, number>>;
    indexed: number;
    scopes: number;
    indexBytes: number;
  }): AiCacheStats {
    const hits = this.exact + this.semantic + this.stale;
    const byModel: AiCacheStats['byModel'] = {};
    for (const [model, figures] of this.byModel) byModel[model] = { ...figures };
    return {
      requests: this.requests,
      hits: { exact: this.exact, semantic: this.semantic, stale: this.stale },
      misses: this.misses,
      hitRate: rate(hits, this.misses),
      calls: this.calls,
      callErrors: this.callErrors,
      coalesced: this.coalesced,
      stored: this.stored,
      skipped: { ...this.skipped },
      saved: { ...this.saved, tokens: this.saved.promptTokens + this.saved.completionTokens },
      byModel,
      semantic: {
        lookups: this.semanticLookups,
        hits: this.semantic,
        rejected: { ...semantic.rejected },
        similarity: { ...this.similarity },
        indexed: semantic.indexed,
        scopes: semantic.scopes,
        indexBytes: semantic.indexBytes,
      },
    };
  }
}
