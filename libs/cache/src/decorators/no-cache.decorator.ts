import { SetMetadata } from '@nestjs/common';
import { NO_CACHE_METADATA } from '../cache.constants';

/** Opts a route (or every route of a controller) out of `CacheInterceptor`. */
export const NoCache = (): MethodDecorator & ClassDecorator => SetMetadata(NO_CACHE_METADATA, true);
