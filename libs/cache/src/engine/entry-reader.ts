import type { CacheEntry } from '../core/entry';
import { isPromise } from '../core/promise';
import { type DistributedLock, LOCK_FAILED, type Lease } from '../resilience/distributed-lock';
import type { L2Facade } from '../tiers/l2.facade';
import type { MemoryTier } from '../tiers/memory.tier';
import type { EngineContext } from './engine.context';
import type { CachePolicy } from './engine.types';
import { type Freshness, freshness, usableUntil } from './freshness';
import type { EntrySerializer } from './entry-serializer';

/** One L1 lookup in this many is timed: a hit takes well under a microsecond, so timing each would double it. */
export const L1_SAMPLE_EVERY = 64;

const NOTHING: Promise<undefined> = Promise.resolve(undefined);

/** An entry read from a tier that can be served, and how (see `freshness`). */
export interface EntryRead {
  readonly entry: CacheEntry;
  readonly state: Exclude<Freshness, 'gone'>;
}

/**
 * Reads entries: L1 synchronously (the hottest path there is: no promise, no object), L2 through the
 * facade with the invalidation times checked, promoting to L1 what is fresh. Counts hits and misses as
 * it goes (unless told not to).
 */
export class EntryReader {
  private untilSample = L1_SAMPLE_EVERY;

  constructor(
    private readonly ctx: EngineContext,
    private readonly serializer: EntrySerializer,
  ) {}

  /** A fresh, current L1 entry; counts the L1 hit or miss, and times one lookup in 64. */
  freshL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    const l1 = this.ctx.l1;
    if (!policy.useL1 || l1 === undefined || !this.ctx.coherence.trustL1) return undefined;
    if (--this.untilSample !== 0) return this.lookL1(l1, key, policy, now);
    this.untilSample = L1_SAMPLE_EVERY;
    const started = performance.now();
    const entry = this.lookL1(l1, key, policy, now);
    this.ctx.meter.observe(policy, 'l1Get', performance.now() - started);
    return entry;
  }

  /** A fresh value from L1, or undefined. Only a hit is counted: after a miss the caller goes on with `get`, which counts it. */
  peek(key: string, policy: CachePolicy): CacheEntry | undefined {
    const l1 = this.ctx.l1;
    if (!policy.useL1 || l1 === undefined || !this.ctx.coherence.trustL1) return undefined;
    const entry = this.current(l1, key, policy, this.ctx.now());
    if (entry !== undefined) this.ctx.meter.hitL1(policy, key);
    return entry;
  }

  /** An L1 entry that can still be served (fresh, stale or usable) and is current; nothing counted. */
  usableL1(key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    const l1 = this.ctx.l1;
    if (!policy.useL1 || l1 === undefined || !this.ctx.coherence.trustL1) return undefined;
    const entry = l1.peek(key);
    return entry !== undefined && usableUntil(entry, policy) > now && this.ctx.times.isCurrent(entry, policy.namespaceId) ? entry : undefined;
  }

  /** An entry as stored, current or not (its tags are what matters), without counting a hit or a miss. */
  async peekAny(key: string, policy: CachePolicy): Promise<CacheEntry | undefined> {
    const local = policy.useL1 && this.ctx.coherence.trustL1 ? this.ctx.l1?.peek(key) : undefined;
    if (local !== undefined || !policy.useL2 || this.ctx.l2 === undefined) return local;
    return this.ctx.l2.get(key);
  }

  /**
   * A servable, current entry from L2 and its state; a fresh one is promoted to L1 (and counted as a hit
   * with `count`). Chained rather than async: an L2 hit is a few microseconds of CPU, and each promise
   * layer (an async function, an await of a value that is not a promise) was a measurable share of it.
   */
  readL2(key: string, policy: CachePolicy, count = true): Promise<EntryRead | undefined> {
    const l2 = this.ctx.l2;
    if (l2 === undefined) return NOTHING;
    const mark = this.ctx.coherence.mark();
    const meter = this.ctx.meter;
    if (meter.tracing) {
      return meter.timed(policy, 'strata.l2.get', 'l2Get', () => l2.get(key)).then((entry) => this.readOf(key, entry, policy, count, mark));
    }
    // Timed inline rather than through `timed` (one promise layer fewer).
    const started = performance.now();
    return l2.get(key).then(
      (entry) => {
        meter.observe(policy, 'l2Get', performance.now() - started);
        return this.readOf(key, entry, policy, count, mark);
      },
      (error: unknown) => {
        meter.observe(policy, 'l2Get', performance.now() - started);
        throw error;
      },
    );
  }

  private readOf(
    key: string,
    entry: CacheEntry | undefined,
    policy: CachePolicy,
    count: boolean,
    mark: number,
  ): EntryRead | undefined | Promise<EntryRead | undefined> {
    const accepted = this.accepted(key, entry, policy, count, mark);
    if (isPromise(accepted)) return accepted.then((found) => (found === undefined ? undefined : { entry: found, state: this.stateOf(found, policy) }));
    return accepted === undefined ? undefined : { entry: accepted, state: this.stateOf(accepted, policy) };
  }

  /**
   * `readL2` and, when the key is missing, the cluster-wide lock, in one round trip (one script): a miss
   * then costs this and the fenced write, like a get and a set. A hit takes no lock. The lease is
   * undefined when the entry exists (usable or not), another holder has the lock (the miss path then
   * waits for it as before), or the store did not answer. `afterRead`: right after a plain `readL2` that
   * found nothing (see `GetOrSetHandler`'s first read): that miss was counted, and the store's step need
   * not read through other tiers again.
   */
  async readL2OrLock(key: string, policy: CachePolicy, lock: DistributedLock, afterRead = false): Promise<{ found: EntryRead | undefined; lease: Lease | undefined }> {
    const count = !afterRead;
    const l2 = this.ctx.l2!;
    const mark = this.ctx.coherence.mark();
    const started = performance.now();
    let step: Awaited<ReturnType<DistributedLock['readOrAcquire']>>;
    try {
      step = await lock.readOrAcquire(key, afterRead);
    } finally {
      this.ctx.meter.observe(policy, 'l2Get', performance.now() - started);
    }
    if (step === LOCK_FAILED) {
      if (count) this.ctx.meter.count(policy, 'l2Misses');
      return { found: undefined, lease: undefined };
    }
    const entry = step.bytes === undefined || l2.inDoubt(key) ? undefined : l2.tier.decode(key, step.bytes);
    const accepted = await this.accepted(key, entry, policy, count, mark);
    return { found: accepted === undefined ? undefined : { entry: accepted, state: this.stateOf(accepted, policy) }, lease: step.lease };
  }

  /** Reads the L1 misses of a `getMany` from L2 in one call; fresh current ones are hits, promoted. */
  async readManyL2(l2: L2Facade, keys: readonly string[], policy: CachePolicy, now: number): Promise<(CacheEntry | undefined)[]> {
    const { coherence, times, meter } = this.ctx;
    const mark = coherence.mark();
    const entries = await meter.timed(policy, 'strata.l2.mget', 'l2Get', () => l2.getMany(keys));
    const ids = new Set<string>();
    for (const entry of entries) if (entry) for (const id of times.idsOf(entry, policy.namespaceId)) ids.add(id);
    const verified = await times.load([...ids]);
    return entries.map((entry, i) => {
      if (verified && entry !== undefined && entry.expiresAt > now && times.isCurrent(entry, policy.namespaceId)) {
        this.hitL2(keys[i], entry, policy, mark);
        return entry;
      }
      meter.count(policy, 'l2Misses');
      meter.missed(policy, keys[i]);
      return undefined;
    });
  }

  /**
   * A fresh, current entry from the bytes the lock's step read (a holder's result, for its waiters): the
   * same checks as a read from L2 (in doubt, undecodable, stale, invalidated: none of it is a result).
   */
  async freshFrom(key: string, bytes: Buffer, policy: CachePolicy, mark: number): Promise<CacheEntry | undefined> {
    const l2 = this.ctx.l2;
    if (l2 === undefined || l2.inDoubt(key)) return undefined;
    const entry = await this.accepted(key, l2.tier.decode(key, bytes), policy, false, mark);
    return entry !== undefined && entry.expiresAt > this.ctx.now() ? entry : undefined;
  }

  private stateOf(entry: CacheEntry, policy: CachePolicy): EntryRead['state'] {
    const state = freshness(entry, policy, this.ctx.now());
    // Accepted a moment ago as usable: a clock tick since must not turn it into nothing.
    return state === 'gone' ? 'usable' : state;
  }

  private lookL1(l1: MemoryTier, key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    const entry = this.current(l1, key, policy, now);
    if (entry !== undefined) this.ctx.meter.hitL1(policy, key);
    else this.ctx.meter.count(policy, 'l1Misses');
    return entry;
  }

  private current(l1: MemoryTier, key: string, policy: CachePolicy, now: number): CacheEntry | undefined {
    const entry = l1.peek(key);
    return entry !== undefined && entry.expiresAt > now && this.ctx.times.isCurrent(entry, policy.namespaceId) ? entry : undefined;
  }

  /**
   * What an L2 read found, if it can be served: usable, and not invalidated (promoted to L1 when fresh).
   * Synchronous when the invalidation times are known (the steady state, kept current by the bus): no
   * promise on the hot path; otherwise they are loaded first.
   */
  private accepted(
    key: string,
    entry: CacheEntry | undefined,
    policy: CachePolicy,
    count: boolean,
    mark: number,
  ): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const now = this.ctx.now();
    if (entry === undefined || usableUntil(entry, policy) <= now) {
      if (count) this.ctx.meter.count(policy, 'l2Misses');
      return undefined;
    }
    const times = this.ctx.times;
    if (times.knowsAll(entry, policy.namespaceId)) return this.settle(key, entry, policy, count, mark, true, now);
    return times.load(times.idsOf(entry, policy.namespaceId)).then((verified) => this.settle(key, entry, policy, count, mark, verified, now));
  }

  private settle(key: string, entry: CacheEntry, policy: CachePolicy, count: boolean, mark: number, verified: boolean, now: number): CacheEntry | undefined {
    if (!verified || !this.ctx.times.isCurrent(entry, policy.namespaceId)) {
      if (count) this.ctx.meter.count(policy, 'l2Misses');
      return undefined;
    }
    if (entry.expiresAt > now) {
      if (count) this.hitL2(key, entry, policy, mark);
      else this.promote(key, entry, policy, mark);
    } else if (count) {
      this.ctx.meter.count(policy, 'l2Misses');
    }
    return entry;
  }

  private hitL2(key: string, entry: CacheEntry, policy: CachePolicy, mark: number): void {
    this.ctx.meter.hitL2(policy, key);
    this.promote(key, entry, policy, mark);
  }

  private promote(key: string, entry: CacheEntry, policy: CachePolicy, mark: number): void {
    const l1 = this.ctx.l1;
    // The key was dropped for another instance since the read began: what we read may be what it deleted.
    if (!policy.useL1 || l1 === undefined || !this.ctx.coherence.mayPromote(key, entry.createdAt, mark)) return;
    // Re-serializing gives L1 its own copy: the caller may change the object it was handed.
    const serialized = this.serializer.serialize(key, entry.value, policy);
    if (serialized !== undefined) l1.store({ key, entry, serialized });
  }
}
