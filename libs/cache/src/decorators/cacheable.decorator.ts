import { SetMetadata } from '@nestjs/common';
import { CACHEABLE_METADATA } from '../cache.constants';
import type { CacheableOptions } from './cache-options.types';

/**
 * Caches the result of an async method (`getOrSet` underneath: concurrent calls with one key run the
 * method once). On a provider method it is applied by the `CacheExplorer` at startup; on a controller
 * route handler it refines what `CacheInterceptor` does (ttl, tags, key, vary, per-user).
 *
 * ```ts
 * @Cacheable({ name: 'scores', ttl: '6h', key: '{0}:{1.locale}', tags: (id: string) => [`template:${id}`] })
 * async score(id: string, ctx: Ctx): Promise<Score[]> { … }
 * ```
 */
export function Cacheable(options: CacheableOptions = {}): MethodDecorator {
  return SetMetadata(CACHEABLE_METADATA, options);
}
