import { CACHE_EVICT_METADATA } from '../cache.constants';
import type { CacheEvictOptions } from './cache-options.types';

/**
 * Evicts keys, tags, a pattern or the whole namespace after the method succeeded (or before it, with
 * `beforeInvocation`). May be stacked: each one is applied. On a route handler, `CacheInterceptor`
 * evicts once the response is 2xx.
 *
 * ```ts
 * @CacheEvict({ tags: (id: string) => [`template:${id}`] })
 * async update(id: string, patch: Patch): Promise<void> { … }
 * ```
 */
export function CacheEvict(options: CacheEvictOptions): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const existing = (Reflect.getMetadata(CACHE_EVICT_METADATA, method) as CacheEvictOptions[] | undefined) ?? [];
    Reflect.defineMetadata(CACHE_EVICT_METADATA, [...existing, options], method);
    return descriptor;
  };
}
