import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Put, Req, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import { CacheEvict, CacheInterceptor, Cacheable } from '@strata/cache';
import type { Request, Response } from 'express';
import { xCache } from '../common/cache-status';
import { tenantOf } from '../common/tenant';
import { DemoUserGuard, type DemoUser } from './demo-user.guard';
import { type Served, UsersService, userResponseTag } from './users.service';

type RequestHeaders = Record<string, string | string[] | undefined>;

/** The tag of the cached responses about the user a request names (`:id`) in its tenant. */
const responsesAbout = (request: Request) => [userResponseTag(tenantOf(request.headers), String(request.params.id))];

/** `CacheInterceptor` on the routes that use it only: the others (sessions, conversations) answer from the service's cache. */
@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** A per-tenant route: the tenant is part of the response's cache key (tenants never see each other's users). */
  @Get('users/:id')
  @UseInterceptors(CacheInterceptor)
  @Cacheable({ name: 'users', ttl: '1m', per: (request: Request) => tenantOf(request.headers), tags: responsesAbout })
  user(@Param('id') id: string, @Headers() headers: RequestHeaders) {
    return this.users.user(tenantOf(headers), id);
  }

  /** A per-user route: `req.user` (set by the guard) is part of the key; `Cache-Control: private` is fine here. */
  @Get('me')
  @UseGuards(DemoUserGuard)
  @UseInterceptors(CacheInterceptor)
  @Cacheable({ name: 'users', ttl: '1m', per: 'user', tags: (request: Request & { user: DemoUser }) => [userResponseTag(request.user.tenant, request.user.userId)] })
  me(@Req() request: Request & { user: DemoUser }, @Res({ passthrough: true }) res: Response) {
    res.setHeader('Cache-Control', 'private, max-age=60');
    return this.users.user(request.user.tenant, request.user.userId);
  }

  /** Updates a user: the service's `@CachePut` refreshes the user, this route's `@CacheEvict` drops the cached responses about them. */
  @Put('users/:id')
  @UseInterceptors(CacheInterceptor)
  @CacheEvict({ name: 'users', tags: responsesAbout })
  updateUser(@Param('id') id: string, @Body() body: Record<string, unknown>, @Headers() headers: RequestHeaders) {
    return this.users.updateUser(tenantOf(headers), id, body ?? {});
  }

  @Get('users/:id/conversations')
  async conversationsOf(@Param('id') id: string, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    return send(res, await this.users.conversationsOf(tenantOf(headers), id));
  }

  /** A rate-limited action: 429 past `SAMPLE_RATE_LIMIT` (default 10) per user per minute. */
  @Post('users/:id/actions')
  @HttpCode(200)
  async act(@Param('id') id: string, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const result = await this.users.act(tenantOf(headers), id);
    res.setHeader('X-RateLimit-Limit', String(result.limit));
    res.setHeader('X-RateLimit-Remaining', String(result.remaining));
    return result;
  }

  @Post('users/:id/sessions')
  createSession(@Param('id') id: string, @Headers() headers: RequestHeaders) {
    return this.users.createSession(tenantOf(headers), id);
  }

  @Get('sessions/:id')
  async session(@Param('id') id: string, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const session = await this.users.session(tenantOf(headers), id);
    res.setHeader('X-Cache', 'HIT');
    return session;
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  endSession(@Param('id') id: string, @Headers() headers: RequestHeaders) {
    return this.users.endSession(tenantOf(headers), id);
  }

  @Post('conversations')
  startConversation(@Body() body: { userId?: unknown; title?: unknown }, @Headers() headers: RequestHeaders) {
    if (typeof body?.userId !== 'string') return this.users.startConversation(tenantOf(headers), '', undefined);
    return this.users.startConversation(tenantOf(headers), body.userId, body.title);
  }

  @Get('conversations/:id')
  async conversation(@Param('id') id: string, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    return send(res, await this.users.conversation(tenantOf(headers), id));
  }

  @Post('conversations/:id/messages')
  @HttpCode(200)
  async say(@Param('id') id: string, @Body() body: { content?: unknown }, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const result = await this.users.say(tenantOf(headers), id, body?.content);
    res.setHeader('X-Cache', xCache(result.cache.status as 'miss'));
    return result;
  }

  /** `{ status: 'active' | 'completed' }`: the conversation is cached 5 min while active, 24 h once completed. */
  @Put('conversations/:id/status')
  setStatus(@Param('id') id: string, @Body() body: { status?: unknown }, @Headers() headers: RequestHeaders) {
    return this.users.setStatus(tenantOf(headers), id, body?.status);
  }
}

function send<T>(res: Response, served: Served<T>): T {
  res.setHeader('X-Cache', xCache(served.hit ? 'hit' : 'miss'));
  return served.value;
}
