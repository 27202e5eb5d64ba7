import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { TenantRequest } from '../cache.options';
import { TenantContext } from './tenant-context';

/**
 * Opens the request's tenant scope around the rest of the request (later interceptors, the handler and
 * everything it awaits). `CacheModule` registers it globally when `tenancy` says how to find the
 * tenant. It runs after guards, so `req.user` set by an auth guard is there to read.
 */
@Injectable()
export class TenantInterceptor implements NestInterceptor {
  constructor(private readonly tenants: TenantContext) {
    tenants.markInterceptorInstalled();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    // next.handle() binds the async context it is called in: the handler runs inside the scope.
    return this.tenants.forRequest(context.switchToHttp().getRequest<TenantRequest>(), () => next.handle());
  }
}
