/**
 * The same strings as `@nestjs/cache-manager`: code half-way through a migration (a `@CacheKey` from one
 * package on a handler behind the other's interceptor, `@Inject('CACHE_MANAGER')`) keeps working.
 */
export const CACHE_MANAGER = 'CACHE_MANAGER';
export const CACHE_KEY_METADATA = 'cache_module:cache_key';
export const CACHE_TTL_METADATA = 'cache_module:cache_ttl';

/**
 * What "no expiry" (cache-manager's ttl 0, or no ttl at all) becomes in Strata, whose entries always
 * carry an expiry: about a hundred years, within Redis' PX range and far from overflowing a timestamp.
 */
export const NO_EXPIRY = 100 * 365 * 24 * 3600 * 1000;
