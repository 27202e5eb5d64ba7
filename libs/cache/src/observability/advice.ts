import type { LoggerService } from '@nestjs/common';
import type { Advice } from './advice.types';
import { type CacheCounters, rate } from './stats';
import { NO_CACHE, type CacheTelemetry } from './telemetry';

export type { Advice, AdviceCode } from './advice.types';

/** Thresholds, all resolved (see `CacheModuleOptions.advice`). */
export interface AdviceThresholds {
  /** Lookups (or writes) a window needs before rates are judged. */
  minLookups: number;
  hitRate: number;
  l1Fill: number;
  evictionRate: number;
  slowL2Ms: number;
  slowFactoryMs: number;
}

export interface L1Capacity {
  entries: number;
  bytes: number;
  maxEntries: number;
  maxBytes: number;
}

const MIN_TIMINGS = 20;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`;

/**
 * Judges a window of counters (lifetime for `stats()`, the last interval for the log line) against the
 * thresholds. Pure: the same input gives the same advice.
 */
export function advise(window: ReadonlyMap<string, CacheCounters>, total: CacheCounters, l1: L1Capacity | undefined, t: AdviceThresholds): Advice[] {
  const advice: Advice[] = [];
  for (const [cache, c] of window) {
    if (cache === NO_CACHE) continue;
    const lookups = c.hits + c.misses;
    const hitRate = rate(c.hits, c.misses);
    if (lookups >= t.minLookups && hitRate < t.hitRate) {
      advice.push({
        code: 'low-hit-rate', cache, value: hitRate, threshold: t.hitRate, option: 'advice.hitRate',
        message: `cache '${cache}': hit rate ${pct(hitRate)} over ${lookups} lookups is below ${pct(t.hitRate)} (advice.hitRate): keys may vary more than intended, or ttl is short for how often they are read`,
      });
    }
    const l2p99 = c.latency.l2Get.count >= MIN_TIMINGS ? c.latency.l2Get.percentile(0.99) : undefined;
    if (l2p99 !== undefined && l2p99 > t.slowL2Ms) {
      advice.push({
        code: 'slow-l2', cache, value: l2p99, threshold: t.slowL2Ms, option: 'advice.slowL2',
        message: `cache '${cache}': Redis reads p99 ${ms(l2p99)} is over ${ms(t.slowL2Ms)} (advice.slowL2): check Redis latency and value sizes, or keep hot keys in L1`,
      });
    }
    const factoryP95 = c.latency.factory.count >= 5 ? c.latency.factory.percentile(0.95) : undefined;
    if (factoryP95 !== undefined && factoryP95 > t.slowFactoryMs) {
      advice.push({
        code: 'slow-factory', cache, value: factoryP95, threshold: t.slowFactoryMs, option: 'advice.slowFactory',
        message: `cache '${cache}': factory p95 ${ms(factoryP95)} is over ${ms(t.slowFactoryMs)} (advice.slowFactory): a grace period serves the stale value while it refreshes`,
      });
    }
  }
  if (l1 !== undefined) {
    const fill = Math.max(l1.entries / l1.maxEntries, l1.bytes / l1.maxBytes);
    if (fill >= t.l1Fill) {
      const which = l1.entries / l1.maxEntries >= l1.bytes / l1.maxBytes ? `${l1.entries} of ${l1.maxEntries} entries` : `${l1.bytes} of ${l1.maxBytes} bytes`;
      advice.push({
        code: 'l1-near-capacity', value: fill, threshold: t.l1Fill, option: 'advice.l1Fill',
        message: `L1 is ${pct(fill)} full (${which}), over ${pct(t.l1Fill)} (advice.l1Fill): raise memory.maxEntries / memory.maxBytes, or expect evictions`,
      });
    }
    // Every L1 write is a set or a promotion of an L2 hit.
    const writes = total.sets + total.l2Hits;
    const evictionRate = writes === 0 ? 0 : total.evictions / writes;
    if (writes >= t.minLookups && evictionRate > t.evictionRate) {
      advice.push({
        code: 'high-eviction-rate', value: evictionRate, threshold: t.evictionRate, option: 'advice.evictionRate',
        message: `L1 evicted ${total.evictions} entries for ${writes} writes (${pct(evictionRate)}), over ${pct(t.evictionRate)} (advice.evictionRate): L1 is too small for the working set`,
      });
    }
  }
  return advice;
}

/**
 * Logs advice once when it starts to hold over an interval, and once more only after it cleared and
 * tripped again, so a lasting condition is one line, not one a minute.
 */
export class CacheAdvisor {
  private previous: Map<string, CacheCounters> | undefined;
  private previousTotal: CacheCounters | undefined;
  private readonly active = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly telemetry: CacheTelemetry,
    private readonly l1: () => L1Capacity | undefined,
    private readonly thresholds: AdviceThresholds,
    private readonly logger: LoggerService,
  ) {}

  /** Advice over the whole life of the stack (what `stats()` shows). */
  lifetime(): Advice[] {
    return advise(this.byName(), this.telemetry.total(), this.l1(), this.thresholds);
  }

  /** Judges what happened since the last check, logs what newly tripped, and returns the advice. */
  check(): Advice[] {
    const now = this.byName();
    const total = this.telemetry.total();
    const window = new Map<string, CacheCounters>();
    for (const [name, counters] of now) window.set(name, counters.minus(this.previous?.get(name)));
    const advice = advise(window, total.minus(this.previousTotal), this.l1(), this.thresholds);
    this.previous = new Map([...now].map(([name, counters]) => [name, counters.snapshot()]));
    this.previousTotal = total;
    const seen = new Set<string>();
    for (const item of advice) {
      const id = `${item.code}:${item.cache ?? ''}`;
      seen.add(id);
      if (!this.active.has(id)) this.logger.warn(`Cache advice: ${item.message}`);
    }
    this.active.clear();
    for (const id of seen) this.active.add(id);
    return advice;
  }

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private byName(): Map<string, CacheCounters> {
    const map = new Map<string, CacheCounters>();
    for (const name of this.telemetry.names()) map.set(name, this.telemetry.counters(name));
    return map;
  }
}
