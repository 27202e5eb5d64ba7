import type { Type } from '@nestjs/common';
import { DEFAULT_CACHE_NAME } from '../cache.options';
import type { CacheService } from '../cache.service';
import type { CacheStack } from '../cache.stack';
import type { CacheMetadataAccessor } from '../decorators/cache-metadata.accessor';
import type { CacheOwner } from '../decorators/cache-options.types';
import { type EvictPlan, type StorePlan, decoratorError, evictPlan, storePlan } from '../decorators/cache-plan';

/** What `CacheInterceptor` does for one route handler, compiled once from its decorators. */
export interface RoutePlan {
  readonly where: string;
  readonly optedOut: boolean;
  readonly store: StorePlan;
  /** The key from `@Cacheable({ key })`, which replaces path and query; undefined: path + sorted query. */
  readonly key: StorePlan['key'] | undefined;
  readonly ttl: number;
  readonly grace: number;
  /** Lower-cased names of the `vary` headers, and the `Vary` response header they make. */
  readonly vary: readonly string[];
  readonly varyHeader: string | undefined;
  readonly per: CacheOwner | undefined;
  readonly evict: readonly EvictPlan[];
}

/**
 * Compiles a route's cache decorators; throws, naming `Controller.handler`, for any mistake. The explorer
 * calls it at startup for every decorated route handler, so a wrong option fails the boot.
 */
export function routePlan(
  handler: object,
  controller: Type<unknown>,
  accessor: CacheMetadataAccessor,
  cache: CacheService,
  stack: CacheStack,
): RoutePlan {
  const where = `${controller.name}.${(handler as { name?: string }).name ?? 'handler'}`;
  const method = handler as () => unknown;
  const metadata = accessor.of(method);
  const options = metadata?.cacheable ?? {};
  if (metadata?.put !== undefined) {
    throw decoratorError(`@CachePut on ${where}`, `is not supported on a route handler; use @Cacheable, or put it on a service method`);
  }
  const store = storePlan(`@Cacheable on ${where}`, options, metadata?.tags ?? [], cache, where);
  const vary = (options.vary ?? []).map((name) => {
    if (typeof name !== 'string' || name.length === 0) throw decoratorError(`@Cacheable on ${where}`, `vary lists header names, e.g. ['Accept-Language']; got ${String(name)}`);
    return name.toLowerCase();
  });
  const per = options.per;
  if (per !== undefined && per !== 'user' && per !== 'tenant' && typeof per !== 'function') {
    throw decoratorError(`@Cacheable on ${where}`, `per must be 'user', 'tenant' or a function of the request; got ${String(per)}`);
  }
  const policy = stack.policyOf(options.name ?? DEFAULT_CACHE_NAME);
  return {
    where,
    optedOut: accessor.isOptedOut(method, controller),
    store,
    key: options.key === undefined ? undefined : store.key,
    ttl: store.ttl ?? policy.ttl,
    grace: store.grace ?? policy.grace,
    vary,
    varyHeader: vary.length === 0 ? undefined : (options.vary ?? []).join(', '),
    per,
    evict: (metadata?.evict ?? []).map((evict) => evictPlan(`@CacheEvict on ${where}`, evict, cache)),
  };
}
