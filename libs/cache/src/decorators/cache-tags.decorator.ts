import { CACHE_TAGS_METADATA } from '../cache.constants';
import type { CacheTagSource } from './cache-options.types';

/**
 * Tags for the entries a `@Cacheable` or `@CachePut` method stores: literal, from the arguments, or
 * from the result (`{ fromResult: (result, ...args) => [...] }`). Invalidate them with
 * `cache.invalidateTags()` or `@CacheEvict({ tags })`.
 *
 * ```ts
 * @CacheTags((id: string) => [`template:${id}`], 'templates')
 * ```
 */
export function CacheTags(...tags: CacheTagSource[]): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const existing = (Reflect.getMetadata(CACHE_TAGS_METADATA, method) as CacheTagSource[] | undefined) ?? [];
    Reflect.defineMetadata(CACHE_TAGS_METADATA, [...existing, ...tags], method);
    return descriptor;
  };
}
