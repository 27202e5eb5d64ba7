import { type CacheEntry, MAX_ENTRY_TAGS } from '../core/entry';
import { dependencyId, dependentTags } from '../invalidation/dependencies';
import type { TagPurge } from '../invalidation/tag-purge';
import type { Lease } from '../resilience/distributed-lock';
import { jittered } from '../resilience/resilience.options';
import type { L2Facade } from '../tiers/l2.facade';
import type { TierWrite } from '../tiers/tier';
import type { EngineContext } from './engine.context';
import { type CachePolicy, type WriteSpec, lifetimeBound } from './engine.types';
import type { EntryReader } from './entry-reader';
import type { EntrySerializer } from './entry-serializer';

/** How far ahead of the clock writes may be dated to follow this instance's own invalidations (see `writeTime`). */
const OWN_TIMES_AHEAD_MS = 50;

/**
 * Writes entries: L2 then L1 (L1 skipped when another instance dropped the key meanwhile), and commits
 * each change by invalidating what depends on it and announcing it to the other instances.
 */
export class EntryWriter {
  /** The latest creation time `writeTime` gave a write ahead of the clock (see `invalidationTime`). */
  private datedAhead = 0;

  constructor(
    private readonly ctx: EngineContext,
    private readonly serializer: EntrySerializer,
    private readonly reader: EntryReader,
    private readonly purge: TagPurge | undefined,
    private readonly random: (() => number) | undefined,
    /** Told the keys a delete removed (predictive warming stops tracking them). */
    private readonly onRemoved: (keys: readonly string[]) => void,
  ) {}

  /**
   * The creation time of a value written by `set`/`setMany` (given by the caller, current as of the
   * call). Times are milliseconds and an entry created at or before an invalidation is invalid, so a
   * value written in the same millisecond as an invalidation this instance has just made or applied
   * (`set(user)` overwriting a key with dependents, then `set(page, { dependsOn: [user] })`) would be a
   * miss: it is dated one past it. Only within a few ms of now, so a clock running ahead elsewhere
   * cannot date our writes into the future.
   */
  writeTime(): number {
    const now = this.ctx.now();
    const latest = this.ctx.times.latest;
    if (latest < now) return now;
    // Our own invalidations (dated by `invalidationTime`, never past `datedAhead`) are followed a little
    // further: each write-then-invalidate within one millisecond moves them one ms ahead.
    const bound = latest <= this.datedAhead ? OWN_TIMES_AHEAD_MS : 3;
    if (latest - now >= bound) return now;
    if (latest + 1 > this.datedAhead) this.datedAhead = latest + 1;
    return latest + 1;
  }

  /**
   * Now, or the latest time `writeTime` dated a write ahead of the clock: a write made right after an
   * invalidation in the same millisecond is dated one past it, and an invalidation made after that
   * write, still within the millisecond, must cover it (`clear()`, write, `clear()` in one ms).
   */
  invalidationTime(): number {
    return Math.max(this.ctx.now(), this.datedAhead);
  }

  /** Stores a value the caller computed, then commits it; false (and the key deleted) when it cannot be stored. */
  async set(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec): Promise<boolean> {
    const resolved = await this.withDependencies(spec, policy);
    const createdAt = this.writeTime();
    let ahead: SentAhead | undefined;
    const stored = await this.write(key, value, policy, resolved, createdAt, undefined, () => (ahead = this.sendAhead([key], createdAt)));
    if (stored === undefined) {
      // A value we cannot store must not leave an older one behind under its key (it never reached the
      // store, so nothing was sent ahead).
      await this.remove([key], policy.useL2, policy);
      return false;
    }
    await this.changed([key], createdAt, policy, ahead);
    return true;
  }

  async setMany(items: ReadonlyArray<{ key: string; value: unknown; spec: WriteSpec }>, policy: CachePolicy): Promise<void> {
    const { l1, l2, coherence, meter } = this.ctx;
    const writes: TierWrite[] = [];
    const written: Array<{ key: string; spec: WriteSpec }> = [];
    const rejected: string[] = [];
    const createdAt = this.writeTime();
    for (const item of items) {
      const write = this.prepare(item.key, item.value, policy, await this.withDependencies(item.spec, policy), createdAt);
      if (write) {
        writes.push(write);
        written.push(item);
      } else rejected.push(item.key);
    }
    if (rejected.length > 0) await this.remove(rejected, policy.useL2, policy);
    const mark = coherence.mark();
    const keys = writes.map((write) => write.key);
    let ahead: SentAhead | undefined;
    if (policy.useL2 && l2) {
      const sent = () => (ahead = this.sendAhead(keys, createdAt));
      await meter.timed(policy, 'strata.l2.mset', 'l2Set', () => l2.setMany(writes, sent));
    }
    if (policy.useL1 && l1) for (const write of writes) if (coherence.mayStore(write.key, mark)) l1.store(write);
    for (const item of written) meter.wrote(policy, item.key, item.spec.tagIds);
    await this.changed(keys, createdAt, policy, ahead);
  }

  /** Deletes full keys from L2 (when `fromL2`) and L1, then commits it (cascade and announcement). */
  async remove(keys: readonly string[], fromL2 = true, policy?: CachePolicy): Promise<void> {
    const { l1, l2, meter } = this.ctx;
    let ahead: SentAhead | undefined;
    if (fromL2 && l2) {
      const sent = () => (ahead = this.sendAhead(keys, undefined));
      if (policy === undefined) await l2.delete(keys, sent);
      else await meter.timed(policy, 'strata.l2.delete', 'l2Delete', () => l2.delete(keys, sent));
    }
    if (l1) for (const key of keys) l1.remove(key);
    this.onRemoved(keys);
    if (policy !== undefined) meter.deleted(policy, keys);
    await this.changed(keys, undefined, policy, ahead);
  }

  /**
   * After keys changed in L2: their dependents are invalidated (only keys something depends on cost a
   * record), and the other instances are told to drop their L1 copies and apply those times.
   */
  async changed(keys: readonly string[], writtenAt?: number, policy?: CachePolicy, ahead?: SentAhead): Promise<void> {
    if (keys.length === 0) return;
    const { times, coherence } = this.ctx;
    // Both in flight at once (one round trip of waiting): most keys have no dependents, so no second message.
    // Memory-only caches announce too: the other instances hold their own copies under the same keys.
    // Sent ahead with the write: only the raise of tracked ids (rare) is left, at the time the change is made.
    const [invalidated] = await Promise.all([
      times.invalidateTracked(keys.map(dependencyId), this.ctx.now(), ahead?.tracked),
      ahead?.announced ?? coherence.announce({ k: [...keys], c: writtenAt }),
    ]);
    if (invalidated.length > 0) {
      await Promise.all([coherence.announce({ t: invalidated }), this.purgeAfter(invalidated.map(([id]) => id), policy)]);
    }
  }

  /**
   * The announcement of a change and the lookup of its keys' dependency records, sent right behind the
   * write while the store has just been handed it (`L2Facade.set`'s `sent`): the store runs them after
   * the write, so the other instances cannot read the old value back after the announcement, and a
   * record found is one tracked before the write landed (see `RedisTimesStore.raiseTracked`). The write
   * and both then take one round trip; the time of the raise is still taken once the write is done.
   */
  private sendAhead(keys: readonly string[], writtenAt: number | undefined): SentAhead {
    const { times, coherence } = this.ctx;
    const ahead = { tracked: times.findTracked(keys.map(dependencyId)), announced: coherence.announce({ k: [...keys], c: writtenAt }) };
    // Awaited by `changed` once the write is done; a write that throws first (strict) never gets there.
    ahead.tracked.catch(ignore);
    ahead.announced.catch(ignore);
    return ahead;
  }

  /** After invalidation times were recorded: the hard purge of those ids' keys, when it is on (see `TagPurge`). */
  purgeAfter(ids: readonly string[], policy: CachePolicy | undefined): Promise<void> | undefined {
    return this.purge?.begin(ids, policy?.counters ?? this.ctx.meter.unattributed());
  }

  /**
   * Writes L2 then L1, fenced by `lease` when there is one (the write releases it). Returns the entry
   * written, `undefined` when the value cannot be stored, or `null` when the lock was lost and nothing
   * was written (a newer value stands).
   */
  async write(
    key: string,
    value: unknown,
    policy: CachePolicy,
    spec: WriteSpec,
    createdAt: number,
    lease: Lease | undefined,
    sent?: () => void,
  ): Promise<CacheEntry | undefined | null> {
    const { l1, l2, coherence, meter, lock } = this.ctx;
    const write = this.prepare(key, value, policy, spec, createdAt);
    if (write === undefined) {
      if (lease !== undefined) void lock?.release(lease);
      return undefined;
    }
    const mark = coherence.mark();
    if (policy.useL2 && l2) {
      if (lease === undefined) {
        await this.timedSet(policy, () => l2.set(write, sent));
      } else {
        const written = await this.timedSet(policy, () => this.fencedSet(l2, write, lease));
        if (written === false) {
          // Our lock expired and someone else may have written since: their value stands, in L1 too.
          meter.count(policy, 'lockLost');
          return null;
        }
        if (written === undefined) void lock?.release(lease);
      }
    }
    if (policy.useL1 && l1 && coherence.mayStore(key, mark)) l1.store(write);
    meter.wrote(policy, key, spec.tagIds);
    return write.entry;
  }

  /** The L2 write timed inline (no promise layer of its own) unless a tracer wants it as a span. */
  private timedSet<T>(policy: CachePolicy, op: () => Promise<T>): Promise<T> {
    const meter = this.ctx.meter;
    if (meter.tracing) return meter.timed(policy, 'strata.l2.set', 'l2Set', op);
    const started = performance.now();
    const done = () => meter.observe(policy, 'l2Set', performance.now() - started);
    return op().finally(done);
  }

  /**
   * The spec with the tags a dependent entry needs (see `dependentTags`), its `dep:` ids tracked; the
   * spec itself, synchronously, when it depends on nothing (the common case: no promise to wait on).
   */
  withDependencies(spec: WriteSpec, policy: CachePolicy): WriteSpec | Promise<WriteSpec> {
    const keys = spec.dependsOn;
    if (keys === undefined || keys.length === 0) return spec;
    return this.trackDependencies(spec, keys, policy);
  }

  private async trackDependencies(spec: WriteSpec, keys: readonly string[], policy: CachePolicy): Promise<WriteSpec> {
    const entries = await Promise.all(keys.map((key) => this.reader.peekAny(key, policy)));
    const tagIds = dependentTags(spec.tagIds, keys.map(dependencyId), entries);
    await this.ctx.times.track(tagIds.filter((id) => id.startsWith('dep:')), lifetimeBound(spec));
    return { ...spec, tagIds };
  }

  /**
   * The write of a lock holder: fenced where the store can (the write releases the lock), else a plain
   * write, then the release (a holder that lost its lock may then overwrite a newer value: the store
   * declared it cannot prevent that).
   */
  private fencedSet(l2: L2Facade, write: TierWrite, lease: Lease): Promise<boolean | undefined> {
    return l2.tier.fencing ? l2.setFenced(write, lease) : this.setThenRelease(l2, write, lease);
  }

  private async setThenRelease(l2: L2Facade, write: TierWrite, lease: Lease): Promise<boolean> {
    await l2.set(write);
    void this.ctx.lock?.release(lease);
    return true;
  }

  private prepare(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec, createdAt: number): TierWrite | undefined {
    // Readers refuse more (each tag is a time to look up), so such an entry would never be read back.
    if (spec.tagIds.length > MAX_ENTRY_TAGS) {
      this.ctx.meter.count(policy, 'notCacheable');
      this.ctx.warnOnce(`tags:${policy.namespaceId}`, `a value for ${key} was not cached: ${spec.tagIds.length} tags, more than ${MAX_ENTRY_TAGS}`);
      return undefined;
    }
    const serialized = this.serializer.serialize(key, value, policy);
    if (serialized === undefined) return undefined;
    const expiresAt = this.ctx.now() + jittered(this.ttlOf(key, value, policy, spec), policy.ttlJitter, this.random);
    const staleUntil = expiresAt + spec.grace;
    const entry = { value, createdAt, expiresAt, staleUntil, tags: spec.tagIds };
    // With fail-safe, L2 keeps the stale copy for the window past grace, so it can stand in for a failing factory.
    const keepUntil = policy.failSafe === undefined ? undefined : staleUntil + policy.failSafe.window;
    return { key, serialized, entry, codec: policy.codec, keepUntil, namespaceId: policy.namespaceId };
  }

  /** A fixed ttl, or an adaptive one (a function of the value); a function that throws falls back to the policy's. */
  private ttlOf(key: string, value: unknown, policy: CachePolicy, spec: WriteSpec): number {
    if (typeof spec.ttl === 'number') return spec.ttl;
    try {
      return spec.ttl(value);
    } catch (error) {
      if (this.ctx.strict) throw error;
      this.ctx.warnOnce(`ttl:${policy.namespaceId}`, `the ttl function for ${key} threw (${String(error)}); used the cache's ttl`);
      return policy.ttl;
    }
  }
}

function ignore(): void {}

/** What `sendAhead` sent with a write: the dependency lookup and the announcement, both in flight. */
interface SentAhead {
  readonly tracked: Promise<boolean[] | undefined>;
  readonly announced: Promise<void>;
}
