import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
  Optional,
  StreamableFile,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { type Observable, defer, lastValueFrom, of, tap, throwError } from 'rxjs';
import { CACHE_KEY_METADATA, CACHE_MANAGER, CACHE_TTL_METADATA } from './cache-manager.constants';
import type { Cache } from './cache-manager.types';
import type { CacheKeyFactory } from './cache-key.decorator';
import type { CacheTTLFactory } from './cache-ttl.decorator';
import { StrataCacheManager } from './strata-cache-manager';
import { thaw } from './thaw';

/**
 * `@nestjs/cache-manager`'s `CacheInterceptor` over Strata: on HTTP routes (GET by default) the key is
 * the request URL, on WebSocket and microservice handlers the `@CacheKey`; `@CacheTTL` (ms) or the
 * module's ttl; `X-Cache: HIT|MISS` on HTTP. What it stores is the handler's return value (not the
 * status or headers). Override `trackBy`, `isRequestCacheable` or `allowedMethods` to change it.
 *
 * Unlike cache-manager, identical requests that miss together run the handler once (Strata's
 * single flight, across instances with Redis); the others get its result.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  @Optional()
  @Inject()
  protected readonly httpAdapterHost?: HttpAdapterHost;

  protected allowedMethods: string[] = ['GET'];

  constructor(
    @Inject(CACHE_MANAGER) protected readonly cacheManager: Cache,
    protected readonly reflector: Reflector,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const key = await this.trackBy(context);
    const ttlOrFactory =
      this.reflector.get<number | CacheTTLFactory | undefined>(CACHE_TTL_METADATA, context.getHandler()) ??
      this.reflector.get<number | CacheTTLFactory | undefined>(CACHE_TTL_METADATA, context.getClass());
    if (!key) return next.handle();
    try {
      const ttl = typeof ttlOrFactory === 'function' ? await ttlOrFactory(context) : ttlOrFactory;
      if (this.cacheManager instanceof StrataCacheManager) return await this.through(this.cacheManager, context, next, key, ttl);
      const value = await this.cacheManager.get(key);
      this.setHeadersWhenHttp(context, value);
      if (value !== undefined && value !== null) return of(value);
      return next.handle().pipe(tap((response: unknown) => void this.store(key, response, ttl)));
    } catch {
      return next.handle();
    }
  }

  /**
   * The cache key of this call, or a falsy value to not cache it: the `@CacheKey` (string or function
   * of the context) if the handler has one; else, in an HTTP app, the request URL for allowed methods.
   */
  protected trackBy(context: ExecutionContext): Promise<string | undefined | null> | string | undefined | null {
    const keyOrFactory = this.reflector.get<string | CacheKeyFactory | undefined>(CACHE_KEY_METADATA, context.getHandler());
    const adapter = this.httpAdapterHost?.httpAdapter;
    if (adapter === undefined || context.getType() !== 'http' || keyOrFactory) {
      return typeof keyOrFactory === 'function' ? keyOrFactory(context) : keyOrFactory;
    }
    if (!this.isRequestCacheable(context)) return undefined;
    return adapter.getRequestUrl(context.getArgByIndex(0)) as string;
  }

  protected isRequestCacheable(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ method?: string }>();
    return request.method !== undefined && this.allowedMethods.includes(request.method);
  }

  protected setHeadersWhenHttp(context: ExecutionContext, value: unknown): void {
    const adapter = this.httpAdapterHost?.httpAdapter;
    if (adapter === undefined || context.getType() !== 'http') return;
    adapter.setHeader(context.switchToHttp().getResponse(), 'X-Cache', value === undefined || value === null ? 'MISS' : 'HIT');
  }

  /** One `getOrSet`: a hit is served, a miss runs the handler once for every caller of this key. */
  private async through(manager: StrataCacheManager, context: ExecutionContext, next: CallHandler, key: string, ttl: number | undefined): Promise<Observable<unknown>> {
    let ran = false;
    let handled: unknown;
    let value: unknown;
    try {
      value = await manager.strata.getOrSet(
      key,
      async () => {
        ran = true;
        handled = await lastValueFrom(next.handle(), { defaultValue: undefined });
        return handled;
      },
      {
        ttl: manager.lifetimeOf(ttl ?? undefined),
        // As cache-manager: nothing stored for an empty result or a stream.
        unless: (result) => result === undefined || result === null || result instanceof StreamableFile,
      },
    );
    } catch (error) {
      // The handler's own error reaches the client as it would without the cache; it is not run twice.
      if (ran) return throwError(() => error);
      throw error;
    }
    this.setHeadersWhenHttp(context, ran ? undefined : value);
    // The handler's own result goes back untouched; a shared one is a copy of the cached value.
    return defer(() => of(ran ? handled : thaw(value)));
  }

  private async store(key: string, response: unknown, ttl: number | undefined): Promise<void> {
    if (response instanceof StreamableFile) return;
    try {
      await this.cacheManager.set(key, response, ttl ?? undefined);
    } catch (error) {
      Logger.error(`An error has occurred when inserting "key: ${key}", "value: ${String(response)}"`, (error as Error).stack, 'CacheInterceptor');
    }
  }
}
