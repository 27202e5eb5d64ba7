import { Injectable, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  CACHEABLE_METADATA,
  CACHE_EVICT_METADATA,
  CACHE_PUT_METADATA,
  CACHE_TAGS_METADATA,
  CACHE_WARMER_METADATA,
  NO_CACHE_METADATA,
} from '../cache.constants';
import type { CacheEvictOptions, CachePutOptions, CacheTagSource, CacheWarmerOptions, CacheableOptions } from './cache-options.types';

/**
 * The metadata keys Nest's own `@Get()`/`@Post()`, `@UseInterceptors()` and `@Sse()` write. `@nestjs/common`
 * does not export them from its root, and importing `@nestjs/common/constants` would tie us to its file
 * layout; cache-metadata.accessor.spec.ts checks them against Nest's decorators.
 */
export const NEST_METADATA = {
  path: 'path',
  method: 'method',
  interceptors: '__interceptors__',
  sse: '__sse__',
} as const;

/** Everything the cache decorators attached to one method. */
export interface CacheMetadata {
  cacheable?: CacheableOptions;
  put?: CachePutOptions;
  evict: readonly CacheEvictOptions[];
  tags: readonly CacheTagSource[];
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Method = Function;

/** The one place that reads cache metadata (and the Nest metadata it needs): explorer and interceptor share it. */
@Injectable()
export class CacheMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The method's cache metadata, or undefined when it carries none. */
  of(method: Method): CacheMetadata | undefined {
    const cacheable = this.reflector.get<CacheableOptions | undefined>(CACHEABLE_METADATA, method);
    const put = this.reflector.get<CachePutOptions | undefined>(CACHE_PUT_METADATA, method);
    const evict = this.reflector.get<CacheEvictOptions[] | undefined>(CACHE_EVICT_METADATA, method) ?? [];
    const tags = this.reflector.get<CacheTagSource[] | undefined>(CACHE_TAGS_METADATA, method) ?? [];
    if (cacheable === undefined && put === undefined && evict.length === 0 && tags.length === 0) return undefined;
    return { cacheable, put, evict, tags };
  }

  /** The options of `@CacheWarmer` on the method, or undefined when it is not a warmer. */
  warmer(method: Method): CacheWarmerOptions | undefined {
    return this.reflector.get<CacheWarmerOptions | undefined>(CACHE_WARMER_METADATA, method);
  }

  /** `@NoCache()` on the handler or its controller, or a server-sent events stream (`@Sse()`), never cached. */
  isOptedOut(handler: Method, controller: Type<unknown>): boolean {
    if (Reflect.getMetadata(NEST_METADATA.sse, handler) !== undefined) return true;
    return this.reflector.getAllAndOverride<boolean | undefined>(NO_CACHE_METADATA, [handler, controller]) === true;
  }

  /** A controller method Nest routes HTTP requests to (`@Get()`, `@Post()`, …). */
  isRouteHandler(method: Method): boolean {
    return Reflect.hasOwnMetadata(NEST_METADATA.path, method) && Reflect.hasOwnMetadata(NEST_METADATA.method, method);
  }

  /** The interceptors `@UseInterceptors()` binds to the handler and to its controller. */
  boundInterceptors(handler: Method, controller: Type<unknown>): unknown[] {
    return [
      ...(this.reflector.get<unknown[] | undefined>(NEST_METADATA.interceptors, controller) ?? []),
      ...(this.reflector.get<unknown[] | undefined>(NEST_METADATA.interceptors, handler) ?? []),
    ];
  }
}
