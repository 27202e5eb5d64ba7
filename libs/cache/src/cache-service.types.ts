import type { Duration } from './core/durations';
import type { FactoryTimeoutOptions } from './resilience/resilience.options';

/** Per-call options of `set`, `getOrSet` and `setMany`. Anything left out comes from the cache's policy. */
export interface SetOptions<T = unknown> {
  /**
   * How long the value is fresh: milliseconds or a string like `'10m'`, or a function of the value
   * (adaptive TTL), e.g. `(answer) => (answer.confidence > 0.9 ? '24h' : '1h')`.
   */
  ttl?: Duration | ((value: T) => Duration) | undefined;
  /** How long after `ttl` a stale copy may still be served while it is refreshed. */
  grace?: Duration | undefined;
  /** Tags to invalidate the value by, with `invalidateTags`. */
  tags?: readonly string[] | undefined;
  /**
   * Keys of this view the value was computed from: deleting or overwriting one of them (or invalidating
   * what they depend on, transitively) invalidates this value too.
   */
  dependsOn?: readonly string[] | undefined;
}

/** Options of `getOrSet`: those of `set`, this call's factory timeouts, and two that look at the factory's result before it is stored. */
export interface GetOrSetOptions<T = unknown> extends SetOptions<T> {
  /** Overrides the cache's `timeouts` for this call. */
  timeouts?: FactoryTimeoutOptions | undefined;
  /** Overrides the cache's `refreshAhead` for this call (`false`: a hit near its end is not refreshed). */
  refreshAhead?: number | false | undefined;
  /** Called with the factory's result: true hands it back to every waiting caller without storing it. */
  unless?: ((value: T) => boolean) | undefined;
  /** Tags derived from the factory's result, added to `tags` (called after `unless`, only when storing). */
  tagsOf?: ((value: T) => readonly string[]) | undefined;
}

export interface SetManyItem<T = unknown> extends SetOptions<T> {
  key: string;
  value: T;
}
