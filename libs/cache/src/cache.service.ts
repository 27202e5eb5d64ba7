import type { CacheStack } from './cache.stack';
import type { ResolvedNamedCache } from './cache.options';
import { type Duration, toMs } from './core/durations';
import { KeySpace } from './core/keys';
import type { CachePolicy, Factory, WriteSpec } from './core/tiered-cache';
import { patternRegExp, unlinkMatching } from './invalidation/pattern-scan';
import { type CacheStats, rate } from './observability/stats';
import type { TenantContext } from './tenancy/tenant-context';

/** Per-call options of `set`, `getOrSet` and `setMany`. Anything left out comes from the cache's policy. */
export interface SetOptions {
  /** How long the value is fresh: milliseconds or a string like `'10m'`. */
  ttl?: Duration;
  /** How long after `ttl` a stale copy may still be served while it is refreshed. */
  grace?: Duration;
  /** Tags to invalidate the value by, with `invalidateTags`. */
  tags?: readonly string[];
}

/** Options of `getOrSet`: those of `set`, and two that look at the factory's result before it is stored. */
export interface GetOrSetOptions<T = unknown> extends SetOptions {
  /** Called with the factory's result: true hands it back to every waiting caller without storing it. */
  unless?: (value: T) => boolean;
  /** Tags derived from the factory's result, added to `tags` (called after `unless`, only when storing). */
  tagsOf?: (value: T) => readonly string[];
}

export interface SetManyItem<T = unknown> extends SetOptions {
  key: string;
  value: T;
}

interface ViewScope {
  namespace: string;
  name: string;
  tenant?: string;
}

/** Tenant views kept per view: enough for every active tenant, bounded so ids from requests cannot grow it. */
const TENANT_VIEWS_KEPT = 1024;

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
      { prefix: options.prefix, namespace: scope.namespace, tenant: scope.tenant, name: scope.name },
      options.maxKeyLength,
      options.hashKeys,
    );
    this.policy = {
      ttl: this.named.ttl,
      grace: this.named.grace,
      useL1: this.named.useMemory,
      useL2: this.named.useRedis,
      namespaceId: this.keys.namespaceId,
      codec: stack.codec(this.named.compressThreshold),
    };
  }

  /** The cached value, or undefined when there is none (or it is stale or invalidated). */
  get<T>(key: string): Promise<T | undefined> {
    const view = this.route();
    let full: string;
    try {
      full = view.keys.key(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.stack.engine.get<T>(full, view.policy);
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
  async set<T>(key: string, value: T, options?: SetOptions): Promise<boolean> {
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
    // Not `async`: a hit must not pay for an extra promise. Bad input still rejects, never throws.
    const view = this.route();
    try {
      return this.stack.engine.getOrSet(view.keys.key(key), factory, view.policy, view.spec(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Values in the order of `keys`; the ones L1 lacks are read from Redis in one round trip. */
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
    if (!Number.isSafeInteger(by)) throw new TypeError(`Strata cache: increment takes a whole number; got ${by}`);
    const view = this.route();
    const ttl = options?.ttl === undefined ? view.policy.ttl : toMs(options.ttl, 'ttl');
    return this.stack.engine.increment(view.keys.counterKey(key), by, ttl, view.policy);
  }

  /** Invalidates every entry carrying one of these tags, in O(1) per tag, whatever their number. */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    const view = this.route();
    return this.stack.engine.invalidate(tags.map((tag) => view.keys.tagId(tag)));
  }

  /** Invalidates every entry of this view's namespace (and tenant), in O(1). */
  async clear(): Promise<void> {
    return this.stack.engine.invalidate([this.route().keys.namespaceId]);
  }

  /**
   * Removes this view's keys matching a glob (`*`, `?`; a backslash makes the next character literal) from L1
   * and Redis (SCAN + UNLINK, every master of a Cluster). Returns how many Redis keys were removed.
   * Costs a scan of the keyspace: prefer tags for anything on a request path.
   */
  async invalidatePattern(glob: string): Promise<number> {
    const pattern = this.route().keys.pattern(glob);
    const { l1, l2 } = this.stack;
    if (l1) {
      const matches = patternRegExp(pattern);
      for (const key of [...l1.keys()]) if (matches.test(key)) l1.remove(key);
    }
    if (l2 === undefined || !this.named.useRedis) return 0;
    return l2.guard(() => unlinkMatching(l2.tier.client, l2.tier.clustered, pattern), 0);
  }

  /** A view on another namespace, with the same cache name and tenant. */
  namespace(namespace: string): CacheService {
    return new CacheService(this.stack, { ...this.scope, namespace });
  }

  /** A view whose keys, tags and namespace clears belong to one tenant (for work outside a request). */
  forTenant(tenant: string): CacheService {
    if (typeof tenant !== 'string' || tenant.length === 0) {
      throw new TypeError(`Strata cache: a tenant id must be a non-empty string; got ${tenant === '' ? 'an empty string' : typeof tenant}`);
    }
    return new CacheService(this.stack, { ...this.scope, tenant });
  }

  /** The view of a named cache, with that cache's policy. */
  cache(name: string): CacheService {
    return new CacheService(this.stack, { ...this.scope, name });
  }

  /** The full Redis key a caller key maps to in this view (for debugging and tooling). */
  keyOf(key: string): string {
    return this.route().keys.key(key);
  }

  /** The tenant this view works for right now: its pinned tenant, or the current scope's. */
  get tenant(): string | undefined {
    return this.scope.tenant ?? this.tenants?.current();
  }

  stats(): CacheStats {
    const c = this.stack.counters;
    const l1 = this.stack.l1;
    return {
      hits: c.hits,
      misses: c.misses,
      hitRate: rate(c.hits, c.misses),
      l1: {
        hits: c.l1Hits,
        misses: c.l1Misses,
        hitRate: rate(c.l1Hits, c.l1Misses),
        entries: l1?.entries ?? 0,
        bytes: l1?.bytes ?? 0,
        evictions: c.evictions,
      },
      l2: {
        hits: c.l2Hits,
        misses: c.l2Misses,
        hitRate: rate(c.l2Hits, c.l2Misses),
        state: this.stack.l2?.state ?? 'disabled',
        errors: c.l2Errors,
      },
      stale: c.staleHits,
      factory: { runs: c.factoryRuns, errors: c.factoryErrors },
      errors: c.l2Errors + c.factoryErrors,
      corrupt: c.corrupt,
      notCacheable: c.notCacheable,
      tooLarge: c.tooLarge,
      keyErrors: c.keyErrors,
    };
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
    const spec: WriteSpec = {
      ttl: options.ttl === undefined ? this.policy.ttl : toMs(options.ttl, 'ttl'),
      grace: options.grace === undefined ? this.policy.grace : toMs(options.grace, 'grace', { allowZero: true }),
      tagIds: options.tags === undefined ? [] : options.tags.map((tag) => this.keys.tagId(tag)),
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
