import type { CacheCounters, CacheLatencies } from '../observability/stats';
import { type CacheTelemetry, NO_CACHE } from '../observability/telemetry';
import type { CachePolicy } from './engine.types';

/** A numeric counter of `CacheCounters`. */
export type CounterName = { [K in keyof CacheCounters]: CacheCounters[K] extends number ? K : never }[keyof CacheCounters];
export type LatencyName = keyof CacheLatencies;

/**
 * Everything the engine reports (counters, events, timings, spans) goes through this one object:
 * the engine knows nothing else of observability. Cheap on the hot path: an L1 hit is two increments
 * and one comparison (events are built only while someone listens; spans only with a tracer).
 */
export class EngineMeter {
  constructor(private readonly telemetry: CacheTelemetry) {}

  count(policy: CachePolicy, counter: CounterName, by = 1): void {
    policy.counters[counter] += by;
  }

  /** The counters of work no view asked for (a scheduled invalidation, a replay). */
  unattributed(): CacheCounters {
    return this.telemetry.counters(NO_CACHE);
  }

  hitL1(policy: CachePolicy, key: string): void {
    policy.counters.l1Hits += 1;
    policy.counters.hits += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('hit', { cache: policy.name, key, tier: 'l1' });
  }

  hitL2(policy: CachePolicy, key: string): void {
    policy.counters.l2Hits += 1;
    policy.counters.hits += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('hit', { cache: policy.name, key, tier: 'l2' });
  }

  /** A stale copy served while it is refreshed (stale-while-revalidate). */
  hitStale(policy: CachePolicy, key: string): void {
    policy.counters.staleHits += 1;
    policy.counters.hits += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('hit', { cache: policy.name, key, tier: 'stale' });
  }

  /** A stale copy served in place of a factory that failed, timed out or is throttled (fail-safe). */
  servedFailSafe(policy: CachePolicy, key: string): void {
    policy.counters.failSafe += 1;
    policy.counters.staleHits += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('hit', { cache: policy.name, key, tier: 'stale' });
  }

  missed(policy: CachePolicy, key: string): void {
    policy.counters.misses += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('miss', { cache: policy.name, key });
  }

  wrote(policy: CachePolicy, key: string, tags: readonly string[]): void {
    policy.counters.sets += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('set', { cache: policy.name, key, tags });
  }

  deleted(policy: CachePolicy, keys: readonly string[]): void {
    policy.counters.deletes += keys.length;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('delete', { cache: policy.name, keys });
  }

  invalidated(policy: CachePolicy, ids: readonly string[]): void {
    policy.counters.invalidations += ids.length;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('invalidate', { cache: policy.name, ids });
  }

  factoryFailed(policy: CachePolicy, key: string, error: unknown): void {
    policy.counters.factoryErrors += 1;
    if (this.telemetry.events.listening !== 0) this.telemetry.events.emit('error', { cache: policy.name, tier: 'factory', error, key });
  }

  observe(policy: CachePolicy, latency: LatencyName, ms: number): void {
    policy.counters.latency[latency].observe(ms);
  }

  /** Whether spans are wanted: an OpenTelemetry tracer provider is registered. */
  get tracing(): boolean {
    return this.telemetry.tracing.tracer() !== undefined;
  }

  /**
   * Times a store call or a factory run into `latency`, inside a span when the app registered an
   * OpenTelemetry tracer provider (none otherwise: one global lookup, no span objects).
   */
  async timed<T>(policy: CachePolicy, span: string, latency: LatencyName, op: () => Promise<T> | T): Promise<T> {
    const started = performance.now();
    const tracer = this.telemetry.tracing.tracer();
    try {
      return tracer === undefined ? await op() : await this.telemetry.tracing.span(tracer, span, { 'strata.cache': policy.name }, op);
    } finally {
      policy.counters.latency[latency].observe(performance.now() - started);
    }
  }

  /** `op` inside a span when there is a tracer, untimed (waiting on the lock). */
  traced<T>(policy: CachePolicy, span: string, op: () => Promise<T>): Promise<T> {
    const tracer = this.telemetry.tracing.tracer();
    return tracer === undefined ? op() : this.telemetry.tracing.span(tracer, span, { 'strata.cache': policy.name }, op);
  }
}
