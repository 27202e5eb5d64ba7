import type { Duration } from '../core/durations';

/**
 * The arguments the functions of a cache decorator receive: the method's arguments on a provider
 * method; `[request]` on a controller route handler (read by `CacheInterceptor`).
 *
 * The option types take the argument and result types as parameters. They default to `never`, so a
 * function with any parameters fits (annotate them: `key: (id: string, ctx: Ctx) => ...`); name them
 * to have the options checked against your method: `satisfies CacheableOptions<[string, Ctx], Score[]>`.
 */
export type CacheArgs = unknown[];

/**
 * A key: a template such as `'{0}:{1.id}'` (argument 0, then the `id` property of argument 1; strings
 * and numbers are inserted as they are, anything else as a stable hash), a literal key, or a function.
 */
export type CacheKeySource<A extends CacheArgs = never[]> = string | ((...args: A) => string);

/** Keys to evict: like a key, or a function that returns several. */
export type CacheKeysSource<A extends CacheArgs = never[]> = CacheKeySource<A> | ((...args: A) => readonly string[]);

/** Tags: a literal tag, tags from the arguments, or tags from the result (`{ fromResult }`). */
export type CacheTagSource<A extends CacheArgs = never[], R = never> =
  | string
  | ((...args: A) => string | readonly string[])
  | { fromResult: (result: R, ...args: A) => string | readonly string[] };

/** Who a cached route response belongs to (see `CacheableOptions.per`). */
export type CacheOwner = 'user' | 'tenant' | ((request: never) => string | undefined);

export interface CacheableOptions<A extends CacheArgs = never[], R = never> {
  /** The key within the cache. Default: `Class.method:` + a stable hash of the arguments. */
  key?: CacheKeySource<A> | undefined;
  /** How long the result is fresh. Default: the cache's `ttl`. */
  ttl?: Duration | undefined;
  /** How long after `ttl` a stale result may be served while it is refreshed. Default: the cache's `grace`. */
  grace?: Duration | undefined;
  /** A named cache (`caches: { [name]: ... }`): its policy and its entries. Default: the default cache. */
  name?: string | undefined;
  /** Checked before the call: false calls straight through, nothing is read or stored. */
  condition?: ((...args: A) => boolean) | undefined;
  /** Checked after the call with its result: true returns the result without storing it. */
  unless?: ((result: R, ...args: A) => boolean) | undefined;
  /** Tags of the stored entry (added to those of `@CacheTags`). */
  tags?: CacheTagSource<A, R> | readonly CacheTagSource<A, R>[] | undefined;
  /** Routes only: request headers whose values are part of the key (and of the `Vary` response header). */
  vary?: readonly string[] | undefined;
  /**
   * Routes only: the response depends on who asks. `'user'` keys it by `req.user.id` (or `.sub`),
   * `'tenant'` by the request's tenant, a function by what it returns. Requests with `Authorization` or
   * `Cookie` are cached only on such routes, and never when the owner cannot be told.
   */
  per?: CacheOwner | undefined;
}

export interface CachePutOptions<A extends CacheArgs = never[], R = never>
  extends Omit<CacheableOptions<A, R>, 'key' | 'vary' | 'per'> {
  /** The key the result is stored under (the key of the `@Cacheable` it refreshes). */
  key: CacheKeySource<A>;
}

export interface CacheEvictOptions<A extends CacheArgs = never[], R = never> {
  /** Keys to delete: templates, literal keys, or functions (a function may return several). */
  keys?: CacheKeysSource<A> | readonly CacheKeysSource<A>[] | undefined;
  /** Tags to invalidate. */
  tags?: CacheTagSource<A, R> | readonly CacheTagSource<A, R>[] | undefined;
  /** A glob over the cache's keys (`*`, `?`); values a template inserts are matched literally. */
  pattern?: CacheKeySource<A> | undefined;
  /** Invalidate the whole namespace of the cache (for the current tenant). */
  all?: boolean | undefined;
  /** The named cache to evict from. Default: the default cache. */
  name?: string | undefined;
  /** Evict before the call (even if it throws) instead of after it succeeded. Default false. */
  beforeInvocation?: boolean | undefined;
  /** Checked before the call: false skips the eviction. */
  condition?: ((...args: A) => boolean) | undefined;
}

/** Options of `@CacheWarmer`. Every one is checked at startup; a mistake fails the boot, naming `Class.method`. */
export interface CacheWarmerOptions {
  /** Run once when the application starts (`onApplicationBootstrap`). Default `true`. */
  onBootstrap?: boolean | undefined;
  /** Run again on this interval (`'10m'`, or milliseconds). Default: never (bootstrap only). */
  every?: Duration | undefined;
  /** The named cache the entries go to (`caches: { [name]: ... }`). Default: the default cache. */
  name?: string | undefined;
  /** Entries warmed at once, at most. Default `4`. */
  concurrency?: number | undefined;
  /**
   * Refresh keys that are already cached and fresh. Default: `false` for the bootstrap run (an instance
   * that restarts fills only what is missing, and its L1 from Redis), `true` for interval runs
   * (refreshing is what they are for).
   */
  force?: boolean | undefined;
  /**
   * Make application startup wait for the bootstrap run. Default `false`: a slow warmer never delays
   * startup or the health check. Even when blocking, a failing warmer is logged and counted, never thrown.
   */
  blocking?: boolean | undefined;
  /**
   * With Redis: one instance of the cluster runs each interval's run (a Redis lease, `SET NX PX`, for
   * the interval); the others skip it. If Redis cannot be reached, every instance runs it. Bootstrap
   * runs are never exclusive (each instance fills its own L1). Default `true`.
   */
  exclusive?: boolean | undefined;
}
