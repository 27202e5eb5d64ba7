import { BadRequestException } from '@nestjs/common';

/** The tenant of a request: the `X-Tenant-Id` header, or 'public'. Only safe characters (it is a key segment and a log field). */
export function tenantOf(headers: Record<string, string | string[] | undefined>): string {
  const raw = headers['x-tenant-id'];
  const tenant = (Array.isArray(raw) ? raw[0] : raw)?.trim() || 'public';
  if (!/^[\w.-]{1,64}$/.test(tenant)) throw new BadRequestException('X-Tenant-Id must be 1-64 letters, digits, dots, dashes or underscores');
  return tenant;
}
