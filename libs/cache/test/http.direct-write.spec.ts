import { type CallHandler, Controller, type ExecutionContext, Get, Header, type INestApplication, Injectable, type NestInterceptor, UseInterceptors } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { type Observable, map, tap } from 'rxjs';
import { CacheInterceptor, CacheModule } from '../src';

/**
 * A hit on Express is written directly (stored JSON text, no handler path) only where that sends what the
 * handler path would: the same bytes and headers as the miss, and never past an interceptor outside
 * CacheInterceptor that changes the value.
 */
const body = { id: 7, name: 'Ada', tags: ['a', 'b'], nested: { when: '2026-01-01T00:00:00.000Z', n: 1.5 } };

@Controller()
class DirectController {
  @Get('plain')
  @UseInterceptors(CacheInterceptor)
  plain() {
    return body;
  }

  @Get('typed')
  @Header('Content-Type', 'application/vnd.example+json')
  @UseInterceptors(CacheInterceptor)
  typed() {
    return body;
  }

  @Get('text')
  @UseInterceptors(CacheInterceptor)
  text() {
    return 'hello';
  }
}

/** Wraps every value (`{ data }`), outside the route's CacheInterceptor (a global interceptor runs first). */
@Injectable()
class Envelope implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data: unknown) => ({ data })));
  }
}

/** Records the values it sees, outside the route's CacheInterceptor, without changing them (a logging interceptor). */
@Injectable()
class Seen implements NestInterceptor {
  static readonly values: unknown[] = [];
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(tap((value: unknown) => Seen.values.push(value)));
  }
}

/** Hits handed on through Nest's reply, so outer interceptors see them. */
@Injectable()
class HandedOn extends CacheInterceptor {
  protected override directHits = false;
}

@Controller()
class HandedOnController {
  @Get('handed-on')
  @UseInterceptors(HandedOn)
  handedOn() {
    return body;
  }
}

async function start(providers: Parameters<typeof Test.createTestingModule>[0]['providers'] = []): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [CacheModule.forRoot({ ttl: '1m', logger: { log() {}, warn() {}, error() {} } })], controllers: [DirectController, HandedOnController], providers }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}` };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  const picked = Object.fromEntries(['content-type', 'content-length', 'etag', 'x-cache', 'age'].map((name) => [name, response.headers.get(name)]));
  return { status: response.status, text, headers: picked };
}

describe('CacheInterceptor hits written directly (Express)', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('a hit sends the same bytes and headers as the miss, HEAD and conditional requests included', async () => {
    let url: string;
    ({ app, url } = await start());
    const miss = await get(`${url}/plain`);
    expect(miss.headers['x-cache']).toBe('MISS');
    // The body's JSON text is made once per stored record (L1 holds its own copy): not once per hit.
    const stringify = jest.spyOn(JSON, 'stringify');
    try {
      for (let i = 0; i < 3; i++) {
        const hit = await get(`${url}/plain`);
        expect(hit).toEqual({ status: 200, text: miss.text, headers: { ...miss.headers, 'x-cache': 'HIT', age: '0' } });
      }
      expect(stringify.mock.results.filter((result) => result.value === miss.text).length).toBeLessThanOrEqual(1);
    } finally {
      stringify.mockRestore();
    }
    expect(JSON.parse(miss.text)).toEqual(body);
    const head = await fetch(`${url}/plain`, { method: 'HEAD' });
    expect([head.status, head.headers.get('x-cache'), head.headers.get('content-length')]).toEqual([200, 'HIT', miss.headers['content-length']]);
    expect((await get(`${url}/plain`, { 'If-None-Match': miss.headers.etag! })).status).toBe(304);
  });

  it('a Content-Type of the handler and a text body go the handler path, unchanged', async () => {
    let url: string;
    ({ app, url } = await start());
    for (const path of ['typed', 'text']) {
      const miss = await get(`${url}/${path}`);
      const hit = await get(`${url}/${path}`);
      expect(hit).toEqual({ status: 200, text: miss.text, headers: { ...miss.headers, 'x-cache': 'HIT', age: '0' } });
    }
  });

  it('an interceptor outside CacheInterceptor that maps the value still maps it on hits', async () => {
    let url: string;
    ({ app, url } = await start([{ provide: APP_INTERCEPTOR, useClass: Envelope }]));
    const miss = await get(`${url}/plain`);
    expect(JSON.parse(miss.text)).toEqual({ data: body });
    for (let i = 0; i < 2; i++) {
      const hit = await get(`${url}/plain`);
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(JSON.parse(hit.text)).toEqual({ data: body });
    }
  });

  it('an interceptor outside that only reads the value sees nothing on a direct hit, and the value with directHits = false', async () => {
    let url: string;
    ({ app, url } = await start([{ provide: APP_INTERCEPTOR, useClass: Seen }]));
    Seen.values.length = 0;
    const miss = await get(`${url}/plain`);
    const hit = await get(`${url}/plain`);
    expect([miss.headers['x-cache'], hit.headers['x-cache'], hit.text]).toEqual(['MISS', 'HIT', miss.text]);
    // As the README says of direct hits: the response is right, the outer tap saw no value.
    expect(Seen.values).toEqual([body, undefined]);

    Seen.values.length = 0;
    const handedMiss = await get(`${url}/handed-on`);
    for (let i = 0; i < 2; i++) {
      const handedHit = await get(`${url}/handed-on`);
      expect(handedHit).toEqual({ status: 200, text: handedMiss.text, headers: { ...handedMiss.headers, 'x-cache': 'HIT', age: '0' } });
    }
    expect(Seen.values).toEqual([body, body, body]);
  });
});
