import { SetMetadata } from '@nestjs/common';
import { CACHE_PUT_METADATA } from '../cache.constants';
import type { CachePutOptions } from './cache-options.types';

/**
 * Always runs the method, then stores its result under `key` (the key of the `@Cacheable` it keeps
 * current), unless `condition` or `unless` say otherwise.
 *
 * ```ts
 * @CachePut({ name: 'templates', key: '{0}' })
 * async rename(id: string, title: string): Promise<Template> { … }
 * ```
 */
export function CachePut(options: CachePutOptions): MethodDecorator {
  return SetMetadata(CACHE_PUT_METADATA, options);
}
