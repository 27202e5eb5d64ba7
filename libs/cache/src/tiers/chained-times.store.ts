import type { InvalidationTimesStore } from '../ports/invalidation-times-store';
import type { KeyScanner, ScanOptions, ScanProgress } from '../ports/key-scanner';
import type { ColdGuard } from './cold.guard';

/**
 * Invalidation times in Redis and in the cold store. Reads come from Redis (the engine's own check);
 * the cold store needs every time too, since its reads refuse invalidated rows by themselves and Redis
 * may lose its copy. Times and records are sent even while the cold circuit is open (another instance
 * may be reading the rows they cover); one that fails is replayed by the guard, which keeps the cold tier
 * unread here until then. Redis failures reject, as without a cold tier.
 *
 * Dependency records (`dep:<key>`) are the exception: only those of a cold cache's keys reach the cold
 * store. `dependsOn` names keys of the dependent's own view (`KeySpace.key`), so a `dep:` id and every
 * entry that carries it belong to one named cache: when that cache is not cold, no cold row carries the
 * id and Redis alone answers for it (a write of a Redis-only cache never waits on PostgreSQL). Tag and
 * namespace times span caches, so every one of them reaches both stores.
 */
export class ChainedTimesStore implements InvalidationTimesStore {
  constructor(
    private readonly hot: InvalidationTimesStore,
    private readonly cold: InvalidationTimesStore,
    private readonly guard: ColdGuard,
    /** True for a `dep:` id that names a key of a cold cache (see the class comment). */
    private readonly isColdDependency: (id: string) => boolean,
  ) {}

  read(ids: readonly string[]): Promise<number[]> {
    return this.hot.read(ids);
  }

  async writeMax(times: ReadonlyMap<string, number>, retentionMs: number): Promise<void> {
    await Promise.all([
      this.hot.writeMax(times, retentionMs),
      this.guard.force(() => this.cold.writeMax(times, retentionMs), () => this.guard.rememberTimes(times, retentionMs)),
    ]);
  }

  async track(ids: readonly string[], ttlMs: number): Promise<void> {
    const cold = ids.filter(this.isColdDependency);
    if (cold.length === 0) return this.hot.track(ids, ttlMs);
    await Promise.all([this.hot.track(ids, ttlMs), this.guard.force(() => this.cold.track(cold, ttlMs), () => this.guard.rememberTracks(cold, ttlMs))]);
  }

  /**
   * Tracked in either store counts: after a Redis flush only the cold store still knows a dependency.
   * When the cold store cannot answer, every id it was asked about counts as tracked (the engine then
   * announces a time for each, which costs messages, never a stale dependent) and the times are replayed
   * into it later. Only ids of cold caches are asked about (see the class comment).
   */
  raiseTracked(ids: readonly string[], time: number): Promise<boolean[]> {
    const cold = ids.filter(this.isColdDependency);
    if (cold.length === 0) return this.hot.raiseTracked(ids, time);
    return this.raiseBoth(ids, cold, time);
  }

  private async raiseBoth(ids: readonly string[], coldIds: readonly string[], time: number): Promise<boolean[]> {
    const [hot, cold] = await Promise.all([
      this.hot.raiseTracked(ids, time),
      this.guard.call(() => this.cold.raiseTracked(coldIds, time), undefined),
    ]);
    if (cold === undefined) this.guard.rememberTimes(new Map(coldIds.map((id) => [id, time])), 0);
    const inCold = new Set(cold === undefined ? coldIds : coldIds.filter((_, i) => cold[i]));
    return hot.map((tracked, i) => tracked || inCold.has(ids[i]));
  }
}

/**
 * Pattern invalidation over both stores: the cold one first (as deletes are), then Redis. A pattern that
 * can only match keys of a cache without the cold tier goes to Redis alone.
 */
export class ChainedKeyScanner implements KeyScanner {
  constructor(
    private readonly hot: KeyScanner,
    private readonly cold: KeyScanner,
    private readonly guard: ColdGuard,
    /** False when no key the pattern matches can be a cold cache's. */
    private readonly mayMatchCold: (pattern: string) => boolean,
  ) {}

  async deleteMatching(pattern: string, options: ScanOptions, progress: ScanProgress): Promise<void> {
    if (!this.mayMatchCold(pattern)) return this.hot.deleteMatching(pattern, options, progress);
    const cold = { removed: 0 };
    await this.guard.change(() => this.cold.deleteMatching(pattern, options, cold), () => this.guard.rememberPattern(pattern));
    await this.hot.deleteMatching(pattern, options, progress);
  }
}
