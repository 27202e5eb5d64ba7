import type { Histogram, Registry } from 'prom-client';
import { InvalidOptionError } from '../core/errors';
import { findPeer, loadPeer } from '../core/optional-peer';
import type { BreakerState } from '../resilience/circuit-breaker';
import type { L1Capacity } from './advice';
import { LATENCY_BOUNDS_SECONDS } from './latency';
import { type CacheCounters, SIMILARITY_BOUNDS, WARMER_OUTCOMES } from './stats';
import { NO_CACHE, type CacheTelemetry } from './telemetry';

/** A prom-client `Registry`, described by the methods the cache calls, so these types load without prom-client. */
export interface MetricsRegistry {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/** `metrics` option: where the cache's Prometheus metrics go. */
export interface MetricsOptions {
  /** A prom-client `Registry`; default: prom-client's default registry (`register`). */
  registry?: MetricsRegistry;
  /** Prefix of every metric name. Default `'strata_cache_'`. */
  prefix?: string;
}

/** What the exporter reads from one cache stack at scrape time. */
export interface MetricsSource {
  telemetry: CacheTelemetry;
  l1(): L1Capacity | undefined;
  breaker(): BreakerState | 'disabled';
  /** The cache names that use the PostgreSQL cold tier (their series get `tier="postgres"`), and its breaker. */
  cold?(): { caches: ReadonlySet<string>; breaker: BreakerState } | undefined;
}

/** Per cache name that uses the cold tier. */
function perColdCache(source: MetricsSource, fn: (cache: string, c: CacheCounters) => void): void {
  const cold = source.cold?.();
  if (cold !== undefined) for (const cache of cold.caches) fn(cache, source.telemetry.counters(cache));
}

type Labels = Record<string, string>;
type Emit = (labels: Labels, value: number) => void;

interface ScalarFamily {
  name: string;
  help: string;
  kind: 'counter' | 'gauge';
  labels: string[];
  read(source: MetricsSource, emit: Emit): void;
}

interface HistogramData {
  counts: ArrayLike<number>;
  count: number;
  sum: number;
}
interface HistogramFamily {
  name: string;
  help: string;
  labels: string[];
  /** Upper bounds, in the unit of the metric. */
  bounds: readonly number[];
  read(source: MetricsSource, emit: (labels: Labels, data: HistogramData) => void): void;
}

/** Per cache name, skipping `*` (faults of no cache) unless `withUnattributed`. */
function perCache(source: MetricsSource, withUnattributed: boolean, fn: (cache: string, c: CacheCounters) => void): void {
  for (const cache of source.telemetry.names()) {
    if (cache === NO_CACHE && !withUnattributed) continue;
    fn(cache, source.telemetry.counters(cache));
  }
}

const counter = (name: string, help: string, labels: string[], read: ScalarFamily['read']): ScalarFamily => ({ name, help, kind: 'counter', labels, read });
const gauge = (name: string, help: string, labels: string[], read: ScalarFamily['read']): ScalarFamily => ({ name, help, kind: 'gauge', labels, read });
const byCache = (name: string, help: string, field: (c: CacheCounters) => number): ScalarFamily =>
  counter(name, help, ['cache'], (s, emit) => perCache(s, false, (cache, c) => emit({ cache }, field(c))));

const SCALARS: readonly ScalarFamily[] = [
  counter('hits_total', 'Lookups answered by a tier, by cache name and tier (l1, l2, postgres: Redis misses the cold tier answered, also counted under l2).', ['cache', 'tier'], (s, emit) => {
    perCache(s, false, (cache, c) => {
      emit({ cache, tier: 'l1' }, c.l1Hits);
      emit({ cache, tier: 'l2' }, c.l2Hits);
    });
    perColdCache(s, (cache, c) => emit({ cache, tier: 'postgres' }, c.l3Hits));
  }),
  byCache('misses_total', 'Lookups no tier could answer (the factory ran, or get returned undefined).', (c) => c.misses),
  counter('tier_misses_total', 'Lookups a tier could not answer, by cache name and tier.', ['cache', 'tier'], (s, emit) => {
    perCache(s, false, (cache, c) => {
      emit({ cache, tier: 'l1' }, c.l1Misses);
      emit({ cache, tier: 'l2' }, c.l2Misses);
    });
    perColdCache(s, (cache, c) => emit({ cache, tier: 'postgres' }, c.l3Misses));
  }),
  counter('promotions_total', 'Entries found in the PostgreSQL cold tier and promoted to Redis, by cache name.', ['cache', 'tier'], (s, emit) =>
    perColdCache(s, (cache, c) => emit({ cache, tier: 'postgres' }, c.l3Promotions)),
  ),
  byCache('stale_hits_total', 'Stale entries served while they are refreshed (stale-while-revalidate, fail-safe).', (c) => c.staleHits),
  byCache('semantic_hits_total', 'AI cache hits answered by a similar prompt.', (c) => c.semanticHits),
  counter('errors_total', 'Cache faults that were degraded, by cache name and tier (l2: Redis, postgres: the cold tier, factory). cache="*": no cache (invalidation times, probes).', ['cache', 'tier'], (s, emit) =>
    perCache(s, true, (cache, c) => {
      emit({ cache, tier: 'l2' }, c.l2Errors);
      emit({ cache, tier: 'factory' }, c.factoryErrors);
      if (c.l3Errors > 0 || s.cold?.()?.caches.has(cache)) emit({ cache, tier: 'postgres' }, c.l3Errors);
    }),
  ),
  counter('corrupt_entries_total', 'Entries that failed to decode and were deleted, by cache name and tier.', ['cache', 'tier'], (s, emit) =>
    perCache(s, true, (cache, c) => emit({ cache, tier: 'l2' }, c.corrupt)),
  ),
  counter('not_cached_total', 'Values that were not cached, by reason (not_serializable, too_large).', ['cache', 'reason'], (s, emit) =>
    perCache(s, false, (cache, c) => {
      emit({ cache, reason: 'not_serializable' }, c.notCacheable);
      emit({ cache, reason: 'too_large' }, c.tooLarge);
    }),
  ),
  byCache('sets_total', 'Values written (set, setMany items, factory results).', (c) => c.sets),
  byCache('deletes_total', 'Keys deleted.', (c) => c.deletes),
  byCache('invalidations_total', 'Tags and namespaces invalidated.', (c) => c.invalidations),
  counter('purged_keys_total', 'Keys removed from Redis by the hard purge of invalidated tags (invalidation.purge). cache="*": cascades and schedules.', ['cache'], (s, emit) =>
    perCache(s, true, (cache, c) => emit({ cache }, c.purged)),
  ),
  byCache('tokens_saved_total', 'Model tokens not spent thanks to cache hits (reported by the AI cache).', (c) => c.tokensSaved),
  byCache('cost_saved_total', 'Money not spent thanks to cache hits, in the unit the reporter uses (e.g. USD).', (c) => c.costSaved),
  counter('l1_evictions_total', 'L1 entries evicted for room.', [], (s, emit) => emit({}, s.telemetry.evictions)),
  counter('compression_values_total', 'Values compressed on their way to Redis.', [], (s, emit) => emit({}, s.telemetry.compression.values)),
  counter('compression_bytes_in_total', 'Bytes of the values that were compressed, before compression.', [], (s, emit) => emit({}, s.telemetry.compression.bytesIn)),
  counter('compression_bytes_out_total', 'Bytes of the values that were compressed, after compression.', [], (s, emit) => emit({}, s.telemetry.compression.bytesOut)),
  counter('bus_messages_total', 'Invalidation bus messages, by direction (published, received).', ['direction'], (s, emit) => {
    emit({ direction: 'published' }, s.telemetry.bus.published);
    emit({ direction: 'received' }, s.telemetry.bus.received);
  }),
  counter('bus_reconnects_total', 'Reconnections of the invalidation bus.', [], (s, emit) => emit({}, s.telemetry.bus.reconnects)),
  counter('bus_recovered_total', 'Invalidation bus messages missed on the channel and read back from the bus log.', [], (s, emit) => emit({}, s.telemetry.bus.recovered)),
  counter('bus_clears_total', 'Gaps in the invalidation bus that the log could not close, so L1 was cleared.', [], (s, emit) => emit({}, s.telemetry.bus.clears)),
  gauge('bus_connected', '1 when the invalidation bus is connected; 0 when it is not, or when there is no bus (see the health check).', [], (s, emit) => {
    const connected = s.telemetry.isBusConnected();
    if (connected !== undefined) emit({}, connected ? 1 : 0);
  }),
  counter('warmer_runs_total', 'Runs of @CacheWarmer methods by warmer (Class.method) and outcome (ok, partial, error, skipped_busy, skipped_elsewhere).', ['warmer', 'outcome'], (s, emit) => {
    for (const [warmer, w] of s.telemetry.warmers) for (const outcome of WARMER_OUTCOMES) emit({ warmer, outcome }, w.outcomes[outcome]);
  }),
  counter('warmer_entries_total', 'Entries warmed by @CacheWarmer methods, by warmer and result (warmed, fresh, failed).', ['warmer', 'result'], (s, emit) => {
    for (const [warmer, w] of s.telemetry.warmers) {
      emit({ warmer, result: 'warmed' }, w.warmed);
      emit({ warmer, result: 'fresh' }, w.fresh);
      emit({ warmer, result: 'failed' }, w.failed);
    }
  }),
  gauge('l1_entries', 'Entries in L1.', [], (s, emit) => emit({}, s.l1()?.entries ?? 0)),
  gauge('l1_bytes', 'Bytes held by L1 (serialized size of its entries).', [], (s, emit) => emit({}, s.l1()?.bytes ?? 0)),
  gauge('l1_max_entries', 'L1 capacity in entries (memory.maxEntries).', [], (s, emit) => emit({}, s.l1()?.maxEntries ?? 0)),
  gauge('l1_max_bytes', 'L1 capacity in bytes (memory.maxBytes).', [], (s, emit) => emit({}, s.l1()?.maxBytes ?? 0)),
  gauge('circuit_state', 'State of the Redis circuit breaker: 1 for the current state (closed, open, half-open, disabled).', ['state'], (s, emit) => {
    const current = s.breaker();
    for (const state of ['closed', 'open', 'half-open', 'disabled']) emit({ state }, state === current ? 1 : 0);
  }),
  gauge('cold_circuit_state', 'State of the PostgreSQL cold tier circuit breaker: 1 for the current state (closed, open, half-open); absent without a cold tier.', ['state', 'tier'], (s, emit) => {
    const cold = s.cold?.();
    if (cold !== undefined) for (const state of ['closed', 'open', 'half-open']) emit({ state, tier: 'postgres' }, state === cold.breaker ? 1 : 0);
  }),
];

const seconds = (h: { counts: Float64Array; count: number; sumMs: number }): HistogramData => ({ counts: h.counts, count: h.count, sum: h.sumMs / 1000 });

const HISTOGRAMS: readonly HistogramFamily[] = [
  {
    name: 'operation_duration_seconds',
    help: 'Duration of cache operations by cache name, operation and tier. Every Redis call is timed; L1 lookups one in 64.',
    labels: ['cache', 'operation', 'tier'],
    bounds: LATENCY_BOUNDS_SECONDS,
    read: (s, emit) => {
      perCache(s, false, (cache, c) => {
        emit({ cache, operation: 'get', tier: 'l1' }, seconds(c.latency.l1Get));
        emit({ cache, operation: 'get', tier: 'l2' }, seconds(c.latency.l2Get));
        emit({ cache, operation: 'set', tier: 'l2' }, seconds(c.latency.l2Set));
        emit({ cache, operation: 'delete', tier: 'l2' }, seconds(c.latency.l2Delete));
        emit({ cache, operation: 'invalidate', tier: 'l2' }, seconds(c.latency.l2Invalidate));
      });
      perColdCache(s, (cache, c) => {
        emit({ cache, operation: 'get', tier: 'postgres' }, seconds(c.latency.l3Get));
        emit({ cache, operation: 'set', tier: 'postgres' }, seconds(c.latency.l3Set));
      });
    },
  },
  {
    name: 'factory_duration_seconds',
    help: 'Duration of factory runs (the work a miss costs), by cache name.',
    labels: ['cache'],
    bounds: LATENCY_BOUNDS_SECONDS,
    read: (s, emit) => perCache(s, false, (cache, c) => emit({ cache }, seconds(c.latency.factory))),
  },
  {
    name: 'semantic_similarity',
    help: 'Similarity of the prompts that answered semantic hits, by cache name.',
    labels: ['cache'],
    bounds: SIMILARITY_BOUNDS,
    read: (s, emit) => perCache(s, false, (cache, c) => emit({ cache }, { counts: c.similarity, count: c.semanticHits, sum: c.similaritySum })),
  },
];

/** A metric that reads the stacks attached to it at scrape time (several apps may share a registry). */
interface Sourced {
  readonly sources: Set<MetricsSource>;
}

interface Collectable extends Sourced {
  reset(): void;
  inc(labels: Labels, value: number): void;
}

/** Counters and gauges are rebuilt from the sources on every scrape: reset, then add each source's values. */
function scalarConfig(family: ScalarFamily, name: string, registry: Registry, self: () => Collectable) {
  return {
    name,
    help: family.help,
    labelNames: family.labels,
    registers: [registry],
    collect: () => {
      const metric = self();
      metric.reset();
      for (const source of metric.sources) family.read(source, (labels, value) => metric.inc(labels, value));
    },
  };
}

type HistogramExport = Awaited<ReturnType<Histogram<string>['get']>>;
type PromClient = typeof import('prom-client');

/** The metric classes, built on the prom-client found at run time (defined once, so `instanceof` finds them again). */
function defineMetricClasses(prom: PromClient) {
  class SourcedCounter extends prom.Counter<string> implements Collectable {
    readonly sources = new Set<MetricsSource>();

    constructor(family: ScalarFamily, name: string, registry: Registry) {
      super(scalarConfig(family, name, registry, () => this));
    }
  }

  class SourcedGauge extends prom.Gauge<string> implements Collectable {
    readonly sources = new Set<MetricsSource>();

    constructor(family: ScalarFamily, name: string, registry: Registry) {
      super(scalarConfig(family, name, registry, () => this));
    }
  }

  // Histogram.get() calls it and then reshapes labels; calling it directly keeps our override of get() out of the loop.
  const PROTO_GET_FOR_PROM_STRING = (prom.Histogram.prototype as unknown as { getForPromString?: (this: Histogram<string>) => Promise<HistogramExport> })
    .getForPromString;

  /** Publishes the counts the library already keeps as a histogram, rather than observing twice. */
  class SourcedHistogram extends prom.Histogram<string> implements Sourced {
    readonly sources = new Set<MetricsSource>();

    constructor(
      private readonly family: HistogramFamily,
      name: string,
      registry: Registry,
    ) {
      super({ name, help: family.help, labelNames: family.labels, buckets: [...family.bounds], registers: [registry] });
    }

    /**
     * The registry reads histograms through `getForPromString` (prom-client's own, for exemplars) when it
     * exists, else through `get`: both answer the library's counts.
     */
    async getForPromString(): Promise<HistogramExport> {
      const base = PROTO_GET_FOR_PROM_STRING ? await PROTO_GET_FOR_PROM_STRING.call(this) : await super.get();
      return this.export(base);
    }

    override async get(): Promise<HistogramExport> {
      return this.getForPromString();
    }

    private export(base: HistogramExport): HistogramExport {
      const merged = new Map<string, { labels: Labels; counts: number[]; count: number; sum: number }>();
      for (const source of this.sources) {
        this.family.read(source, (labels, data) => {
          const id = JSON.stringify(labels);
          let into = merged.get(id);
          if (into === undefined) {
            into = { labels, counts: new Array<number>(this.family.bounds.length + 1).fill(0), count: 0, sum: 0 };
            merged.set(id, into);
          }
          for (let i = 0; i < into.counts.length; i++) into.counts[i] += data.counts[i] ?? 0;
          into.count += data.count;
          into.sum += data.sum;
        });
      }
      const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
      for (const { labels, counts, count, sum } of merged.values()) {
        let cumulative = 0;
        this.family.bounds.forEach((le, i) => {
          cumulative += counts[i];
          values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${base.name}_bucket` });
        });
        values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${base.name}_bucket` });
        values.push({ labels, value: sum, metricName: `${base.name}_sum` });
        values.push({ labels, value: count, metricName: `${base.name}_count` });
      }
      return { ...base, values };
    }
  }

  return { SourcedCounter, SourcedGauge, SourcedHistogram };
}

let metricClasses: { prom: PromClient; classes: ReturnType<typeof defineMetricClasses> } | undefined;

function classesFor(prom: PromClient): ReturnType<typeof defineMetricClasses> {
  if (metricClasses?.prom !== prom) metricClasses = { prom, classes: defineMetricClasses(prom) };
  return metricClasses.classes;
}

/** Resolved `metrics`: `ifInstalled` when the app left it at its default (on, if prom-client is there). */
export type ResolvedMetrics = false | (MetricsOptions & { ifInstalled?: boolean });

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Registers the cache's metrics in a prom-client registry. Nothing is observed on the request path:
 * every value is read from the stack's counters when the registry is scraped (`collect`), so metrics
 * add no cost to a cache hit. Stacks that share a registry share its metrics; their series add up.
 */
/** @internal */
export class PrometheusExporter {
  private readonly attached: Array<{ metric: Sourced; name: string }> = [];
  private readonly registry: Registry;
  private readonly classes: ReturnType<typeof defineMetricClasses>;

  /** The exporter the options ask for: none with `metrics: false`, nor by default when prom-client is not installed. */
  static create(source: MetricsSource, metrics: ResolvedMetrics): PrometheusExporter | undefined {
    if (metrics === false) return undefined;
    const prom = metrics.ifInstalled ? findPeer<PromClient>('prom-client') : loadPeer<PromClient>('prom-client', "the 'metrics' option");
    return prom && new PrometheusExporter(source, prom, metrics.registry as Registry | undefined, metrics.prefix);
  }

  constructor(
    private readonly source: MetricsSource,
    prom: PromClient,
    registry: Registry = prom.register,
    prefix = 'strata_cache_',
  ) {
    this.registry = registry;
    this.classes = classesFor(prom);
    const { SourcedHistogram } = this.classes;
    if (typeof prefix !== 'string' || !METRIC_NAME.test(prefix)) {
      throw new InvalidOptionError(`metrics.prefix must be a valid Prometheus name prefix such as 'strata_cache_'; got ${JSON.stringify(prefix)}`);
    }
    for (const family of SCALARS) this.attach(prefix + family.name, () => this.scalar(family, prefix + family.name));
    for (const family of HISTOGRAMS) this.attach(prefix + family.name, () => new SourcedHistogram(family, prefix + family.name, registry));
  }

  /** Detaches this stack; a metric no stack reads any more leaves the registry. */
  close(): void {
    for (const { metric, name } of this.attached.splice(0)) {
      metric.sources.delete(this.source);
      if (metric.sources.size === 0 && this.registry.getSingleMetric(name) === (metric as unknown)) this.registry.removeSingleMetric(name);
    }
  }

  private attach(name: string, create: () => Sourced): void {
    const existing: unknown = this.registry.getSingleMetric(name);
    let metric: Sourced;
    if (existing === undefined) metric = create();
    else if (
      existing instanceof this.classes.SourcedCounter ||
      existing instanceof this.classes.SourcedGauge ||
      existing instanceof this.classes.SourcedHistogram
    ) {
      metric = existing;
    } else {
      throw new InvalidOptionError(
        `a metric named '${name}' is already registered by something else in this prom-client registry; set metrics: { prefix: 'myapp_cache_' } or pass your own registry`,
      );
    }
    metric.sources.add(this.source);
    this.attached.push({ metric, name });
  }

  private scalar(family: ScalarFamily, name: string): Sourced {
    const { SourcedCounter, SourcedGauge } = this.classes;
    return family.kind === 'counter' ? new SourcedCounter(family, name, this.registry) : new SourcedGauge(family, name, this.registry);
  }
}
