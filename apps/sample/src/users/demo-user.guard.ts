import { BadRequestException, type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { tenantOf } from '../common/tenant';

/** Who is asking, as an auth guard would set it: `id` is unique across tenants (the per-user cache key). */
export interface DemoUser {
  id: string;
  tenant: string;
  userId: string;
}

/**
 * Stands in for authentication: the user is the `X-User-Id` header, in the `X-Tenant-Id` tenant. A real
 * app sets `req.user` from a verified token the same way, and `@Cacheable({ per: 'user' })` keys by it.
 */
@Injectable()
export class DemoUserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request & { user?: DemoUser }>();
    const raw = request.headers['x-user-id'];
    const userId = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (!userId || !/^[\w.-]{1,64}$/.test(userId)) throw new BadRequestException('send X-User-Id: 1-64 letters, digits, dots, dashes or underscores');
    const tenant = tenantOf(request.headers);
    request.user = { id: `${tenant}/${userId}`, tenant, userId };
    return true;
  }
}
