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
  /**
   * False while the bus is down: known times may miss invalidations made elsewhere, so every load
   * reads them again from Redis instead of trusting the map.
   */
  trusted = true;
  /** The latest invalidation time made or applied here (see `TieredCache.writeTime`). */
  latest = 0;
  /** Bumped by `forget()`, so a load that was in flight then cannot store what it read before. */
  private generation = 0;

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
   * True when the times of the entry's namespace and tags are all known and trusted, so `isCurrent`
   * can answer without `load` (the hot path of an L2 hit: no array, no promise).
   */
  knowsAll(entry: CacheEntry, namespaceId: string): boolean {
    if (this.l2 === undefined) return true;
    if (!this.trusted || !this.known.has(namespaceId)) return false;
    const tags = entry.tags;
    for (let i = 0; i < tags.length; i++) if (!this.known.has(tags[i])) return false;
    return true;
  }

  /**
   * Makes sure the times of these ids are known locally, loading the missing ones from Redis.
   * Resolves false when they could not be loaded: the caller must then not trust an L2 entry.
   */
  async load(ids: readonly string[]): Promise<boolean> {
    if (this.l2 === undefined) return true;
    let missing: string[] | undefined;
    if (!this.trusted) missing = ids.length === 0 ? undefined : [...ids];
    else for (const id of ids) if (!this.known.has(id)) (missing ??= []).push(id);
    if (missing === undefined) return true;
    const l2 = this.l2;
    const found = missing;
    const generation = this.generation;
    const values = await l2.guard(() => this.read(l2, found), undefined);
    if (values === undefined) return false;
    // Forgotten meanwhile (a lost bus message): what we read may predate it; do not store it.
    if (generation !== this.generation) return false;
    // Keep the later time: a bus message may have brought a newer one while the read was in flight.
    found.forEach((id, i) => this.apply(id, Number(values[i] ?? 0) || 0));
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
    this.generation += 1;
  }

  /**
   * Makes sure a dependency id (`dep:<key>`) has a record in Redis for at least `ttlMs`, so that deleting
   * the key it names records a time (see `invalidateTracked`). Keys nobody depends on never get one.
   */
  async track(ids: readonly string[], ttlMs: number): Promise<void> {
    if (ids.length === 0) return;
    if (this.l2 === undefined) {
      for (const id of ids) if (!this.known.has(id)) this.remember(id, 0);
      return;
    }
    const tier = this.l2.tier;
    await this.l2.guard(() => Promise.all(ids.map((id) => tier.runScript(TRACK_SCRIPT, this.redisKey(id), Math.ceil(ttlMs)))), undefined);
  }

  /**
   * Records an invalidation of those ids that something depends on (they were `track`ed), and returns
   * them: deleting a key costs one small script call, and memory only when the key has dependents.
   */
  async invalidateTracked(ids: readonly string[], now: number): Promise<Array<[string, number]>> {
    if (ids.length === 0) return [];
    if (this.l2 === undefined) {
      const hit = ids.filter((id) => this.known.has(id));
      for (const id of hit) this.remember(id, now);
      return hit.map((id) => [id, now]);
    }
    const l2 = this.l2;
    const tier = l2.tier;
    // One MGET finds the few ids that are tracked; only those get the script. Safe against a dependent
    // that tracks K just after the MGET: it tracks before its factory runs, and by then K is already
    // deleted or holds its new value, so that dependent cannot have read the old one.
    const results = await l2.guard(async () => {
      const existing = await this.read(l2, ids);
      return Promise.all(ids.map((id, i) => (existing[i] === null ? 0 : tier.runScript(MAX_IF_TRACKED_SCRIPT, this.redisKey(id), now))));
    }, undefined);
    if (results === undefined) {
      // Redis unreachable: whether they are tracked is unknown, so record them all, locally now and in
      // Redis once it answers (the facade replays them); it costs a record for the outage only.
      const times = new Map(ids.map((id) => [id, now] as const));
      for (const id of ids) this.apply(id, now);
      await this.l2.setTimes(times);
      return [...times];
    }
    const applied: Array<[string, number]> = [];
    ids.forEach((id, i) => {
      if (Number(results[i]) !== 1) return;
      this.apply(id, now);
      applied.push([id, now]);
    });
    return applied;
  }

  private remember(id: string, time: number): void {
    // Bounded: forgetting is safe (the time is loaded again from Redis), growing without end is not.
    if (this.known.size >= this.maxKnown && !this.known.has(id)) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(id, time);
    if (time > this.latest) this.latest = time;
  }

  private redisKey(id: string): string {
    return this.redisPrefix + id;
  }

  private read(l2: L2Facade, ids: readonly string[]): Promise<(string | null)[]> {
    const client = l2.tier.client;
    const keys = ids.map((id) => this.redisKey(id));
    return l2.tier.clustered ? Promise.all(keys.map((key) => client.get(key))) : client.mget(...keys);
  }

  /**
   * Keeps the later time when two instances invalidate at once (clocks differ by a few ms). Many times at
   * once (a replay after an outage) go 500 to a script call, so they take a few round trips, not
   * thousands of commands that would outlast the command timeout; a Cluster's keys are in different
   * slots, so there it is one call per id, 100 at a time.
   */
  private async write(times: ReadonlyMap<string, number>): Promise<void> {
    const tier = this.l2!.tier;
    const all = [...times];
    if (tier.clustered) {
      for (let i = 0; i < all.length; i += 100) {
        await Promise.all(all.slice(i, i + 100).map(([id, time]) => tier.runScript(MAX_SCRIPT, this.redisKey(id), time, this.retentionMs)));
      }
      return;
    }
    for (let i = 0; i < all.length; i += 500) {
      const chunk = all.slice(i, i + 500);
      await tier.evalKeys(MAX_MANY_SCRIPT, chunk.map(([id]) => this.redisKey(id)), [this.retentionMs, ...chunk.map(([, time]) => time)]);
    }
  }
}

// A dependency record: created with time 0, its TTL only ever extended (it must outlive every dependent).
const TRACK_SCRIPT = script(`
if redis.call('SET', KEYS[1], '0', 'NX', 'PX', ARGV[1]) then return 1 end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`);
// Like MAX_SCRIPT, but only where a dependency record exists; keeps its TTL.
const MAX_IF_TRACKED_SCRIPT = script(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if tonumber(ARGV[1]) > tonumber(cur) then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
return 1`);
// MAX_SCRIPT over several keys (one slot: standalone or Sentinel). ARGV[1] the retention, then a time per key.
const MAX_MANY_SCRIPT = script(`
for i, key in ipairs(KEYS) do
  local cur = tonumber(redis.call('GET', key) or '0')
  if tonumber(ARGV[i + 1]) > cur then redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1]) end
end
return 1`);
const MAX_SCRIPT = script(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`);
