import { type CanActivate, type ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Calls } from './scenario.controllers';

/**
 * Stands in for an auth guard: `Authorization: Bearer <id>` sets `req.user`, a `sid=<name>` cookie sets
 * `req.session`. It never rejects, so anonymous requests get through.
 */
@Injectable()
export class ScenarioAuthGuard implements CanActivate {
  constructor(@Optional() private readonly calls?: Calls) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.calls) this.calls.arrived += 1;
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: unknown; session?: unknown }>();
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (bearer) req.user = { id: bearer[1], tenantId: `tenant-of-${bearer[1]}` };
    const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '');
    if (sid) req.session = { name: sid[1] };
    return true;
  }
}
