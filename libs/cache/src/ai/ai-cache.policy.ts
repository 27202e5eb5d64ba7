import type { ModelPrice, ResolvedAiCacheOptions } from './ai-cache.options';
import type { AiResponse, AiSkipReason, AiUsage } from './ai.types';

/** The rules of the AI cache: what an answer costs, how long it stays fresh, and whether it is kept at all. */
export class AiCachePolicy {
  constructor(private readonly options: ResolvedAiCacheOptions) {}

  /** The price of a model: its own entry, or the longest price-table name it starts with. */
  priceOf(model: string): ModelPrice | undefined {
    const exact = this.options.prices.get(model);
    if (exact !== undefined) return exact;
    let best: [string, ModelPrice] | undefined;
    for (const entry of this.options.prices) if (model.startsWith(entry[0]) && (best === undefined || entry[0].length > best[0].length)) best = entry;
    return best?.[1];
  }

  /** What a call with this usage cost (0 when the model has no price). */
  cost(model: string, usage: AiUsage | undefined): number {
    const price = this.priceOf(model);
    if (price === undefined || usage === undefined) return 0;
    return (usage.promptTokens * price.input + usage.completionTokens * price.output) / 1_000_000;
  }

  /** How long an answer stays fresh: the operation's TTL, adapted to the answer, capped by `maxTtl`. */
  freshTtl(operation: string, model: string, response: AiResponse<unknown>, cost: number, latencyMs: number): number {
    const baseTtl = this.options.ttl.get(operation) ?? this.options.ttl.get('default') ?? 3_600_000;
    const adaptive = this.options.adaptiveTtl;
    const ttl = adaptive === undefined ? baseTtl : adaptive({ baseTtl, operation, model, response, cost, latencyMs });
    if (!Number.isFinite(ttl) || ttl <= 0) return baseTtl;
    return Math.round(Math.min(ttl, this.options.maxTtl));
  }

  /** Why an answer is not cached, or undefined when it is. */
  skipReason(response: AiResponse<unknown>): AiSkipReason | undefined {
    if (response.error !== undefined && response.error !== null && response.error !== false) return 'error';
    if (response.noCache === true) return 'noCache';
    if (response.confidence !== undefined && response.confidence < this.options.minConfidence) return 'lowConfidence';
    if (sizeOf(response.output) > this.options.maxResponseBytes) return 'tooLarge';
    return undefined;
  }
}

function sizeOf(output: unknown): number {
  if (typeof output === 'string') return Buffer.byteLength(output);
  try {
    return Buffer.byteLength(JSON.stringify(output) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY; // not serializable: the cache would refuse it anyway
  }
}
