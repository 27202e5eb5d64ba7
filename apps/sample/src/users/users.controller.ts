import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import { xCache } from '../common/cache-status';
import { tenantOf } from '../common/tenant';
import { type Served, UsersService } from './users.service';

type RequestHeaders = Record<string, string | string[] | undefined>;

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('users/:id')
  async user(@Param('id') id: string, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    return send(res, await this.users.user(tenantOf(headers), id));
  }

  /** Updates a user and invalidates everything cached about them. */
  @Put('users/:id')
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
