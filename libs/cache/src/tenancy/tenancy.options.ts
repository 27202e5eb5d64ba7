import { describe } from '../core/durations';
import { InvalidOptionError } from '../core/errors';
import { name, positiveInt } from '../core/option-checks';

/** What a tenant resolver sees of a request (Express and Fastify requests both fit). */
export interface TenantRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly user?: unknown;
}

/**
 * Multi-tenancy: every key built inside a request gets the request's tenant as its `t=` segment.
 * Give at most one way to find the tenant of a request; with none, only `CacheService.forTenant(id)`
 * and `TenantContext.run(id, fn)` set it.
 */
export interface TenancyOptions {
  /** The request header that names the tenant, e.g. `'x-tenant-id'`. */
  header?: string;
  /** The property of `req.user` (set by your auth guard) that holds the tenant id, e.g. `'tenantId'`. */
  user?: string;
  /** Any rule of your own; return undefined when the request has no tenant. */
  resolve?(request: TenantRequest): string | undefined;
  /** Most L1 bytes one tenant's entries may hold. Default: a quarter of `memory.maxBytes`. */
  maxL1Bytes?: number;
}

export interface ResolvedTenancy {
  /** How a request's tenant is found; undefined when requests do not carry one. */
  resolve: ((request: TenantRequest) => string | undefined) | undefined;
  /** Per-tenant L1 quota in bytes; undefined when tenancy or L1 is off. */
  maxL1Bytes: number | undefined;
}

/** The keys of `TenancyOptions`, derived from the type so a new option cannot be forgotten here. */
const KNOWN_TENANCY = new Set<string>(Object.keys({ header: true, user: true, resolve: true, maxL1Bytes: true } satisfies Record<keyof TenancyOptions, true>));

export function resolveTenancy(tenancy: TenancyOptions | undefined, memory: false | { maxBytes: number }): ResolvedTenancy {
  if (tenancy === undefined) return { resolve: undefined, maxL1Bytes: undefined };
  if (typeof tenancy !== 'object' || tenancy === null) {
    throw new InvalidOptionError(`tenancy must be an object such as { header: 'x-tenant-id' }; got ${describe(tenancy)}`);
  }
  for (const key of Object.keys(tenancy)) {
    if (!KNOWN_TENANCY.has(key)) throw new InvalidOptionError(`unknown option 'tenancy.${key}'; tenancy takes ${[...KNOWN_TENANCY].join(', ')}`);
  }
  const ways = (['header', 'user', 'resolve'] as const).filter((way) => tenancy[way] !== undefined);
  if (ways.length > 1) {
    throw new InvalidOptionError(`tenancy takes one of header, user or resolve, not ${ways.join(' and ')}: keep the one that finds your tenant`);
  }
  let resolve: ResolvedTenancy['resolve'];
  if (tenancy.header !== undefined) {
    const header = name(tenancy.header, 'tenancy.header').toLowerCase();
    resolve = (request) => tenantId(request.headers[header]);
  } else if (tenancy.user !== undefined) {
    const property = name(tenancy.user, 'tenancy.user');
    resolve = (request) => {
      const user = request.user;
      return typeof user === 'object' && user !== null ? tenantId((user as Record<string, unknown>)[property]) : undefined;
    };
  } else if (tenancy.resolve !== undefined) {
    if (typeof tenancy.resolve !== 'function') {
      throw new InvalidOptionError(`tenancy.resolve must be a function (request) => string | undefined; got ${describe(tenancy.resolve)}`);
    }
    const custom = tenancy.resolve;
    resolve = (request) => tenantId(custom(request));
  }
  let maxL1Bytes: number | undefined;
  if (memory !== false) {
    maxL1Bytes = positiveInt(tenancy.maxL1Bytes ?? Math.max(1, Math.floor(memory.maxBytes / 4)), 'tenancy.maxL1Bytes', '16 * 1024 * 1024');
  } else if (tenancy.maxL1Bytes !== undefined) {
    throw new InvalidOptionError(`tenancy.maxL1Bytes needs L1; remove it or remove 'memory: false'`);
  }
  return { resolve, maxL1Bytes };
}

/** A tenant id from a header or a user property: a non-empty string (a number is taken as its text). */
function tenantId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
