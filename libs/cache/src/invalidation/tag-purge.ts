import type { LoggerService } from '@nestjs/common';
import { delay } from '../core/durations';
import type { CacheCounters } from '../observability/stats';
import type { TagIndex, TagIndexGroup } from '../ports/key-scanner';
import type { L2Facade } from '../tiers/l2.facade';
import { physicalTtl } from '../tiers/remote.tier';
import type { TierWrite } from '../tiers/tier';

export interface TagPurgeOptions {
  /** Keys removed per batch (`invalidation.scanCount`), and the pause after each batch (`scanPause`). */
  count: number;
  pause: number;
  now: () => number;
  logger: LoggerService;
}

/** An index outlives the newest key it lists by this much. */
const INDEX_MARGIN_MS = 60_000;
/** Walks waiting at most; past that an index moved aside is left to expire on its TTL. */
const MAX_QUEUED = 10_000;

/**
 * The optional hard purge (`invalidation.purge`), for memory only: invalidating a tag stays
 * O(1) by its time, and then the keys carrying the tag are also removed from Redis in the background.
 *
 * Every write of an entry with tags adds its key to each tag's index, in the same round trip as the
 * write (see `indexWrites`, given to the L2 facade). After an invalidation has been recorded, the instance that made it
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
    private readonly tags: TagIndex,
    private readonly options: TagPurgeOptions,
  ) {}

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

  private moveAside(id: string): Promise<string | undefined> {
    return this.attempt(() => this.tags.detach(id));
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
      const keys = await this.attempt(() => this.tags.pop(snapshot, count));
      if (keys === undefined) return this.stopped(id, removed);
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
}

/**
 * Adds written keys to their tags' indexes: one group per distinct tag list. Resolves when they are added.
 */
export function indexWrites(tags: TagIndex, writes: readonly TierWrite[], now: number): Promise<unknown> {
  let byTags: Map<string, { ids: readonly string[]; ttl: number; keys: Array<{ key: string; ttlMs: number }> }> | undefined;
  for (const write of writes) {
    const ids = write.entry.tags;
    if (ids.length === 0) continue;
    const ttl = Math.ceil(physicalTtl(write, now));
    if (ttl <= 0) continue;
    // Ids are escaped segments: a control character never appears in one.
    const signature = ids.length === 1 ? ids[0] : ids.join('\n');
    const group = (byTags ??= new Map()).get(signature);
    if (group === undefined) byTags.set(signature, { ids, ttl, keys: [{ key: write.key, ttlMs: ttl }] });
    else {
      group.ttl = Math.max(group.ttl, ttl);
      group.keys.push({ key: write.key, ttlMs: ttl });
    }
  }
  if (byTags === undefined) return Promise.resolve();
  const groups: TagIndexGroup[] = [...byTags.values()].map(({ ids, ttl, keys }) => ({ ids, indexTtlMs: ttl + INDEX_MARGIN_MS, keys }));
  return tags.add(groups);
}
