import type { GetOrSetOptions, SetManyItem, SetOptions } from './cache-service.types';
import type { CacheStack } from './cache.stack';
import type { ResolvedNamedCache } from './cache.options';
import { type Duration, toMs } from './core/durations';
import type { CacheEntry } from './core/entry';
import { KeySpace } from './core/keys';
import type { CachePolicy, Factory, GetOrSetResult, WriteSpec } from './engine/engine.types';
import type { CacheEvents } from './observability/events';
import type { CacheStats } from './observability/stats';
import type { TenantContext } from './tenancy/tenant-context';
import { type FactoryTimeoutOptions, resolveTimeouts } from './resilience/resilience.options';
import { type WarmEntries, type WarmOptions, type WarmResult, warmEntries } from './warming/warm';
import { InvalidArgumentError, InvalidKeyError } from './core/errors';

export type { GetOrSetOptions, SetManyItem, SetOptions } from './cache-service.types';

/** Tenant views kept per view: enough for every active tenant, bounded so ids from requests cannot grow it. */
const TENANT_VIEWS_KEPT = 1024;

interface ViewScope {
  namespace: string;
  name: string;
  tenant?: string;
}

/**
 * The cache, as a provider sees it. The injected `CacheService` is the default cache of the module's
 * namespace; `namespace()`, `forTenant()` and `cache()` return views that share the same tiers.
 * Every method degrades instead of failing on a cache fault (Redis down, a value that cannot be
 * serialized), unless the module was configured with `strict: true`.
 *
 * Inside a tenant scope (a request with tenancy on, or `TenantContext.run`), a view that was not pinned
 * to a tenant with `forTenant()` works on the current tenant's keys: it hands each call to a cached
 * tenant view, so the cost is one `AsyncLocalStorage` lookup and one map lookup.
 */
export class CacheService {
  private readonly keys: KeySpace;
  private readonly policy: CachePolicy;
  private readonly named: ResolvedNamedCache;
  /** Set on views that follow the current tenant (those not pinned with `forTenant`). */
  private readonly tenants: TenantContext | undefined;
  private tenantViews: Map<string, CacheService> | undefined;

  constructor(
    private readonly stack: CacheStack,
    private readonly scope: ViewScope,
  ) {
    const options = stack.options;
    this.named = stack.policyOf(scope.name);
    this.tenants = scope.tenant === undefined ? stack.tenants : undefined;
    this.keys = new KeySpace(
      { prefix: options.prefix, namespace: scope.namespace, tenant: scope.tenant, name: scope.name, version: this.named.version },
      options.maxKeyLength,
      options.hashKeys,
    );
    stack.noteNamespace(this.keys.namespaceId);
    this.policy = {
      ttl: this.named.ttl,
      grace: this.named.grace,
      useL1: this.named.useMemory,
      useL2: this.named.useRedis,
      namespaceId: this.keys.namespaceId,
      codec: stack.codec(this.named.compressThreshold, this.named.compression),
      name: scope.name,
      counters: stack.telemetry.counters(scope.name),
      failSafe: this.named.failSafe,
      timeouts: this.named.timeouts,
      ttlJitter: this.named.ttlJitter,
      refreshAhead: this.named.refreshAhead,
    };
  }

  /** The stack's events (shared by every view): `cache.events.on('miss', ({ cache, key }) => …)`. */
  get events(): CacheEvents {
    return this.stack.telemetry.events;
  }

  /** The cached value, or undefined when there is none (or it is stale or invalidated). */
  get<T>(key: string): Promise<T | undefined> {
    const view = this.route();
    try {
      return this.stack.engine.get<T>(view.keys.key(key), view.policy);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The cached entry (value, `createdAt`, `expiresAt`, `staleUntil`, tags), or undefined when there is
   * none (or it is stale or invalidated). For tools that need an entry's remaining lifetime.
   */
  getEntry<T>(key: string): Promise<CacheEntry<T> | undefined> {
    const view = this.route();
    try {
      return this.stack.engine.getEntry<T>(view.keys.key(key), view.policy).then(publicEntry);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The value if L1 holds it fresh right now, synchronously; otherwise undefined, and `get` (which also
   * asks Redis) is the way on. For hot paths that can answer without a promise when L1 has the value.
   */
  peek<T>(key: string): T | undefined {
    const view = this.route();
    return this.stack.engine.peek<T>(view.keys.key(key), view.policy);
  }

  /** Stores a value. Resolves false when it was not cached (not serializable, too large). */
  async set<T>(key: string, value: T, options?: SetOptions<T>): Promise<boolean> {
    const view = this.route();
    return this.stack.engine.set(view.keys.key(key), value, view.policy, view.spec(options));
  }

  /** Removes keys from every tier. */
  async delete(keys: string | readonly string[]): Promise<void> {
    const view = this.route();
    const list = typeof keys === 'string' ? [keys] : keys;
    return this.stack.engine.delete(list.map((key) => view.keys.key(key)), view.policy);
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  /**
   * The cached value, or the factory's result, which is then stored. Concurrent callers of one missing
   * key share a single factory run; if it throws, they all get the error and nothing is stored.
   */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions<T>): Promise<T> {
    const view = this.route();
    // Not `async`: a hit must not pay for an extra promise. Bad input still rejects, never throws.
    try {
      return this.stack.engine.getOrSet(view.keys.key(key), factory, view.policy, view.spec(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Values in the order of `keys`; the ones L1 lacks are read from Redis in one round trip. */
  /**
   * `getOrSet` that tells how it answered: `{ value, status: 'hit' | 'stale' | 'miss', tier: 'l1' | 'l2' |
   * 'factory', age }` (age: ms since the entry was created). Same sharing, refresh and fail-safe rules.
   */
  getOrSetWithStatus<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions<T>): Promise<GetOrSetResult<T>> {
    const view = this.route();
    try {
      return this.stack.engine.getOrSetWithStatus(view.keys.key(key), factory, view.policy, view.spec(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const view = this.route();
    return this.stack.engine.getMany<T>(keys.map((key) => view.keys.key(key)), view.policy);
  }

  /** Stores several values; Redis receives them in one round trip. */
  async setMany(items: ReadonlyArray<SetManyItem>): Promise<void> {
    const view = this.route();
    return this.stack.engine.setMany(
      items.map((item) => ({ key: view.keys.key(item.key), value: item.value, spec: view.spec(item) })),
      view.policy,
    );
  }

  /**
   * Adds `by` to a counter atomically and returns the new value. The counter expires `ttl` after the
   * call that created it (a fixed window, enough for a rate limiter). With Redis unreachable it counts
   * in this process.
   */
  async increment(key: string, by = 1, options?: { ttl?: Duration }): Promise<number> {
    const view = this.route();
    if (!Number.isSafeInteger(by)) throw new InvalidArgumentError(`increment takes a whole number, e.g. 1 or -1; got ${by}`);
    const ttl = options?.ttl === undefined ? view.policy.ttl : toMs(options.ttl, 'ttl');
    return this.stack.engine.increment(view.keys.counterKey(key), by, ttl, view.policy);
  }

  /** Invalidates every entry carrying one of these tags, in O(1) per tag, whatever their number. */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    const view = this.route();
    return this.stack.engine.invalidate(tags.map((tag) => view.keys.tagId(tag)), view.policy);
  }

  /** Invalidates every entry of this view's namespace (and tenant), in O(1). */
  async clear(): Promise<void> {
    const view = this.route();
    return this.stack.engine.invalidate([view.keys.namespaceId], view.policy);
  }

  /**
   * Removes this view's entries whose key matches a glob (`*` any run, `?` one character, a backslash
   * makes the next character literal; every other character is literal, so caller input can never
   * widen it — wrap inserted values with `globLiteral`): `SCAN MATCH` in batches + `UNLINK` on
   * every master, and every instance drops its L1 copies. Cost: a walk of the whole keyspace, so use
   * tags for anything on a hot path. Resolves with how many entries were removed from Redis.
   */
  async invalidatePattern(glob: string): Promise<number> {
    const view = this.route();
    if (typeof glob !== 'string' || glob.length === 0) {
      throw new InvalidArgumentError(`invalidatePattern takes a non-empty glob such as 'user:42:*'; got ${glob === '' ? 'an empty string' : typeof glob}`);
    }
    const keys = view.keys;
    return this.stack.engine.invalidatePattern(keys.pattern(glob), (full) => keys.isCounterKey(full), view.policy);
  }

  /**
   * Schedules an invalidation: at `when`, the keys are deleted (or the tags invalidated) on every
   * instance. Kept in Redis, so it survives restarts; applied within `invalidation.pollInterval`.
   */
  async expireAt(target: string | readonly string[] | { tags: readonly string[] }, when: Date | number): Promise<void> {
    const view = this.route();
    const at = when instanceof Date ? when.getTime() : when;
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new InvalidArgumentError(`expireAt takes a Date or epoch milliseconds (e.g. Date.now() + 60_000); got ${String(when)}`);
    }
    const scheduled =
      typeof target === 'object' && 'tags' in target
        ? { ids: target.tags.map((tag) => view.keys.tagId(tag)) }
        : { keys: (typeof target === 'string' ? [target] : target).map((key) => view.keys.key(key)) };
    return this.stack.schedule.schedule(scheduled, at);
  }

  /**
   * Fills the cache ahead of demand: each entry's factory runs (or its value is stored) unless the key is
   * already cached and fresh (`force: true` refreshes it anyway), with at most `concurrency` at once.
   * A failing entry does not stop the others; it is reported in the result. `entries` may be an array or
   * an (async) iterable: entries are pulled as workers free up, so a large set is never all in memory.
   */
  warm(entries: WarmEntries, options?: WarmOptions): Promise<WarmResult> {
    const view = this.route();
    return warmEntries(entries, options, {
      getOrSet: (key, factory, set) => this.getOrSet(key, factory, set),
      recompute: (key, factory, set) => this.stack.engine.recompute(view.keys.key(key), factory, view.policy, view.spec(set)),
    });
  }

  /** A view on another namespace, with the same cache name and tenant. */
  namespace(namespace: string): CacheService {
    return new CacheService(this.stack, { ...this.scope, namespace });
  }

  /** A view whose keys, tags and namespace clears belong to one tenant (for work outside a request). */
  forTenant(tenant: string): CacheService {
    if (typeof tenant !== 'string' || tenant.length === 0) {
      throw new InvalidKeyError('a tenant id', tenant);
    }
    return new CacheService(this.stack, { ...this.scope, tenant });
  }

  /** The view of a named cache, with that cache's policy. */
  cache(name: string): CacheService {
    return new CacheService(this.stack, { ...this.scope, name });
  }

  /** The full Redis key a caller key maps to in this view (for debugging and tooling). */
  keyOf(key: string): string {
    const view = this.route();
    return view.keys.key(key);
  }

  /** The tenant this view works for right now: its pinned tenant, or the current scope's. */
  get tenant(): string | undefined {
    return this.scope.tenant ?? this.tenants?.current();
  }

  /** Totals over every cache name, per cache name (`caches`), latency percentiles per tier, and advice. */
  stats(): CacheStats {
    return this.stack.stats();
  }

  /** This view, or the view of the current tenant when this one follows the tenant scope. */
  private route(): CacheService {
    const tenant = this.tenants?.current();
    return tenant === undefined ? this : this.tenantView(tenant);
  }

  private tenantView(tenant: string): CacheService {
    const views = (this.tenantViews ??= new Map());
    let view = views.get(tenant);
    if (view === undefined) {
      view = this.forTenant(tenant);
      if (views.size >= TENANT_VIEWS_KEPT) views.delete(views.keys().next().value as string);
      views.set(tenant, view);
    }
    return view;
  }

  private spec<T>(options: GetOrSetOptions<T> | undefined): WriteSpec {
    if (options === undefined) return { ttl: this.policy.ttl, grace: this.policy.grace, tagIds: [] };
    const ttl = options.ttl;
    const spec: WriteSpec = {
      ttl: ttl === undefined ? this.policy.ttl : typeof ttl === 'function' ? (value) => toMs(ttl(value as T), 'ttl') : toMs(ttl, 'ttl'),
      grace: options.grace === undefined ? this.policy.grace : toMs(options.grace, 'grace', { allowZero: true }),
      tagIds: options.tags === undefined ? [] : options.tags.map((tag) => this.keys.tagId(tag)),
      timeouts: options.timeouts === undefined ? undefined : resolveTimeouts(options.timeouts, 'timeouts', this.policy.timeouts),
      dependsOn: options.dependsOn === undefined ? undefined : options.dependsOn.map((key) => this.keys.key(key)),
      refreshAhead: refreshAheadOf(options.refreshAhead),
    };
    const { unless, tagsOf } = options;
    if (unless === undefined && tagsOf === undefined) return spec;
    return {
      ...spec,
      settle: (value) => {
        if (unless?.(value as T)) return undefined;
        if (tagsOf === undefined) return spec;
        return { ...spec, tagIds: [...spec.tagIds, ...tagsOf(value as T).map((tag) => this.keys.tagId(tag))] };
      },
    };
  }
}

/** A call's `refreshAhead`: a fraction in [0, 1), or false (off); undefined: the cache's. */
function refreshAheadOf(value: number | false | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === false) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new InvalidArgumentError(`refreshAhead must be a fraction from 0 to 1 (or false); got ${String(value)}`);
  return value;
}

/**
 * What `getEntry` hands out: the entry's value, times and tags in a frozen object of their own. The
 * engine's entry is L1's live record (with bookkeeping beside those fields): changing it would change the
 * entry for every caller, and serializing it would show the bookkeeping.
 */
function publicEntry<T>(entry: CacheEntry<T> | undefined): CacheEntry<T> | undefined {
  if (entry === undefined) return undefined;
  const { value, createdAt, expiresAt, staleUntil, tags } = entry;
  return Object.freeze({ value, createdAt, expiresAt, staleUntil, tags });
}
