import { AsyncResource } from 'node:async_hooks';
import { finished } from 'node:stream';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Observable, finalize, map, mergeMap, of } from 'rxjs';
import { CacheService } from '../cache.service';
import { CacheStack } from '../cache.stack';
import { CacheMetadataAccessor } from '../decorators/cache-metadata.accessor';
import type { CacheOwner } from '../decorators/cache-options.types';
import { DecoratorFaults, runEvict } from '../decorators/cache-plan';
import {
  type HttpCacheRecord,
  type HttpRequestLike,
  type HttpResponseLike,
  REFLECTED_HEADERS,
  cacheControlAllows,
  handlerHeaders,
  headerText,
  isHttpRecord,
  isStorableBody,
  mergeVary,
  notModified,
  resourceOf,
  snapshot,
  strongEtag,
} from './http-record';
import { type RoutePlan, routePlan } from './route-plan';

type CacheState = 'HIT' | 'MISS' | 'STALE';

/** What a handler run hands the requests that waited for it: its response, and whether the cache kept it. */
interface SharedResponse {
  readonly record: HttpCacheRecord;
  readonly stored: boolean;
}


/**
 * HTTP caching for routes, per handler (`@UseInterceptors(CacheInterceptor)`), per controller, or for
 * every route (`{ provide: APP_INTERCEPTOR, useClass: CacheInterceptor }`). On Express and Fastify.
 *
 * - GET and HEAD (HEAD is answered from the GET entry); key = method + path + sorted query + the `vary`
 *   headers + `Host` and the forwarding headers when present (unkeyed inputs never reach someone else)
 *   + the user or tenant on a `per` route. `@Cacheable({ ttl, tags, key, vary, per })` refines it;
 *   `@NoCache()` opts out.
 * - `X-Cache: HIT|MISS|STALE`, `Age`, a strong `ETag`; `If-None-Match` → `304` with no body.
 * - Not stored: non-2xx, `Set-Cookie`, `Cache-Control: no-store|no-cache|private` (private is fine on a
 *   per-user route), requests with `Authorization` or `Cookie` unless the route is `per` user/tenant.
 *   The decision is taken once the response is sent, on the headers that actually went out.
 * - Concurrent identical requests run the handler once; a stale entry (within grace) is served as
 *   `STALE` while one request refreshes it.
 * - `@CacheEvict` on a handler evicts after a 2xx response. A cache error falls through to the handler.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  /** Methods whose responses are cached. */
  protected allowedMethods: readonly string[] = ['GET', 'HEAD'];
  private readonly routes = new WeakMap<object, RoutePlan>();
  /** One refresh per full key (tenant included): later identical requests wait for it. */
  private readonly flights = new Map<string, Promise<SharedResponse | undefined>>();
  private readonly faults: DecoratorFaults;

  constructor(
    protected readonly cache: CacheService,
    protected readonly stack: CacheStack,
    protected readonly accessor: CacheMetadataAccessor,
    protected readonly adapterHost: HttpAdapterHost,
  ) {
    this.faults = new DecoratorFaults(stack);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> | Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const request = requestOf(context);
    const tenants = this.stack.tenants;
    if (!tenants.resolvesRequests) return this.handle(context, next, request);
    return tenants.forRequest(request, () => this.handle(context, next, request));
  }

  /**
   * The cache key of a request, or undefined to not cache it. Override to change what a response
   * depends on; keep in it everything the handler reads, or one client's response reaches another.
   */
  protected trackBy(context: ExecutionContext): string | undefined {
    const request = requestOf(context);
    const route = this.routeOf(context);
    // Lines: method, resource, then name=value per keyed header. A request line or header value cannot
    // hold a line break, so the parts cannot run into each other; the two that could are JSON-quoted.
    let key = request.method === 'HEAD' ? 'GET' : request.method;
    key += '\n' + (route.key === undefined ? resourceOf(request) : JSON.stringify(route.key([request])));
    const headers = request.headers;
    for (const name of REFLECTED_HEADERS) {
      const value = headers[name];
      if (value !== undefined) key += '\n' + name + '=' + headerText(value);
    }
    for (const name of route.vary) {
      const value = headers[name];
      key += '\n' + name + (value === undefined ? '' : '=' + headerText(value));
    }
    if (route.per !== undefined) {
      const owner = this.ownerOf(request, route.per);
      if (owner === undefined) return undefined;
      key += '\nowner=' + JSON.stringify(owner);
    }
    return key;
  }

  /** Whether this request may be answered from, and stored in, the cache. */
  protected isRequestCacheable(context: ExecutionContext): boolean {
    const request = requestOf(context);
    if (!this.allowedMethods.includes(request.method)) return false;
    const route = this.routeOf(context);
    if (route.optedOut) return false;
    const credentials = request.headers.authorization !== undefined || request.headers.cookie !== undefined;
    return !credentials || route.per !== undefined;
  }

  /** The user a per-user route is cached for: `req.user.id`, else `req.user.sub`. */
  protected userOf(request: HttpRequestLike): string | undefined {
    const user = request.user as { id?: unknown; sub?: unknown } | null | undefined;
    const id = user?.id ?? user?.sub;
    return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? String(id) : undefined;
  }

  private ownerOf(request: HttpRequestLike, per: CacheOwner): string | undefined {
    if (per === 'user') return this.userOf(request);
    if (per === 'tenant') return this.cache.tenant;
    const owner = (per as (request: HttpRequestLike) => unknown)(request);
    return typeof owner === 'string' && owner.length > 0 ? owner : undefined;
  }

  private handle(context: ExecutionContext, next: CallHandler, request: HttpRequestLike): Observable<unknown> | Promise<Observable<unknown>> {
    const route = this.routeOf(context);
    if (route.evict.length > 0) return this.evicting(context, next, route, request);
    let key: string | undefined;
    try {
      if (!this.isRequestCacheable(context)) return next.handle();
      if (route.store.condition !== undefined && !route.store.condition([request])) return next.handle();
      key = this.trackBy(context);
    } catch (error) {
      this.faults.report(route.where, 'the cache key could not be built, so the request went through uncached', error);
      return next.handle();
    }
    if (key === undefined) return next.handle();
    // A fresh L1 hit answers without a promise; anything else goes through `get` (Redis, stale, flights).
    let found: unknown;
    try {
      found = route.store.cache.peek(key);
    } catch (error) {
      return this.unreadable(route, error, next);
    }
    if (isHttpRecord(found)) {
      const now = this.stack.now();
      if (now < found.expiresAt) return this.serve(context, route, found, 'HIT', now);
      return this.decide(context, next, route, key, found);
    }
    return this.lookup(context, next, route, key);
  }

  private unreadable(route: RoutePlan, error: unknown, next: CallHandler): Observable<unknown> {
    this.faults.warnOnce(`read:${route.where}`, `${route.where}: the cache could not be read, so the handler answers: ${String(error)}`);
    return next.handle();
  }

  private async lookup(context: ExecutionContext, next: CallHandler, route: RoutePlan, key: string): Promise<Observable<unknown>> {
    let found: unknown;
    try {
      found = await route.store.cache.get(key);
    } catch (error) {
      return this.unreadable(route, error, next);
    }
    return this.decide(context, next, route, key, found);
  }

  /** What to do with what the cache holds (or not): serve it, serve it stale, wait for a flight, or fill. */
  private async decide(context: ExecutionContext, next: CallHandler, route: RoutePlan, key: string, found: unknown): Promise<Observable<unknown>> {
    const cache = route.store.cache;
    let now = 0;
    if (isHttpRecord(found)) {
      now = this.stack.now();
      if (now < found.expiresAt) return this.serve(context, route, found, 'HIT', now);
    }
    // The flight key is the full key: it holds the tenant, so tenants never share a flight.
    const full = cache.keyOf(key);
    if (isHttpRecord(found) && this.flights.has(full)) return this.serve(context, route, found, 'STALE', now);
    const flight = this.flights.get(full);
    if (flight !== undefined) {
      const shared = await flight;
      if (shared === undefined) return next.handle();
      // A response that could not be stored (over maxValueBytes, say) is still this key's answer, but not a hit.
      return this.serve(context, route, shared.record, shared.stored ? 'HIT' : 'MISS', this.stack.now());
    }
    return this.fill(context, next, route, key, full);
  }

  private serve(context: ExecutionContext, route: RoutePlan, record: HttpCacheRecord, state: CacheState, now: number): Observable<unknown> {
    const response = responseOf(context);
    const adapter = this.adapterHost.httpAdapter;
    // A Node response (Express) takes headers directly; a Fastify reply goes through the adapter.
    const set = response.raw === undefined && typeof response.setHeader === 'function'
      ? (name: string, value: string) => response.setHeader!(name, value)
      : (name: string, value: string) => adapter.setHeader(response, name, value);
    for (const name in record.headers) set(name, headerText(record.headers[name])!);
    set('X-Cache', state);
    set('Age', String(Math.max(0, Math.floor((now - record.at) / 1000))));
    set('ETag', record.etag);
    if (route.varyHeader !== undefined) set('Vary', mergeVary(headerText(record.headers.vary), route.varyHeader));
    if (response.statusCode !== record.status) adapter.status(response, record.status);
    if (notModified(requestOf(context), record.etag)) {
      adapter.status(response, 304);
      return of(undefined);
    }
    return of(record.body);
  }

  /** Runs the handler for everyone waiting on this key; stores the response once it is sent, if it may be. */
  private fill(context: ExecutionContext, next: CallHandler, route: RoutePlan, key: string, full: string): Observable<unknown> {
    const request = requestOf(context);
    const response = responseOf(context);
    const adapter = this.adapterHost.httpAdapter;
    let settle!: (shared: SharedResponse | undefined) => void;
    const flight = new Promise<SharedResponse | undefined>((resolve) => (settle = resolve));
    this.flights.set(full, flight);
    let released = false;
    const release = (shared: SharedResponse | undefined) => {
      if (released) return;
      released = true;
      if (this.flights.get(full) === flight) this.flights.delete(full);
      settle(shared);
    };
    const before = snapshot(response);
    let watching = false;
    // Values of the handler's Observable arrive outside the request's async context (RxJS subscribes to
    // its promise there): bind the callback here, inside it, so the tenant scope is the request's.
    return next.handle().pipe(
      map(AsyncResource.bind((value: unknown) => {
        const record = this.candidate(route, value, before, response);
        adapter.setHeader(response, 'X-Cache', 'MISS');
        if (route.varyHeader !== undefined) adapter.setHeader(response, 'Vary', mergeVary(headerText(response.getHeaders().vary), route.varyHeader));
        if (record === undefined) {
          release(undefined);
          return value;
        }
        adapter.setHeader(response, 'ETag', record.etag);
        if (!watching) {
          watching = true;
          // The store decision waits for what was really sent (status, Set-Cookie added by a session
          // middleware at write time). Bound to this request's async context: its tenant scope.
          const stream = (response.raw ?? response) as NodeJS.WritableStream;
          finished(stream, AsyncResource.bind((error?: Error | null) => void this.store(route, key, record, request, response, !error).then(release)));
        }
        if (notModified(request, record.etag)) {
          adapter.status(response, 304);
          return undefined;
        }
        return value;
      })),
      // Errors, an empty result, or a client gone before the handler answered: waiters run their own handler.
      finalize(() => watching || release(undefined)),
    );
  }

  /** The record a handler's value would be stored as, or undefined when it must not be stored. */
  private candidate(route: RoutePlan, value: unknown, before: Record<string, string | undefined>, response: HttpResponseLike): HttpCacheRecord | undefined {
    const status = response.statusCode;
    if (status < 200 || status > 299 || !isStorableBody(value)) return undefined;
    const headers = handlerHeaders(before, response);
    if (!this.mayStore(route, response)) return undefined;
    const at = this.stack.now();
    const etag = headerText(response.getHeaders().etag) ?? strongEtag(value);
    return { v: 1, body: value, status, headers, etag, at, expiresAt: at + route.ttl };
  }

  private mayStore(route: RoutePlan, response: HttpResponseLike): boolean {
    const headers = response.getHeaders();
    if (headers['set-cookie'] !== undefined) return false;
    return cacheControlAllows(headerText(headers['cache-control']), route.per !== undefined && route.per !== 'tenant');
  }

  private async store(route: RoutePlan, key: string, record: HttpCacheRecord, request: HttpRequestLike, response: HttpResponseLike, sent: boolean): Promise<SharedResponse | undefined> {
    const status = response.statusCode;
    if (!sent || (status !== record.status && status !== 304) || !this.mayStore(route, response)) return undefined;
    let tags: string[];
    try {
      if (route.store.unless?.(record.body, [request])) return undefined;
      tags = route.store.tags.of(record.body, [request]);
    } catch (error) {
      this.faults.report(route.where, 'unless or a tag function threw, so the response was not cached', error);
      return undefined;
    }
    try {
      // Kept in the tiers through the grace; `expiresAt` inside the record says when it turns stale.
      return { record, stored: await route.store.cache.set(key, record, { ttl: route.ttl + route.grace, grace: 0, tags }) };
    } catch (error) {
      this.faults.warnOnce(`write:${route.where}`, `${route.where}: the response could not be cached: ${String(error)}`);
      return { record, stored: false };
    }
  }

  private evicting(context: ExecutionContext, next: CallHandler, route: RoutePlan, request: HttpRequestLike): Observable<unknown> | Promise<Observable<unknown>> {
    const args = [request];
    const response = responseOf(context);
    const active = route.evict.filter((plan) => {
      try {
        return plan.condition === undefined || plan.condition(args);
      } catch (error) {
        this.faults.report(plan.where, 'condition threw, so the eviction ran anyway', error);
        return true;
      }
    });
    const after = active.filter((plan) => !plan.beforeInvocation);
    // Bound here, in the request's tenant scope (see fill()).
    const evictAfter = AsyncResource.bind(async (value: unknown) => {
      const status = response.statusCode;
      if (status >= 200 && status <= 299) await Promise.all(after.map((plan) => runEvict(plan, args, value, this.faults)));
      return value;
    });
    const run = () => next.handle().pipe(mergeMap(evictAfter));
    const before = active.filter((plan) => plan.beforeInvocation);
    if (before.length === 0) return run();
    return Promise.all(before.map((plan) => runEvict(plan, args, undefined, this.faults))).then(run);
  }

  private routeOf(context: ExecutionContext): RoutePlan {
    const handler = context.getHandler();
    let route = this.routes.get(handler);
    if (route === undefined) {
      route = routePlan(handler, context.getClass(), this.accessor, this.cache, this.stack);
      this.routes.set(handler, route);
    }
    return route;
  }

}

// HTTP handlers get (req, res, next): read them by index, since `switchToHttp()` allocates on every call.
function requestOf(context: ExecutionContext): HttpRequestLike {
  return context.getArgByIndex<HttpRequestLike>(0);
}

function responseOf(context: ExecutionContext): HttpResponseLike {
  return context.getArgByIndex<HttpResponseLike>(1);
}
