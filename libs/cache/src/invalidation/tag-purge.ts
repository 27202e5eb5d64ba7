import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import type { CacheCounters } from '../observability/stats';
import type { L2Facade } from '../tiers/l2.facade';
import { physicalTtl, script } from '../tiers/redis.tier';
import type { TierWrite } from '../tiers/tier';
import { delay } from './patterns';

export interface TagPurgeOptions {
  /** The escaped key prefix: a tag's index is `{prefix}:__tagkeys:{<id>}`. */
  prefix: string;
  /** Keys removed per batch (`invalidation.scanCount`), and the pause after each batch (`scanPause`). */
  count: number;
  pause: number;
  now: () => number;
  logger: LoggerService;
}

/** An index outlives the newest key it lists by this much. */
const INDEX_MARGIN_MS = 60_000;
/** Keys per index call (Lua's `unpack` has a limit; `setMany` may bring thousands for one tag). */
const INDEX_CHUNK = 500;
/** Walks waiting at most; past that an index moved aside is left to expire on its TTL. */
const MAX_QUEUED = 10_000;

// A tag's index is a sorted set: member an entry's key, score when that key expires (server clock, so
// instances' clocks never disagree). Each call first drops a bounded number of members already expired,
// so an index never invalidated stays about the size of its live keys; its TTL is only ever extended.
// KEYS: the indexes of one tag list (one on a Cluster: they live in different slots); ARGV[1] their TTL;
// then pairs, the same for every index: a key's TTL (ms), the key.
const INDEX_SCRIPT = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local add = {}
for i = 2, #ARGV, 2 do
  add[#add + 1] = now + tonumber(ARGV[i])
  add[#add + 1] = ARGV[i + 1]
end
for _, index in ipairs(KEYS) do
  local gone = redis.call('ZRANGEBYSCORE', index, '-inf', now, 'LIMIT', 0, 64 + #add / 2)
  if #gone > 0 then redis.call('ZREM', index, unpack(gone)) end
  redis.call('ZADD', index, unpack(add))
  if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
end
return 1`);
// Moves an index aside (keeping its TTL) in one step: writes from then on start a fresh one. KEYS[2]
// shares KEYS[1]'s `{hash tag}`, so both are in one Cluster slot.
const SNAPSHOT_SCRIPT = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1`);

/**
 * The optional hard purge (`invalidation.purge`, DESIGN §5), for memory only: invalidating a tag stays
 * O(1) by its time, and then the keys carrying the tag are also removed from Redis in the background.
 *
 * Every write of an entry with tags adds its key to each tag's index, in the same round trip as the
 * write (see `L2Facade.indexWrites`). After an invalidation has been recorded, the instance that made it
 * moves each tag's index aside, then pops it in batches and `UNLINK`s the keys, pausing between batches
 * like the pattern walk. A key written again after the invalidation but before the walk reaches it may
 * go too: that costs one miss, never a stale read. A walk that Redis cuts short stops (logged once); the
 * invalidation still stands and what is left expires on its TTL.
 */
export class TagPurge {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private disposed = false;
  /** Set after a walk stopped, until one completes: one log line per outage, not one per walk. */
  private failing = false;

  constructor(
    private readonly l2: L2Facade,
    private readonly options: TagPurgeOptions,
  ) {
    l2.indexWrites = (writes) => this.index(writes);
  }

  /** The Redis key of an invalidation id's index (tags and `dep:` ids are already scoped by prefix and tenant). */
  indexKey(id: string): string {
    return `${this.options.prefix}:__tagkeys:{${id}}`;
  }

  /**
   * Called once the times of `ids` are recorded: moves their indexes aside and queues the walks. Resolves
   * when they are moved, so a key first written after the invalidation returned is never purged by it;
   * never rejects (correctness rests on the times alone). Purged keys are counted in `counters`.
   */
  async begin(ids: readonly string[], counters: CacheCounters): Promise<void> {
    // Optional work: skipped while Redis is failing (as the stampede lock is). Namespaces have no index.
    if (this.disposed || !this.l2.healthy) return;
    const targets = ids.filter((id) => !id.startsWith('ns:'));
    const moved = await Promise.all(targets.map((id) => this.moveAside(id)));
    for (let i = 0; i < targets.length; i++) {
      const snapshot = moved[i];
      if (snapshot !== undefined) this.enqueue(targets[i], snapshot, counters);
    }
  }

  dispose(): void {
    this.disposed = true;
  }

  private async moveAside(id: string): Promise<string | undefined> {
    const index = this.indexKey(id);
    const snapshot = `${index}:purging:${randomUUID()}`;
    const moved = await this.attempt(() => this.l2.tier.evalKeys(SNAPSHOT_SCRIPT, [index, snapshot], []));
    return Number(moved) === 1 ? snapshot : undefined;
  }

  private enqueue(id: string, snapshot: string, counters: CacheCounters): void {
    if (this.queued >= MAX_QUEUED) return; // the snapshot expires on its TTL; memory only, as ever
    this.queued += 1;
    this.tail = this.tail.then(() => this.walk(id, snapshot, counters)).finally(() => void (this.queued -= 1));
  }

  /** Pops the snapshot in batches (soonest to expire first) and unlinks the keys; Redis drops it once empty. */
  private async walk(id: string, snapshot: string, counters: CacheCounters): Promise<void> {
    const { count, pause } = this.options;
    const tier = this.l2.tier;
    let removed = 0;
    if (!this.l2.available) return this.stopped(id, removed);
    while (!this.disposed) {
      const popped = await this.attempt(() => tier.client.zpopmin(snapshot, count));
      if (popped === undefined) return this.stopped(id, removed);
      const keys = popped.filter((_, i) => i % 2 === 0);
      if (keys.length > 0) {
        const unlinked = await this.attempt(() => tier.unlink(keys), keys.length);
        if (unlinked === undefined) return this.stopped(id, removed);
        removed += unlinked;
        counters.purged += unlinked;
      }
      if (keys.length < count) break;
      if (pause > 0) await delay(pause);
    }
    this.failing = false;
  }

  private stopped(id: string, removed: number): void {
    if (this.disposed || this.failing) return;
    this.failing = true;
    this.options.logger.warn(
      `purge of ${id} stopped after ${removed} keys: Redis did not answer. The invalidation stands; ` +
        `the keys left expire on their TTL (further purges stopped meanwhile are not logged)`,
    );
  }

  /** One Redis call behind the breaker; undefined when it failed (`strict` rethrows, and nobody awaits a walk). */
  private attempt<T>(op: () => Promise<T>, size = 1): Promise<T | undefined> {
    return this.l2.guard(op, undefined, undefined, size).catch(() => undefined);
  }

  /**
   * Adds written keys to their tags' indexes: one script call per distinct tag list (per 500 keys of a
   * `setMany`), or on a Cluster per tag. Resolves when they are added.
   */
  private index(writes: readonly TierWrite[]): Promise<unknown> {
    const now = this.options.now();
    let byTags: Map<string, { ids: readonly string[]; ttl: number; args: Array<string | number> }> | undefined;
    for (const write of writes) {
      const ids = write.entry.tags;
      if (ids.length === 0) continue;
      const ttl = Math.ceil(physicalTtl(write, now));
      if (ttl <= 0) continue;
      // Ids are escaped segments: a control character never appears in one.
      const signature = ids.length === 1 ? ids[0] : ids.join('\n');
      const group = (byTags ??= new Map()).get(signature);
      if (group === undefined) byTags.set(signature, { ids, ttl, args: [ttl, write.key] });
      else {
        group.ttl = Math.max(group.ttl, ttl);
        group.args.push(ttl, write.key);
      }
    }
    if (byTags === undefined) return Promise.resolve();
    const tier = this.l2.tier;
    const calls: Promise<unknown>[] = [];
    for (const { ids, ttl, args } of byTags.values()) {
      const keys = ids.map((id) => this.indexKey(id));
      for (let i = 0; i < args.length; i += 2 * INDEX_CHUNK) {
        const chunk = [ttl + INDEX_MARGIN_MS, ...args.slice(i, i + 2 * INDEX_CHUNK)];
        if (!tier.clustered) calls.push(tier.evalKeys(INDEX_SCRIPT, keys, chunk));
        else for (const key of keys) calls.push(tier.evalKeys(INDEX_SCRIPT, [key], chunk));
      }
    }
    return Promise.all(calls);
  }
}
