import { type CustomDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { CACHE_KEY_METADATA } from './cache-manager.constants';

export type CacheKeyFactory = (ctx: ExecutionContext) => string | Promise<string | undefined> | undefined;

/**
 * The key `CacheInterceptor` stores a handler's result under, instead of the request URL; required on
 * WebSocket and microservice handlers (which have no URL). A string, or a function of the context.
 */
export const CacheKey = (key: string | CacheKeyFactory): CustomDecorator<string> => SetMetadata(CACHE_KEY_METADATA, key);
