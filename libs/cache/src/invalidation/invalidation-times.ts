import type { CacheEntry } from '../core/entry';
import type { L2Facade } from '../tiers/l2.facade';
import { script } from '../tiers/redis.tier';

/**
 * O(1) invalidation (DESIGN §5): a tag or a namespace is invalidated by recording the time it happened;
 * an entry created at or before any of its ids' times is treated as missing. Nothing is scanned.
 *
 * Times are kept in Redis (`{prefix}:__inv:{id}`, so every instance and a restarted one see them) and
 * in a local map, so checking an L1 hit costs a map lookup per id. Ids this instance has never seen are
 * loaded from Redis once, in one round trip, before an L2 entry carrying them is trusted.
 */
export class InvalidationTimes {
  private readonly known = new Map<string, number>();

  constructor(
    private readonly redisPrefix: string,
    private readonly l2: L2Facade | undefined,
    /** How long an invalidation time is kept in Redis: at least as long as any entry can live. */
    private readonly retentionMs: number,
    private readonly maxKnown = 100_000,
  ) {
    if (l2) l2.writeTimes = (times) => this.write(times);
  }

  /** True unless a known invalidation of the namespace or one of the entry's tags covers the entry. */
  isCurrent(entry: CacheEntry, namespaceId: string): boolean {
    const ns = this.known.get(namespaceId);
    if (ns !== undefined && entry.createdAt <= ns) return false;
    const tags = entry.tags;
    for (let i = 0; i < tags.length; i++) {
      const time = this.known.get(tags[i]);
      if (time !== undefined && entry.createdAt <= time) return false;
    }
    return true;
  }

  /**
   * Makes sure the times of these ids are known locally, loading the missing ones from Redis.
   * Resolves false when they could not be loaded: the caller must then not trust an L2 entry.
   */
  async load(ids: readonly string[]): Promise<boolean> {
    if (this.l2 === undefined) return true;
    let missing: string[] | undefined;
    for (const id of ids) if (!this.known.has(id)) (missing ??= []).push(id);
    if (missing === undefined) return true;
    const l2 = this.l2;
    const found = missing;
    const values = await l2.guard(() => this.read(l2, found), undefined);
    if (values === undefined) return false;
    found.forEach((id, i) => this.remember(id, Number(values[i] ?? 0) || 0));
    return true;
  }

  idsOf(entry: CacheEntry, namespaceId: string): string[] {
    return entry.tags.length === 0 ? [namespaceId] : [namespaceId, ...entry.tags];
  }

  /** Records invalidations now, locally at once and in Redis (replayed later if Redis is down). */
  async invalidate(ids: readonly string[], now: number): Promise<void> {
    const times = new Map<string, number>();
    for (const id of ids) {
      this.remember(id, now);
      times.set(id, now);
    }
    if (this.l2) await this.l2.setTimes(times);
  }

  /** An invalidation made elsewhere (the bus): keeps the later of the two times. */
  apply(id: string, time: number): void {
    const current = this.known.get(id);
    if (current === undefined || time > current) this.remember(id, time);
  }

  /** Forgets every cached time, so each is loaded afresh (after a lost bus message). */
  forget(): void {
    this.known.clear();
  }

  private remember(id: string, time: number): void {
    // Bounded: forgetting is safe (the time is loaded again from Redis), growing without end is not.
    if (this.known.size >= this.maxKnown && !this.known.has(id)) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(id, time);
  }

  private redisKey(id: string): string {
    return this.redisPrefix + id;
  }

  private read(l2: L2Facade, ids: readonly string[]): Promise<(string | null)[]> {
    const client = l2.tier.client;
    const keys = ids.map((id) => this.redisKey(id));
    return l2.tier.clustered ? Promise.all(keys.map((key) => client.get(key))) : client.mget(...keys);
  }

  private async write(times: ReadonlyMap<string, number>): Promise<void> {
    const tier = this.l2!.tier;
    // Keeps the later time when two instances invalidate at once (clocks differ by a few ms).
    await Promise.all([...times].map(([id, time]) => tier.runScript(MAX_SCRIPT, this.redisKey(id), time, this.retentionMs)));
  }
}

const MAX_SCRIPT = script(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`);
