import type { CacheEntry } from '../core/entry';
import { SingleFlight } from '../core/single-flight';
import { LOCK_FAILED, type Lease } from '../resilience/distributed-lock';
import { resolvedValue } from '../tiers/memory.tier';
import type { PredictiveWarmer } from '../warming/predictive-warmer';
import type { BackgroundRefresh } from './background-refresh';
import type { EngineContext } from './engine.context';
import type { Answered, CachePolicy, Factory, GetOrSetResult, WriteSpec } from './engine.types';
import type { EntryReader } from './entry-reader';
import type { FactoryRunner } from './factory-runner';
import { nearEnd } from './freshness';

/**
 * `getOrSet`: the value under a key, or the factory's result, stored on the way out. Concurrent callers
 * of a missing key share one factory run, and with a lock store one run cluster-wide. A stale entry
 * within grace is served at once and refreshed in the background (one refresh per key). With fail-safe,
 * a stale copy stands in for a factory that fails or times out.
 */
export class GetOrSetHandler {
  private readonly flights = new SingleFlight();
  private readonly firstReads = new FirstReads();

  constructor(
    private readonly ctx: EngineContext,
    private readonly reader: EntryReader,
    private readonly runner: FactoryRunner,
    private readonly refresh: BackgroundRefresh,
    private readonly warmer: PredictiveWarmer | undefined,
  ) {}

  /** An L1 hit answers synchronously (no flight, no await): it is the hottest path there is. */
  handle<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    const now = this.ctx.now();
    const hit = this.reader.freshL1(key, policy, now);
    if (hit !== undefined) {
      this.servedFresh(key, hit, factory, policy, spec, now);
      return resolvedValue(hit) as Promise<T>;
    }
    return this.flights.run(key, () => this.load(key, factory, policy, spec)).then(valueOf);
  }

  /**
   * `handle`, telling how it answered (see `GetOrSetResult`). Concurrent callers share one answer; only
   * the call whose factory a background refresh took is handed that refresh (`refreshing`).
   */
  handleWithStatus<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<GetOrSetResult<T>> {
    const now = this.ctx.now();
    const hit = this.reader.freshL1(key, policy, now);
    if (hit !== undefined) {
      this.servedFresh(key, hit, factory, policy, spec, now);
      return Promise.resolve({ value: hit.value as T, status: 'hit', tier: 'l1', age: now - hit.createdAt });
    }
    let leader = false;
    const flight = this.flights.run(key, () => {
      leader = true;
      return this.load(key, factory, policy, spec);
    });
    return leader ? flight : flight.then(withoutRefresh);
  }

  /**
   * Fills a key from its factory now, whether or not it is cached (warming with `force`); the caller
   * announces it. Not `compute`: its lock path would hand back the fresh value we were asked to replace.
   */
  recompute<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<T> {
    return this.flights.run(key, async () => {
      let lease: Lease | undefined;
      const { lock, l2 } = this.ctx;
      if (lock !== undefined && policy.useL2 && l2?.healthy) {
        const taken = await lock.tryAcquire(key);
        if (taken !== undefined && taken !== LOCK_FAILED) lease = taken;
      }
      return this.runner.run(key, factory, policy, spec, lease);
    });
  }

  /** A fresh entry served: refresh-ahead near its end, and predictive warming told of the read. */
  private servedFresh<T>(key: string, entry: CacheEntry, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec, now: number): void {
    if (nearEnd(entry, spec.refreshAhead ?? policy.refreshAhead, now)) this.refresh.ahead(key, factory, policy, spec, entry.createdAt);
    this.warmer?.read(key);
  }

  /** An L1 miss: L2 (fresh: done; stale: kept), then a stale copy within grace, fail-safe, or the factory. */
  private async load<T>(key: string, factory: Factory<T>, policy: CachePolicy, spec: WriteSpec): Promise<GetOrSetResult<T>> {
    let stale: CacheEntry | undefined = this.ctx.l1 ? this.reader.usableL1(key, policy, this.ctx.now()) : undefined;
    let staleTier: 'l1' | 'l2' = 'l1';
    let lease: Lease | undefined;
    if (policy.useL2) {
      const { lock, l2 } = this.ctx;
      let found: Awaited<ReturnType<EntryReader['readL2']>>;
      if (lock === undefined || !l2?.healthy || this.ctx.meter.tracing) {
        // No lock to take with the read (or a tracer wants the read and the lock as spans).
        found = await this.reader.readL2(key, policy);
      } else if (this.firstReads.expectStored(policy.name)) {
        // Mostly hits lately: a plain GET, ~8× cheaper for Redis than the script; the read-and-lock only after it missed.
        found = await this.reader.readL2(key, policy);
        this.firstReads.saw(policy.name, found !== undefined);
        // Not after a failed read (the facade is then unhealthy): the miss goes on without the lock, as below.
        if (found === undefined && l2.healthy) ({ found, lease } = await this.reader.readL2OrLock(key, policy, lock, true));
      } else {
        // Mostly misses lately: the first read and the lock in one round trip (one script).
        ({ found, lease } = await this.reader.readL2OrLock(key, policy, lock));
        this.firstReads.saw(policy.name, found !== undefined);
      }
      if (found !== undefined) {
        const entry = found.entry;
        if (found.state === 'fresh') {
          const now = this.ctx.now();
          this.servedFresh(key, entry, factory, policy, spec, now);
          return { value: entry.value as T, status: 'hit', tier: 'l2', age: Math.max(0, now - entry.createdAt) };
        }
        if (stale === undefined || entry.createdAt > stale.createdAt) {
          stale = entry;
          staleTier = 'l2';
        }
      }
    }
    const now = this.ctx.now();
    // Served from a stale copy after all: the lock taken with the first read goes back at once.
    if (lease !== undefined && stale !== undefined && (stale.staleUntil > now || this.runner.throttled(key, now))) {
      void this.ctx.lock?.release(lease);
      lease = undefined;
    }
    if (stale !== undefined && stale.staleUntil > now) {
      this.ctx.meter.hitStale(policy, key);
      const refreshing = this.refresh.start(key, factory, policy, spec);
      const age = Math.max(0, now - stale.createdAt);
      const value = stale.value as T;
      return refreshing === undefined ? { value, status: 'stale', tier: staleTier, age } : { value, status: 'stale', tier: staleTier, age, refreshing };
    }
    // Past grace, a stale copy is only there for fail-safe: the factory failed lately, so do not call it yet.
    if (stale !== undefined && this.runner.throttled(key, now)) {
      return { value: this.runner.serveFailSafe<T>(key, stale, policy), status: 'stale', tier: staleTier, age: Math.max(0, now - stale.createdAt) };
    }
    this.ctx.meter.missed(policy, key);
    const how: Answered = { status: 'miss', tier: 'factory', createdAt: undefined, staleTier };
    const value = await this.runner.compute(key, factory, policy, spec, stale, lease, how);
    return { value, status: how.status, tier: how.tier, age: how.createdAt === undefined ? 0 : Math.max(0, this.ctx.now() - how.createdAt) };
  }
}

function valueOf<T>(result: GetOrSetResult<T>): T {
  return result.value;
}

/** A caller that joined another's flight: the refresh runs that caller's factory, not its own. */
function withoutRefresh<T>(result: GetOrSetResult<T>): GetOrSetResult<T> {
  if (result.refreshing === undefined) return result;
  return { value: result.value, status: result.status, tier: result.tier, age: result.age };
}

/**
 * How the L1 misses of each cache name fared in Redis lately, to choose their first read. A read that
 * also takes the lock when the key is missing (one script) makes a miss two round trips, like a get and
 * a set, but costs Redis ~8× a plain GET when the key is there (INFO commandstats: ~6–8 µs against
 * ~0.8 µs; end to end, with the I/O, 14.6 against 3.9 µs of Redis CPU per getOrSet hit at 64 in flight).
 * So while most first reads find the entry (the steady state of a warm cache), they are plain GETs and a
 * miss takes the lock in a second round trip; while most miss (a cold cache, keys seen once), the script.
 * Decayed counts (halved every 256 reads), per cache name; starts with the script.
 */
class FirstReads {
  private readonly mix = new Map<string, { reads: number; found: number }>();

  /** More than half of the recent first reads found an entry. */
  expectStored(name: string): boolean {
    const mix = this.mix.get(name);
    return mix !== undefined && mix.found * 2 > mix.reads;
  }

  saw(name: string, found: boolean): void {
    let mix = this.mix.get(name);
    if (mix === undefined) this.mix.set(name, (mix = { reads: 0, found: 0 }));
    mix.reads += 1;
    if (found) mix.found += 1;
    if (mix.reads >= FIRST_READS_WINDOW) {
      mix.reads >>>= 1;
      mix.found >>>= 1;
    }
  }
}

const FIRST_READS_WINDOW = 256;
