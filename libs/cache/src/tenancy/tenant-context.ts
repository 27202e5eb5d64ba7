import { AsyncLocalStorage } from 'node:async_hooks';
import type { TenantRequest } from './tenancy.options';
import { InvalidKeyError } from '../core/errors';

interface TenantScope {
  readonly tenant: string | undefined;
  /** The request the scope was opened for, so a second interceptor on it does not resolve it again. */
  readonly request?: object;
}

/**
 * The tenant of the current request (or job), carried in `AsyncLocalStorage`. The injected
 * `CacheService` asks it on every call, so every key built inside a tenant scope (decorators, the
 * interceptor, direct calls) gets that tenant's `t=` segment.
 *
 * Until the first scope is entered nothing asks the storage at all: `AsyncLocalStorage` is enabled by
 * its first `run()`, and apps without tenancy never pay for it.
 */
export class TenantContext {
  private readonly storage = new AsyncLocalStorage<TenantScope>();
  private active = false;
  private interceptorInstalled = false;

  constructor(private readonly resolver: ((request: TenantRequest) => string | undefined) | undefined) {}

  /** The current tenant, or undefined outside a tenant scope (or in a scope without one). */
  current(): string | undefined {
    return this.active ? this.storage.getStore()?.tenant : undefined;
  }

  /** Runs `fn` with `tenant` as the current tenant (for jobs, queue consumers, scripts); undefined clears it. */
  run<T>(tenant: string | undefined, fn: () => T): T {
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant.length === 0)) {
      throw new InvalidKeyError('a tenant id', tenant);
    }
    this.active = true;
    return this.storage.run({ tenant }, fn);
  }

  private enter<T>(tenant: string | undefined, request: object, fn: () => T): T {
    this.active = true;
    return this.storage.run({ tenant, request }, fn);
  }

  /** True when requests carry a tenant (`tenancy.header`, `user` or `resolve` is configured). */
  get resolvesRequests(): boolean {
    return this.resolver !== undefined;
  }

  /** The tenant of a request by the configured rule; undefined when it has none or tenancy is off. */
  resolve(request: TenantRequest): string | undefined {
    return this.resolver?.(request);
  }

  /**
   * Runs `fn` in the request's tenant scope, unless that scope is already open (an interceptor further
   * out opened it for this same request). Without a resolver it just runs `fn`.
   */
  forRequest<T>(request: TenantRequest, fn: () => T): T {
    if (this.resolver === undefined || (this.active && this.storage.getStore()?.request === request)) return fn();
    return this.enter(this.resolver(request), request, fn);
  }

  /** Called by `TenantInterceptor` so that startup can tell whether requests will get their tenant. */
  markInterceptorInstalled(): void {
    this.interceptorInstalled = true;
  }

  get hasInterceptor(): boolean {
    return this.interceptorInstalled;
  }
}
