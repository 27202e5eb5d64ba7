import { CACHE_WARMER_METADATA } from '../cache.constants';
import type { WarmEntries } from '../warming/warm';
import type { CacheWarmerOptions } from './cache-options.types';

/** What a warmer method returns: entries (an array or iterable), an async iterable (an async generator), or a promise of either. */
export type CacheWarmerResult = WarmEntries | Promise<WarmEntries>;

/**
 * Declares a provider method as a cache warmer: it returns the entries to warm (the `WarmEntry` items
 * `cache.warm` takes), and the cache warms them when the application starts and/or every `every`.
 * The method is called without arguments. A warmer that throws, or whose entries fail, is logged and
 * counted (`stats().warmers`), never thrown into the application.
 *
 * ```ts
 * @CacheWarmer({ every: '10m', name: 'reports' })
 * async topReports(): Promise<WarmEntry<Report>[]> {
 *   return (await this.db.topReportIds(100)).map((id) => ({ key: id, factory: () => this.generate(id) }));
 * }
 * ```
 */
export function CacheWarmer(
  options: CacheWarmerOptions = {},
): <M extends () => CacheWarmerResult>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<M>) => void {
  return (_target, _key, descriptor) => {
    Reflect.defineMetadata(CACHE_WARMER_METADATA, options, descriptor.value as object);
  };
}
