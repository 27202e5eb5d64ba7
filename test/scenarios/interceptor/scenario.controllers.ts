import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  Header,
  Injectable,
  NotFoundException,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  Sse,
  type Type,
  UseInterceptors,
} from '@nestjs/common';
import { CacheEvict, CacheInterceptor, Cacheable, NoCache } from '@strata/cache';
import { of } from 'rxjs';

export type Platform = 'express' | 'fastify';

/** Express responses and Fastify replies both have these. */
interface Res {
  header(name: string, value: string): unknown;
  status(code: number): unknown;
}

interface Req {
  headers: Record<string, string | undefined>;
  params: Record<string, string>;
  user?: { id: string };
  session?: { name: string };
}

/** Counts handler runs per route, and can hold a handler until the test lets it go. */
@Injectable()
export class Calls {
  private readonly counts = new Map<string, number>();
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  /** Requests that reached the guard, and handlers parked in `pass()`. */
  arrived = 0;
  waiting = 0;

  hit(route: string): number {
    const next = (this.counts.get(route) ?? 0) + 1;
    this.counts.set(route, next);
    return next;
  }

  of(route: string): number {
    return this.counts.get(route) ?? 0;
  }

  /** Handlers that call `pass()` wait until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async pass(): Promise<void> {
    if (this.gate === undefined) return;
    this.waiting += 1;
    try {
      await this.gate;
    } finally {
      this.waiting -= 1;
    }
  }
}

/**
 * The scenario controllers. Built per platform: the catch-all route of the deception cases is written
 * `me{*rest}` for Express (path-to-regexp 8) and `me*` for Fastify (find-my-way).
 */
export function scenarioControllers(platform: Platform): Type<unknown>[] {
  @Controller()
  @UseInterceptors(CacheInterceptor)
  class ItemsController {
    constructor(private readonly calls: Calls) {}

    @Get('items')
    list(@Query() query: Record<string, string>) {
      return { n: this.calls.hit('items'), query };
    }

    @Get('items/:id')
    @Cacheable({ ttl: '1m', tags: (req: Req) => [`item:${req.params.id}`] })
    async one(@Param('id') id: string) {
      await this.calls.pass();
      return { id, n: this.calls.hit(`item:${id}`) };
    }

    /** A body of `size` characters: over a small maxValueBytes, it cannot be stored. */
    @Get('big/:size')
    async big(@Param('size') size: string) {
      await this.calls.pass();
      return { n: this.calls.hit('big'), text: 'x'.repeat(Number(size)) };
    }

    @Post('items/:id')
    @CacheEvict({ tags: (req: Req) => [`item:${req.params.id}`] })
    create(@Param('id') id: string, @Query('fail') fail?: string) {
      if (fail) throw new BadRequestException('no');
      return { created: id };
    }

    @Put('items/:id')
    @CacheEvict({ tags: (req: Req) => [`item:${req.params.id}`] })
    replace(@Param('id') id: string) {
      return { replaced: id };
    }

    @Patch('items/:id')
    @CacheEvict({ tags: (req: Req) => [`item:${req.params.id}`] })
    patch(@Param('id') id: string) {
      return { patched: id };
    }

    @Delete('items/:id')
    @CacheEvict({ tags: (req: Req) => [`item:${req.params.id}`] })
    remove(@Param('id') id: string) {
      return { removed: id };
    }

    @Get('stale')
    @Cacheable({ ttl: '10s', grace: '1m' })
    async stale() {
      await this.calls.pass();
      return { n: this.calls.hit('stale') };
    }

    @Get('vary')
    @Cacheable({ vary: ['Accept-Language'] })
    vary(@Req() req: Req) {
      return { lang: req.headers['accept-language'] ?? null, n: this.calls.hit('vary') };
    }

    @Get('text')
    text() {
      return `plain ${this.calls.hit('text')}`;
    }

    /** The same body on every run (the runs are counted apart). */
    @Get('stable')
    stable() {
      this.calls.hit('stable');
      return { ok: true };
    }

    @Get('missing')
    missing() {
      this.calls.hit('missing');
      throw new NotFoundException('gone');
    }

    @Get('teapot')
    teapot(@Res({ passthrough: true }) res: Res) {
      res.status(418);
      return { n: this.calls.hit('teapot') };
    }

    @Get('cookie')
    cookie(@Res({ passthrough: true }) res: Res) {
      res.header('Set-Cookie', 'sid=new; HttpOnly');
      return { n: this.calls.hit('cookie') };
    }

    @Get('no-store')
    @Header('Cache-Control', 'no-store')
    noStore() {
      return { n: this.calls.hit('no-store') };
    }

    @Get('private')
    @Header('Cache-Control', 'private, max-age=60')
    private() {
      return { n: this.calls.hit('private') };
    }

    @Get('no-cache-header')
    noCacheHeader(@Res({ passthrough: true }) res: Res) {
      res.header('Cache-Control', 'no-cache');
      return { n: this.calls.hit('no-cache-header') };
    }

    @Sse('events')
    events() {
      const n = this.calls.hit('events');
      return of({ data: { n } }, { data: { n, last: true } });
    }

    @Get('opted-out')
    @NoCache()
    optedOut() {
      return { n: this.calls.hit('opted-out') };
    }

    @Get('replayed-header')
    replayedHeader(@Res({ passthrough: true }) res: Res) {
      res.header('X-Report-Version', '7');
      return { n: this.calls.hit('replayed-header') };
    }

    /** Reflects the inputs a poisoning attack would use. */
    @Get('link')
    link(@Req() req: Req, @Query() query: Record<string, string>) {
      const proto = req.headers['x-forwarded-proto'] ?? 'http';
      const host = req.headers['x-forwarded-host'] ?? req.headers.host;
      return { href: `${proto}://${host}/next`, original: req.headers['x-original-url'] ?? null, query, n: this.calls.hit('link') };
    }

    /** Per-user data: cached per user (Authorization is expected here). */
    @Get('account')
    @Cacheable({ per: 'user' })
    @Header('Cache-Control', 'private')
    account(@Req() req: Req) {
      return { user: req.user?.id ?? null, n: this.calls.hit(`account:${req.user?.id}`) };
    }

    /** A session page reachable under any suffix: the web cache deception target. */
    @Get(platform === 'express' ? 'me{*rest}' : 'me*')
    me(@Req() req: Req) {
      return { session: req.session?.name ?? null, n: this.calls.hit('me') };
    }
  }

  return [ItemsController];
}
