import { InvalidArgumentError } from '../core/errors';
import { segment } from '../core/keys';
import { CacheEvents } from './events';
import { SIMILARITY_BOUNDS, CacheCounters, WarmerCounters } from './stats';
import { CacheTracing } from './tracing';

/** The label of faults that belong to no cache name (invalidation-time writes, probes). */
export const NO_CACHE = '*';

/** What a cache hit saved: tokens not sent to a model, and money (in whatever unit you report, e.g. USD). */
export interface Savings {
  tokens?: number;
  cost?: number;
}

/**
 * Everything a cache stack measures: counters per cache name, stack-wide figures (evictions,
 * compression), the events, the tracer, and the hooks other parts report through. Injectable as
 * `CacheTelemetry`. Prometheus, `stats()`, the advice and the health indicator all read from here.
 *
 * Hooks for parts built elsewhere:
 * - the invalidation bus calls `busPublished()`, `busReceived()`, `busReconnected()` and registers
 *   `setBusConnected(() => subscriber.status === 'ready')`, which the health check and metrics read;
 * - the AI cache calls `recordSemanticHit(cache, similarity)` and `recordSavings(cache, { tokens, cost })`.
 */
export class CacheTelemetry {
  readonly events: CacheEvents;
  /** @internal Its types come from @opentelemetry/api, an optional peer: kept out of the published declarations. */
  readonly tracing: CacheTracing;
  /** L1 entries evicted for room (L1 is shared by every cache name). */
  evictions = 0;
  /** Values that were compressed on their way to Redis: how many, and their bytes before and after. */
  readonly compression = { values: 0, bytesIn: 0, bytesOut: 0 };
  /** Invalidation bus traffic; `reconnects` counts resubscriptions after a gap (each reconciled L1). */
  readonly bus = { published: 0, received: 0, reconnects: 0, recovered: 0, clears: 0, maxDelayMs: 0 };
  private busConnected: (() => boolean) | undefined;
  private readonly byName = new Map<string, CacheCounters>();
  /** `@CacheWarmer` methods by `Class.method`. */
  readonly warmers = new Map<string, WarmerCounters>();
  /** Escaped name segment → name, to attribute a fault on a full key to its cache. */
  private readonly nameOfSegment = new Map<string, string>();

  constructor(names: Iterable<string>, onListenerError?: (error: unknown, event: string) => void) {
    this.events = new CacheEvents(onListenerError);
    this.tracing = new CacheTracing();
    for (const name of names) this.counters(name);
    this.byName.set(NO_CACHE, new CacheCounters());
  }

  /** The counters of a cache name (created on first use). */
  counters(name: string): CacheCounters {
    let counters = this.byName.get(name);
    if (counters === undefined) {
      counters = new CacheCounters();
      this.byName.set(name, counters);
      this.nameOfSegment.set(segment(name), name);
    }
    return counters;
  }

  /** The cache names with counters, `*` (faults of no cache) last. */
  names(): string[] {
    return [...this.byName.keys()].filter((name) => name !== NO_CACHE).concat(NO_CACHE);
  }

  /** Totals over every cache name. */
  total(): CacheCounters {
    const total = new CacheCounters();
    for (const counters of this.byName.values()) total.add(counters);
    total.evictions += this.evictions;
    return total;
  }

  /**
   * The cache name of a full key (`{prefix}:{namespace}[:t={tenant}]:{name}:{key}`). Every segment is
   * escaped, so splitting on `:` is exact. Used on fault paths only; unknown keys answer `*`.
   */
  nameOfKey(key: string | undefined): string {
    if (key === undefined) return NO_CACHE;
    const parts = key.split(':');
    const at = parts[2]?.startsWith('t=') ? 3 : 2;
    return (parts.length > at + 1 && this.nameOfSegment.get(parts[at])) || NO_CACHE;
  }

  /** The counters of a warmer (created on first use). */
  warmer(name: string): WarmerCounters {
    let counters = this.warmers.get(name);
    if (counters === undefined) {
      counters = new WarmerCounters();
      this.warmers.set(name, counters);
    }
    return counters;
  }

  /** Hook for the AI cache: a hit answered by a similar prompt, with its similarity (0..1). */
  recordSemanticHit(cache: string, similarity: number): void {
    if (!(similarity >= 0 && similarity <= 1)) throw new InvalidArgumentError(`similarity must be between 0 and 1; got ${similarity}`);
    const counters = this.counters(cache);
    counters.semanticHits += 1;
    counters.similaritySum += similarity;
    let i = 0;
    while (i < SIMILARITY_BOUNDS.length && similarity > SIMILARITY_BOUNDS[i]) i++;
    counters.similarity[i] += 1;
  }

  /** Hook for the AI cache (or any caller that knows what a hit was worth). */
  recordSavings(cache: string, savings: Savings): void {
    const counters = this.counters(cache);
    const tokens = savings.tokens ?? 0;
    const cost = savings.cost ?? 0;
    if (!(tokens >= 0) || !(cost >= 0)) throw new InvalidArgumentError(`savings must be non-negative numbers; got ${JSON.stringify(savings)}`);
    counters.tokensSaved += tokens;
    counters.costSaved += cost;
  }

  /** Hooks for the invalidation bus. */
  busPublished(messages = 1): void {
    this.bus.published += messages;
  }

  busReceived(messages = 1): void {
    this.bus.received += messages;
  }

  busReconnected(recovered = 0, cleared = true): void {
    this.bus.reconnects += 1;
    this.bus.recovered += recovered;
    if (cleared) this.bus.clears += 1;
  }

  busDelay(ms: number): void {
    if (ms > this.bus.maxDelayMs) this.bus.maxDelayMs = ms;
  }

  /** The bus registers how to tell whether its subscriber connection is up; unset means there is no bus. */
  setBusConnected(probe: (() => boolean) | undefined): void {
    this.busConnected = probe;
  }

  /** undefined when there is no bus. */
  isBusConnected(): boolean | undefined {
    return this.busConnected?.();
  }

  /** Called by the codec for every value it compressed. */
  compressed(bytesIn: number, bytesOut: number): void {
    this.compression.values += 1;
    this.compression.bytesIn += bytesIn;
    this.compression.bytesOut += bytesOut;
  }
}
