import type { L1Capacity } from './advice';
import { type CacheStats, latencyStats, namedStats, rate, warmerStats } from './stats';
import { type CacheTelemetry, NO_CACHE } from './telemetry';

/** What `snapshotStats` reads besides the counters: the state of each part of the stack, as it is now. */
export interface StatsParts {
  readonly l1: L1Capacity | undefined;
  readonly l2: { readonly state: CacheStats['l2']['state']; readonly pending: number };
  readonly l3: { readonly state: CacheStats['l3']['state']; readonly pending: number; readonly queued: number };
  readonly bus: { readonly state: CacheStats['bus']['state']; readonly unsent: number; readonly delay: { p50: number; p99: number } };
  readonly advice: CacheStats['advice'];
}

/** The JSON snapshot `CacheService.stats()` returns: totals, per cache name, latency percentiles, advice. */
export function snapshotStats(t: CacheTelemetry, parts: StatsParts): CacheStats {
  const c = t.total();
  const l1 = parts.l1;
  const caches: CacheStats['caches'] = {};
  for (const name of t.names()) if (name !== NO_CACHE) caches[name] = namedStats(t.counters(name));
  const { bytesIn, bytesOut, values } = t.compression;
  const busConnected = t.isBusConnected();
  return {
    hits: c.hits,
    misses: c.misses,
    hitRate: rate(c.hits, c.misses),
    l1: {
      hits: c.l1Hits,
      misses: c.l1Misses,
      hitRate: rate(c.l1Hits, c.l1Misses),
      entries: l1?.entries ?? 0,
      bytes: l1?.bytes ?? 0,
      maxEntries: l1?.maxEntries ?? 0,
      maxBytes: l1?.maxBytes ?? 0,
      evictions: c.evictions,
    },
    l2: {
      hits: c.l2Hits,
      misses: c.l2Misses,
      hitRate: rate(c.l2Hits, c.l2Misses),
      state: parts.l2.state,
      errors: c.l2Errors,
      pending: parts.l2.pending,
    },
    l3: {
      hits: c.l3Hits,
      misses: c.l3Misses,
      hitRate: rate(c.l3Hits, c.l3Misses),
      state: parts.l3.state,
      errors: c.l3Errors,
      promotions: c.l3Promotions,
      pending: parts.l3.pending,
      queued: parts.l3.queued,
    },
    stale: c.staleHits,
    factory: { runs: c.factoryRuns, errors: c.factoryErrors },
    errors: c.l2Errors + c.factoryErrors,
    corrupt: c.corrupt,
    notCacheable: c.notCacheable,
    tooLarge: c.tooLarge,
    keyErrors: c.keyErrors,
    failSafe: c.failSafe,
    timeouts: { soft: c.softTimeouts, hard: c.hardTimeouts },
    lock: { acquired: c.lockAcquired, waited: c.lockWaited, timedOut: c.lockTimeouts, lost: c.lockLost },
    compression: { values, bytesIn, bytesOut, ratio: bytesIn === 0 ? undefined : bytesOut / bytesIn },
    bus: {
      enabled: busConnected !== undefined,
      connected: busConnected,
      state: parts.bus.state,
      published: t.bus.published,
      received: t.bus.received,
      reconciles: t.bus.reconnects,
      recovered: t.bus.recovered,
      clears: t.bus.clears,
      unsent: parts.bus.unsent,
      delayMs: { ...parts.bus.delay, max: Math.round(t.bus.maxDelayMs * 100) / 100 },
    },
    refreshes: { ahead: c.refreshAhead, predictive: c.predictiveRefreshes },
    purged: c.purged,
    saved: { tokens: c.tokensSaved, cost: c.costSaved },
    latency: latencyStats(c.latency),
    caches,
    advice: parts.advice,
    warmers: { ...warmerStats(t.warmers.values()), byWarmer: Object.fromEntries([...t.warmers].map(([name, w]) => [name, warmerStats([w])])) },
  };
}
