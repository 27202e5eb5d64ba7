import type { LoggerService } from '@nestjs/common';
import { segment } from '../core/keys';
import { DEPENDENCY_PREFIX, isDependencyId } from '../invalidation/dependencies';
import type { InvalidationTimesStore } from '../ports/invalidation-times-store';
import type { KeyScanner } from '../ports/key-scanner';
import type { LockStore } from '../ports/lock-store';
import type { RemoteStore } from '../ports/remote-store';
import type { StoreAdapters, StoreRefusal } from '../ports/store-adapters';
import type { BreakerState } from '../resilience/circuit-breaker';
import { ChainedStore, type ColdStore, type ColdTelemetry, type HotPromoter } from './chained.store';
import { ChainedKeyScanner, ChainedTimesStore } from './chained-times.store';
import { ColdGuard } from './cold.guard';
import type { WriteBehindSettings } from './write-behind.queue';

/** The characters special in a key pattern (`KeySpace.pattern`). */
const GLOB = /[*?[\\]/;

export interface ChainSettings {
  /**
   * The named caches that list 'postgres' in their tiers, with how long Redis keeps their entries at most
   * (ms), and whether they write to PostgreSQL behind Redis.
   */
  caches: ReadonlyMap<string, { hotTtl: number; writeBehind: boolean }>;
  /** The write-behind queue's settings (used when a cache writes behind). */
  writeBehind: WriteBehindSettings;
  failureThreshold: number;
  probeInterval: number;
  /** The most a caller waits for one cold call. */
  deadline: number;
  promotionLockTtl: number;
  logger: LoggerService;
  telemetry: ColdTelemetry;
  onError(error: unknown, key: string | undefined): void;
  onStateChange?(state: BreakerState, reason: string): void;
}

/** The hot (Redis) adapters as the chain needs them: with a lock store, times and a key scanner. */
export type HotAdapters = StoreAdapters & { readonly lock: LockStore; readonly times: InvalidationTimesStore; readonly scanner: KeyScanner };

/** The cold (PostgreSQL) adapters as the chain needs them (see `PostgresAdapters`). */
export interface ColdAdapters {
  readonly store: ColdStore;
  readonly times: InvalidationTimesStore;
  readonly scanner: KeyScanner;
  /** A round trip that also makes the schema ready. */
  ready(): Promise<void>;
  /** PostgreSQL up but refusing (read-only, full, not permitted…): told once by the cold guard. */
  readonly refusal?: ((error: unknown) => StoreRefusal | undefined) | undefined;
  close(): Promise<void>;
}

/**
 * The Redis adapters with the PostgreSQL cold tier chained under them: the remote store, the times
 * and the key scanner reach both (see `ChainedStore`); every other port is Redis's. Closes both.
 */
export class ChainedAdapters implements StoreAdapters {
  readonly remote: ChainedStore;
  readonly times: ChainedTimesStore;
  readonly scanner: ChainedKeyScanner;
  readonly guard: ColdGuard;
  readonly deadline: number | undefined;
  /** The hot store's: a refusal of the cold tier is the cold guard's business. */
  readonly refusal: ((error: unknown) => StoreRefusal | undefined) | undefined;
  /** The cache name of a key of a cold cache, else undefined. */
  readonly coldCacheOf: (key: string) => string | undefined;

  constructor(
    readonly hot: HotAdapters,
    readonly cold: ColdAdapters,
    promoter: HotPromoter,
    settings: ChainSettings,
  ) {
    this.guard = new ColdGuard({
      failureThreshold: settings.failureThreshold,
      probeInterval: settings.probeInterval,
      deadline: settings.deadline,
      probe: () => cold.ready(),
      replay: {
        times: (times, retention) => cold.times.writeMax(times, retention),
        track: (ids, ttl) => cold.times.track(ids, ttl),
        patterns: (pattern) => cold.scanner.deleteMatching(pattern, { count: 500, pause: 0 }, { removed: 0 }),
        deletes: async (keys) => void (await cold.store.delete(keys)),
      },
      logger: settings.logger,
      refusal: cold.refusal,
      onError: settings.onError,
      onStateChange: settings.onStateChange,
    });
    const bySegment = new Map([...settings.caches].map(([name, policy]) => [segment(name), { name, ...policy }]));
    // A key is `<prefix>:<namespace>[:t=<tenant>]:<cache>[#v<version>]:<key>`, every part escaped.
    const leadingSegments = (key: string) => {
      const parts = key.split(':', 5);
      const at = parts[2]?.startsWith('t=') ? 3 : 2;
      return parts.length > at + 1 ? parts.slice(0, at + 1) : undefined;
    };
    const cacheOf = (key: string) => {
      const name = leadingSegments(key)?.at(-1);
      if (name === undefined) return undefined;
      // A versioned cache's segment is `<name>#v<version>`; `#` is escaped inside names.
      const hash = name.indexOf('#');
      return bySegment.get(hash <= 0 ? name : name.slice(0, hash));
    };
    // Escaped segments never hold a glob character: a pattern whose leading segments have none names one cache.
    const mayMatchCold = (pattern: string) => leadingSegments(pattern)?.some((part) => GLOB.test(part)) !== false || cacheOf(pattern) !== undefined;
    this.coldCacheOf = (key) => cacheOf(key)?.name;
    this.remote = new ChainedStore(hot.remote, promoter, hot.lock, cold.store, this.guard, {
      isCold: (key) => cacheOf(key) !== undefined,
      hotTtl: (key) => cacheOf(key)?.hotTtl ?? Number.POSITIVE_INFINITY,
      promotionLockTtl: settings.promotionLockTtl,
      telemetry: settings.telemetry,
      writeBehind: [...settings.caches.values()].some((c) => c.writeBehind)
        ? { isBehind: (key) => cacheOf(key)?.writeBehind === true, settings: settings.writeBehind }
        : undefined,
    });
    this.times = new ChainedTimesStore(hot.times, cold.times, this.guard, (id) => isDependencyId(id) && cacheOf(id.slice(DEPENDENCY_PREFIX.length)) !== undefined);
    this.scanner = new ChainedKeyScanner(hot.scanner, cold.scanner, this.guard, mayMatchCold);
    // A cold write sits inside the Redis write the facade bounds: its deadline must allow for both.
    this.deadline = (hot.deadline ?? 0) + settings.deadline;
    this.refusal = hot.refusal;
  }

  get lock(): LockStore {
    return (this.coldAwareLock ??= coldAwareLock(this.hot.lock, this.remote, (key) => this.coldCacheOf(key) !== undefined));
  }
  private coldAwareLock: LockStore | undefined;
  get tagIndex() {
    return this.hot.tagIndex;
  }
  get bus() {
    return this.hot.bus;
  }
  get schedule() {
    return this.hot.schedule;
  }
  get leases() {
    return this.hot.leases;
  }
  get registry() {
    return this.hot.registry;
  }
  get vectorLogs() {
    return this.hot.vectorLogs;
  }

  /** Waits (at most `timeoutMs`) for PostgreSQL and its schema; false when not there yet (probed on). */
  connect(timeoutMs: number): Promise<boolean> {
    return this.guard.connect(timeoutMs);
  }

  async close(): Promise<void> {
    await this.remote.flushWrites();
    this.guard.dispose();
    await Promise.all([this.cold.close(), this.hot.close()]);
  }
}

/**
 * The hot lock store, except that the first read of a miss (`step` with `onlyIfMissing`) on a cold key
 * reads through the chain (Redis, then PostgreSQL) before it locks: the Redis script alone would see a
 * value that lives only in L3 as missing and run the factory for it.
 */
function coldAwareLock(hot: LockStore, remote: RemoteStore, isCold: (key: string) => boolean): LockStore {
  return {
    acquire: (key, token, ttlMs) => hot.acquire(key, token, ttlMs),
    release: (key, token) => hot.release(key, token),
    step: async (key, token, ttlMs, options) => {
      if (options?.onlyIfMissing === true && options.afterRead !== true && isCold(key)) {
        const bytes = await remote.get(key);
        if (bytes !== undefined) return { bytes, taken: false, remainingMs: -3 };
      }
      return hot.step(key, token, ttlMs, options);
    },
    waitForRelease: hot.waitForRelease === undefined ? undefined : (key, ms) => hot.waitForRelease!(key, ms),
    get notifying() {
      return hot.notifying;
    },
  };
}
