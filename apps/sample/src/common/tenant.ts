import { BadRequestException } from '@nestjs/common';

/**
 * The tenant of requests without `X-Tenant-Id`. Outside the alphabet a header may use, so that no caller
 * can name it: `X-Tenant-Id: public` is a tenant of its own, not the anonymous one.
 */
export const ANONYMOUS_TENANT = '~anonymous';

/** The tenant of a request: the `X-Tenant-Id` header, or `ANONYMOUS_TENANT`. Only safe characters (it is a key segment and a log field). */
export function tenantOf(headers: Record<string, string | string[] | undefined>): string {
  const raw = headers['x-tenant-id'];
  const tenant = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!tenant) return ANONYMOUS_TENANT;
  if (!/^[\w.-]{1,64}$/.test(tenant)) throw new BadRequestException('X-Tenant-Id must be 1-64 letters, digits, dots, dashes or underscores');
  return tenant;
}
