import { Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryService, MetadataScanner } from '@nestjs/core';
import { CacheService } from '../cache.service';
import { CacheStack } from '../cache.stack';
import { StrataError } from '../core/errors';
import { CacheInterceptor } from '../http/cache.interceptor';
import { routePlan } from '../http/route-plan';
import { type CacheMetadata, CacheMetadataAccessor } from './cache-metadata.accessor';
import { DecoratorFaults, decoratorError, evictPlan, storePlan } from './cache-plan';
import { cacheEvictMethod, cachePutMethod, cacheableMethod, isWrapped } from './method-wrappers';
import { type InstanceWrapper, methodsOf } from './provider-methods';

type Method = (this: unknown, ...args: unknown[]) => unknown;

const ASYNC_FUNCTION = Object.getPrototypeOf(async () => undefined).constructor as Type<unknown>;

/**
 * Finds the methods carrying cache decorators on every singleton provider and controller at module
 * init (`DiscoveryService`), and wraps each one once, on the instance, so calls from inside the class
 * (`this.score()`) go through the cache too. Route handlers are left to `CacheInterceptor`: a handler
 * with cache decorators and no `CacheInterceptor` bound to it gets a startup warning.
 */
@Injectable()
export class CacheExplorer implements OnModuleInit {
  private readonly faults: DecoratorFaults;
  /** Default keys start with `Class.method`: two different classes of one name would share entries. */
  private readonly defaultKeyOwners = new Map<string, Type<unknown>>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: CacheMetadataAccessor,
    private readonly cache: CacheService,
    private readonly stack: CacheStack,
  ) {
    this.faults = new DecoratorFaults(stack);
  }

  onModuleInit(): void {
    const tenants = this.stack.tenants;
    if (tenants.resolvesRequests && !tenants.hasInterceptor) {
      throw new StrataError(
        'E_INVALID_OPTION',
        `Strata cache: tenancy says how to find a request's tenant, but TenantInterceptor is not installed, so requests ` +
          `would not get their tenant; with forRootAsync, pass requestTenancy: true next to useFactory`,
      );
    }
    const globalCacheInterceptor = this.discovery
      .getProviders()
      .some((wrapper) => typeof wrapper.token === 'string' && wrapper.token.startsWith(APP_INTERCEPTOR) && wrapper.instance instanceof CacheInterceptor);
    for (const wrapper of this.discovery.getProviders()) this.explore(wrapper, false, globalCacheInterceptor);
    for (const wrapper of this.discovery.getControllers()) this.explore(wrapper, true, globalCacheInterceptor);
  }

  private explore(wrapper: InstanceWrapper, controller: boolean, globalCacheInterceptor: boolean): void {
    for (const { instance: target, cls, name, method: original, where, singleton } of methodsOf(wrapper, this.scanner)) {
      const metadata = this.accessor.of(original);
      if (metadata === undefined) continue;
      if (!singleton) {
        this.stack.logger.warn(
          `${where} carries cache decorators but ${cls.name} is request-scoped (or depends on a request-scoped provider): ` +
            `it is not cached; make it a singleton, or use CacheService in it directly`,
        );
        continue;
      }
      if (controller && this.accessor.isRouteHandler(original)) {
        this.checkRoute(where, original, cls, globalCacheInterceptor);
        continue;
      }
      if (isWrapped(target[name])) continue;
      // On the instance (so `this.method()` inside the class goes through it), like the prototype's: not enumerable.
      Object.defineProperty(target, name, { value: this.wrap(where, cls, original as Method, metadata), writable: true, configurable: true, enumerable: false });
    }
  }

  private wrap(where: string, cls: Type<unknown>, original: Method, metadata: CacheMetadata): Method {
    const { cacheable, put, evict, tags } = metadata;
    if (cacheable !== undefined && put !== undefined) {
      throw decoratorError(where, `has both @Cacheable and @CachePut; keep @Cacheable to read through the cache, @CachePut to refresh it`);
    }
    if (tags.length > 0 && cacheable === undefined && put === undefined) {
      throw decoratorError(where, `has @CacheTags but neither @Cacheable nor @CachePut, so nothing is stored to tag`);
    }
    const declaredAsync = original instanceof ASYNC_FUNCTION;
    if (!declaredAsync && Reflect.getMetadata('design:returntype', cls.prototype, original.name) !== Promise) {
      throw decoratorError(
        `${decoratorName(metadata)} on ${where}`,
        `the method is not async, but a cached call must return a Promise; make it 'async' (or declare ': Promise<…>' ` +
          `and return one), or call CacheService.getOrSet inside it instead`,
      );
    }
    let method = original;
    if (cacheable !== undefined) {
      const plan = storePlan(`@Cacheable on ${where}`, cacheable, tags, this.cache, this.defaultKey(where, cls, cacheable.key === undefined));
      method = cacheableMethod(method, plan, this.faults, !declaredAsync);
    } else if (put !== undefined) {
      method = cachePutMethod(method, storePlan(`@CachePut on ${where}`, put, tags, this.cache, undefined), this.faults);
    }
    if (evict.length > 0) {
      method = cacheEvictMethod(method, evict.map((options) => evictPlan(`@CacheEvict on ${where}`, options, this.cache)), this.faults);
    }
    return method;
  }

  private defaultKey(where: string, cls: Type<unknown>, used: boolean): string {
    if (!used) return where;
    const owner = this.defaultKeyOwners.get(where);
    if (owner !== undefined && owner !== cls) {
      throw decoratorError(
        `@Cacheable on ${where}`,
        `another class is also named ${cls.name}, and default keys start with Class.method, so both would share entries; give one of them a key`,
      );
    }
    this.defaultKeyOwners.set(where, cls);
    return where;
  }

  /** Validates a route handler's decorators now, and warns when no `CacheInterceptor` will read them. */
  private checkRoute(where: string, handler: object, cls: Type<unknown>, global: boolean): void {
    routePlan(handler, cls, this.accessor, this.cache, this.stack);
    const bound = this.accessor.boundInterceptors(handler as Method, cls).some(isCacheInterceptor);
    if (!global && !bound) {
      this.stack.logger.warn(
        `${where} is a route handler with cache decorators, but no CacheInterceptor is bound to it, so they do nothing: ` +
          `add @UseInterceptors(CacheInterceptor) to it or its controller, or provide it as APP_INTERCEPTOR`,
      );
    }
  }
}

function isCacheInterceptor(candidate: unknown): boolean {
  if (typeof candidate === 'function') return candidate === CacheInterceptor || candidate.prototype instanceof CacheInterceptor;
  return candidate instanceof CacheInterceptor;
}

function decoratorName(metadata: CacheMetadata): string {
  if (metadata.cacheable !== undefined) return '@Cacheable';
  if (metadata.put !== undefined) return '@CachePut';
  return '@CacheEvict';
}
