import type { CacheEntry } from '../core/entry';
import type { InvalidationTimesStore } from '../ports/invalidation-times-store';
import type { L2Facade } from '../tiers/l2.facade';

/**
 * O(1) invalidation (see docs/ARCHITECTURE.md): a tag or a namespace is invalidated by recording the
 * time it happened; an entry created at or before any of its ids' times is treated as missing. Nothing
 * is scanned.
 *
 * Times are kept in the shared store (`InvalidationTimesStore`, so every instance and a restarted one
 * see them), every call behind the L2 breaker, and in a local map, so checking an L1 hit costs a map
 * lookup per id. Ids this instance has never seen are loaded from the store once, in one round trip,
 * before an L2 entry carrying them is trusted.
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

  private readonly l2: L2Facade | undefined;

  /** Writes go through the L2 facade (`L2FacadeOptions.writeTimes`), which replays those Redis missed. */
  constructor(
    shared: { l2: L2Facade; store: InvalidationTimesStore } | undefined,
    private readonly maxKnown = 100_000,
  ) {
    this.l2 = shared?.l2;
    this.store = shared?.store;
  }

  private readonly store: InvalidationTimesStore | undefined;

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
    const store = this.store!;
    const found = missing;
    const generation = this.generation;
    const values = await this.l2.guard(() => store.read(found), undefined);
    if (values === undefined) return false;
    // Forgotten meanwhile (a lost bus message): what we read may predate it; do not store it.
    if (generation !== this.generation) return false;
    // Keep the later time: a bus message may have brought a newer one while the read was in flight.
    found.forEach((id, i) => this.apply(id, values[i]));
    return true;
  }

  idsOf(entry: CacheEntry, namespaceId: string): string[] {
    return entry.tags.length === 0 ? [namespaceId] : [namespaceId, ...entry.tags];
  }

  /**
   * Records invalidations now, locally at once and in Redis (replayed later if Redis is down). `sent`:
   * as for `L2Facade.set` (the announcement can go right behind the write).
   */
  async invalidate(ids: readonly string[], now: number, sent?: () => void): Promise<void> {
    const times = new Map<string, number>();
    for (const id of ids) {
      this.remember(id, now);
      times.set(id, now);
    }
    if (this.l2) await this.l2.setTimes(times, sent);
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
    const store = this.store;
    if (this.l2 === undefined || store === undefined) {
      for (const id of ids) if (!this.known.has(id)) this.remember(id, 0);
      return;
    }
    await this.l2.guard(() => store.track(ids, ttlMs), undefined);
  }

  /**
   * Records an invalidation of those ids that something depends on (they were `track`ed), and returns
   * them: deleting a key costs one small script call, and memory only when the key has dependents.
   */
  async invalidateTracked(ids: readonly string[], now: number, tracked?: Promise<boolean[] | undefined>): Promise<Array<[string, number]>> {
    const found = tracked === undefined ? undefined : await tracked;
    // Looked up ahead (`findTracked`): only those found are raised (usually none: no round trip at all).
    if (found !== undefined) ids = ids.filter((_, i) => found[i]);
    if (ids.length === 0) return [];
    const store = this.store;
    if (this.l2 === undefined || store === undefined) {
      const hit = ids.filter((id) => this.known.has(id));
      for (const id of hit) this.remember(id, now);
      return hit.map((id) => [id, now]);
    }
    const results = await this.l2.guard(() => store.raiseTracked(ids, now), undefined);
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
      if (!results[i]) return;
      this.apply(id, now);
      applied.push([id, now]);
    });
    return applied;
  }

  /**
   * Which of the ids are tracked, looked up ahead of the change they belong to (so the lookup can travel
   * with the write: see `EntryWriter.set`), to hand to `invalidateTracked` once the change is made:
   * raising a record to time 0 changes nothing and says whether it exists. Undefined when the store did
   * not answer (`invalidateTracked` then asks again).
   */
  findTracked(ids: readonly string[]): Promise<boolean[] | undefined> {
    const store = this.store;
    if (this.l2 === undefined || store === undefined) return Promise.resolve(ids.map((id) => this.known.has(id)));
    return this.l2.guard(() => store.raiseTracked(ids, 0), undefined);
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
}
