import { type CustomDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { CACHE_TTL_METADATA } from './cache-manager.constants';

export type CacheTTLFactory = (ctx: ExecutionContext) => Promise<number> | number;

/**
 * How long `CacheInterceptor` keeps a handler's (or a controller's handlers') result, in
 * MILLISECONDS as in cache-manager 7 (`@CacheTTL(20)` is 20 ms; 0: no expiry), or a function of the
 * context. The handler's wins over the controller's.
 */
export const CacheTTL = (ttl: number | CacheTTLFactory): CustomDecorator<string> => SetMetadata(CACHE_TTL_METADATA, ttl);
