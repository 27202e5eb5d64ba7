import { AsyncResource } from 'node:async_hooks';
import { finished } from 'node:stream';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Observable, finalize, map, mergeMap, of } from 'rxjs';
import { CacheService, type GetOrSetOptions } from '../cache.service';
import { StrataError } from '../core/errors';
import type { GetOrSetResult } from '../engine/engine.types';
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
import { type CacheState, RecordWriter, isNodeResponse } from './record-writer';
import { type RoutePlan, routePlan } from './route-plan';


/** What a request's lookup came to first: its own handler run (it is the factory), or the cache's answer. */
interface Step {
  readonly handler?: Observable<unknown>;
  readonly answer?: GetOrSetResult<unknown>;
}

/** What a handler run hands the requests that waited for it when its response must not be stored. */
const NOT_STORED = Object.freeze({ notStored: true });
/** What `serve` hands Nest after writing a response itself: nothing (Express's `send()` then ends nothing). */
const WRITTEN = of(undefined);
/** The tags of a record about to be stored (computed from the handler's value and request, once it was sent). */
const RECORD_TAGS = new WeakMap<HttpCacheRecord, readonly string[]>();

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
 * - Concurrent identical requests run the handler once (with a lock store, once in the cluster); a stale
 *   entry (within grace) is served as `STALE` while one request refreshes it. All of it is the engine's
 *   `getOrSetWithStatus`, the factory being the request's own handler run.
 * - A hit writes the stored body as it was serialized (JSON text) with the stored headers.
 * - `@CacheEvict` on a handler evicts after a 2xx response. A cache error falls through to the handler.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  /** Methods whose responses are cached. */
  protected allowedMethods: readonly string[] = ['GET', 'HEAD'];
  /**
   * Whether a hit on Express may be written to the response directly (see `RecordWriter`). Set it to
   * false in a subclass when an interceptor outside this one reads the value without changing it (a
   * logging `tap`): such an interceptor sees nothing on a direct hit, while a hit handed on goes through
   * Nest's reply like the handler's value. (One that changes the value is noticed on its own.)
   */
  protected directHits = true;
  private readonly routes = new WeakMap<object, RoutePlan>();
  private readonly options = new WeakMap<RoutePlan, GetOrSetOptions<unknown>>();
  /** Routes whose hits may be written directly (see `learn`): true, false, or not known yet. */
  private readonly writer: RecordWriter;
  private readonly faults: DecoratorFaults;

  constructor(
    protected readonly cache: CacheService,
    protected readonly stack: CacheStack,
    protected readonly accessor: CacheMetadataAccessor,
    protected readonly adapterHost: HttpAdapterHost,
  ) {
    this.faults = new DecoratorFaults(stack);
    this.writer = new RecordWriter(() => stack.now());
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
    // A fresh L1 hit answers without a promise; anything else goes through getOrSet (Redis, stale, flights).
    let found: unknown;
    try {
      found = route.store.cache.peek(key);
    } catch (error) {
      return this.unreadable(route, error, next);
    }
    if (isHttpRecord(found)) return this.serve(context, route, found, 'HIT');
    return this.lookup(context, next, route, key);
  }

  private unreadable(route: RoutePlan, error: unknown, next: CallHandler): Observable<unknown> {
    this.faults.warnOnce(`read:${route.where}`, `${route.where}: the cache could not be read, so the handler answers: ${String(error)}`);
    return next.handle();
  }

  /**
   * The engine's getOrSet decides: a hit (HIT), a stale copy within grace (STALE), or a miss, where the
   * factory is this request's own handler run: it answers this request (MISS) and resolves once the
   * response was sent with the record to store, or NOT_STORED. Requests that joined the run get the record.
   */
  private async lookup(context: ExecutionContext, next: CallHandler, route: RoutePlan, key: string): Promise<Observable<unknown>> {
    let run!: (handler: Observable<unknown>) => void;
    const ran = new Promise<Step>((resolve) => (run = (handler) => resolve({ handler })));
    // Once this request is answered from the cache, its handler cannot run for it any more: a refresh that
    // calls this factory later (refresh-ahead) is told there is nothing to store.
    let answered = false;
    const factory = () => (answered ? NOT_STORED : new Promise<unknown>((resolve) => run(this.fill(context, next, route, resolve))));
    const answering = route.store.cache.getOrSetWithStatus<unknown>(key, factory, this.optionsOf(route));
    answering.catch(() => undefined); // this request may be the one running the handler: its errors are the response's
    let step: Step;
    try {
      step = await Promise.race([ran, answering.then((answer): Step => ({ answer }))]);
    } catch (error) {
      // A cache fault (strict), or the run this request joined failed: the handler answers on its own.
      return error instanceof StrataError ? this.unreadable(route, error, next) : next.handle();
    }
    if (step.handler !== undefined) return step.handler;
    const answer = step.answer!;
    answered = answer.refreshing === undefined;
    const record = answer.value;
    if (!isHttpRecord(record)) {
      // Not storable (the run said so), or a value this interceptor did not write there: the handler answers.
      if (record !== NOT_STORED && answer.status !== 'miss') void route.store.cache.delete(key).catch(() => undefined);
      return next.handle();
    }
    if (answer.status === 'stale') {
      // This request's handler may be the refresh (as the first request to find it stale, it answers MISS).
      if (answer.refreshing !== undefined) {
        const refresh = await Promise.race([ran, answer.refreshing.then((): Step => ({}))]);
        if (refresh.handler !== undefined) return refresh.handler;
        answered = true;
      }
      return this.serve(context, route, record, 'STALE');
    }
    if (answer.status === 'hit') return this.serve(context, route, record, 'HIT');
    // Another request's run: a hit only if the cache kept it (too large to store is still this key's answer).
    return this.serve(context, route, record, (await this.storedNow(route, key, record)) ? 'HIT' : 'MISS');
  }

  private async storedNow(route: RoutePlan, key: string, record: HttpCacheRecord): Promise<boolean> {
    try {
      const now = route.store.cache.peek(key) ?? (await route.store.cache.get(key));
      return isHttpRecord(now) && now.etag === record.etag && now.at === record.at;
    } catch {
      return false;
    }
  }

  /** Answers from a stored response: written directly when it can be (see `RecordWriter`), else handed on. */
  private serve(context: ExecutionContext, route: RoutePlan, record: HttpCacheRecord, state: CacheState): Observable<unknown> {
    const response = responseOf(context);
    const request = requestOf(context);
    if (this.directHits && this.writer.write(request, response, route, record, state)) return WRITTEN;
    const headers = record.headers;
    const adapter = this.adapterHost.httpAdapter;
    // A Node response (Express) takes headers directly; a Fastify reply goes through the adapter.
    const target = isNodeResponse(response) ? response : { setHeader: (name: string, value: string) => adapter.setHeader(response, name, value) };
    for (const name in headers) target.setHeader(name, headerText(headers[name])!);
    this.writer.ours(target, route, record, state);
    if (response.statusCode !== record.status) adapter.status(response, record.status);
    if (notModified(request, record.etag)) {
      adapter.status(response, 304);
      return of(undefined);
    }
    return of(record.body);
  }

  /**
   * Runs the handler for this request (and those waiting on this key): `done` gets the record to store
   * once the response was sent, or NOT_STORED. Returns the handler's Observable for this request.
   */
  private fill(context: ExecutionContext, next: CallHandler, route: RoutePlan, done: (value: HttpCacheRecord | typeof NOT_STORED) => void): Observable<unknown> {
    const request = requestOf(context);
    const response = responseOf(context);
    const adapter = this.adapterHost.httpAdapter;
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
          done(NOT_STORED);
          return value;
        }
        adapter.setHeader(response, 'ETag', record.etag);
        if (!watching) {
          watching = true;
          // The store decision waits for what was really sent (status, Set-Cookie added by a session
          // middleware at write time). Bound to this request's async context: its tenant scope.
          const stream = (response.raw ?? response) as NodeJS.WritableStream;
          finished(stream, AsyncResource.bind((error?: Error | null) => done(this.storable(route, value, record, request, response, !error))));
        }
        if (notModified(request, record.etag)) {
          adapter.status(response, 304);
          return undefined;
        }
        this.writer.learn(route, response, value);
        return value;
      })),
      // Errors, an empty result, or a client gone before the handler answered: waiters run their own handler.
      finalize(() => watching || done(NOT_STORED)),
    );
  }

  /** The record a handler's value would be stored as, or undefined when it must not be stored. */
  private candidate(route: RoutePlan, value: unknown, before: Record<string, string | undefined>, response: HttpResponseLike): HttpCacheRecord | undefined {
    const status = response.statusCode;
    if (status < 200 || status > 299 || !isStorableBody(value)) return undefined;
    const headers = handlerHeaders(before, response);
    if (!this.mayStore(route, response)) return undefined;
    const etag = headerText(response.getHeaders().etag) ?? strongEtag(value);
    return { v: 2, body: value, status, headers, etag, at: this.stack.now() };
  }

  private mayStore(route: RoutePlan, response: HttpResponseLike): boolean {
    const headers = response.getHeaders();
    if (headers['set-cookie'] !== undefined) return false;
    return cacheControlAllows(headerText(headers['cache-control']), route.per !== undefined && route.per !== 'tenant');
  }

  /** Once the response was sent: the record to store (its tags noted for `tagsOf`), or NOT_STORED. */
  private storable(route: RoutePlan, value: unknown, record: HttpCacheRecord, request: HttpRequestLike, response: HttpResponseLike, sent: boolean): HttpCacheRecord | typeof NOT_STORED {
    const status = response.statusCode;
    if (!sent || (status !== record.status && status !== 304) || !this.mayStore(route, response)) return NOT_STORED;
    try {
      if (route.store.unless?.(value, [request])) return NOT_STORED;
      RECORD_TAGS.set(record, route.store.tags.of(value, [request]));
    } catch (error) {
      this.faults.report(route.where, 'unless or a tag function threw, so the response was not cached', error);
      return NOT_STORED;
    }
    return record;
  }

  /** The getOrSet options of a route: its ttl and grace; only records are stored, with their tags. */
  private optionsOf(route: RoutePlan): GetOrSetOptions<unknown> {
    let options = this.options.get(route);
    if (options === undefined) {
      options = { ttl: route.ttl, grace: route.grace, refreshAhead: false, unless: (value) => !isHttpRecord(value), tagsOf: (value) => RECORD_TAGS.get(value as HttpCacheRecord) ?? [] };
      this.options.set(route, options);
    }
    return options;
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

