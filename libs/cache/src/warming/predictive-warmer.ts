import type { CachePolicy, Factory, WriteSpec } from '../engine/engine.types';

export interface PredictiveWarmingSettings {
  /** How often candidates are looked at. */
  interval: number;
  /** The most refreshes started per interval: the bound on background work. */
  maxRefreshes: number;
  /** Reads since the entry was (re)filled that make a key worth refreshing. */
  minReads: number;
  /** The most keys whose factory is remembered (the least recently filled are forgotten first). */
  maxKeys: number;
}

export interface TrackedKey {
  readonly factory: Factory<unknown>;
  readonly policy: CachePolicy;
  readonly spec: WriteSpec;
  readonly createdAt: number;
  readonly expiresAt: number;
  reads: number;
}

/**
 * Predictive warming: keys filled through `getOrSet` (so their factory is known) that were read at least
 * `minReads` times since they were filled are refreshed in the background shortly before they expire,
 * even if nobody happens to read them in their last moments (refresh-ahead needs such a read). At most
 * `maxRefreshes` a tick, the most-read first. A refresh fills the key again, which resets its count:
 * a key that stops being read stops being refreshed after one more TTL.
 */
export class PredictiveWarmer {
  private readonly tracked = new Map<string, TrackedKey>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: PredictiveWarmingSettings,
    private readonly now: () => number,
    /** Starts a background refresh; false when one is already running for the key. */
    private readonly refresh: (key: string, tracked: TrackedKey) => boolean,
  ) {}

  /** Called on every fill of a key by its factory (or when a refresh found a newer entry in Redis). */
  remember(key: string, factory: Factory<unknown>, policy: CachePolicy, spec: WriteSpec, createdAt: number, expiresAt: number): void {
    this.tracked.delete(key);
    if (this.tracked.size >= this.settings.maxKeys) {
      const oldest = this.tracked.keys().next();
      if (!oldest.done) this.tracked.delete(oldest.value);
    }
    this.tracked.set(key, { factory, policy, spec, createdAt, expiresAt, reads: 0 });
  }

  /** Called on every hit of `getOrSet` (one map lookup). */
  read(key: string): void {
    const tracked = this.tracked.get(key);
    if (tracked !== undefined) tracked.reads += 1;
  }

  forget(keys: readonly string[]): void {
    for (const key of keys) this.tracked.delete(key);
  }

  /** Looks at the candidates once; returns how many refreshes it started. */
  tick(): number {
    const now = this.now();
    // Anything that would expire before the tick after next is refreshed now.
    const horizon = now + 2 * this.settings.interval;
    const due: Array<[string, TrackedKey]> = [];
    for (const [key, tracked] of this.tracked) {
      if (tracked.expiresAt <= now) this.tracked.delete(key); // missed: the next getOrSet fills it again
      else if (tracked.expiresAt <= horizon && tracked.reads >= this.settings.minReads) due.push([key, tracked]);
    }
    due.sort((a, b) => b[1].reads - a[1].reads);
    let started = 0;
    for (const [key, tracked] of due) {
      if (started >= this.settings.maxRefreshes) break;
      if (this.refresh(key, tracked)) started += 1;
    }
    return started;
  }

  get size(): number {
    return this.tracked.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.settings.interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
