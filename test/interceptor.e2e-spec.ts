import type Redis from 'ioredis';
import request from 'supertest';
import { CacheService } from '@strata/cache';
import { startRedis, useRedis, waitFor, waitForValue } from '../libs/cache/test/harness';
import { Calls, type Platform, scenarioControllers } from './scenarios/interceptor/scenario.controllers';
import { type ScenarioApp, startScenario } from './scenarios/interceptor/scenario.app';

/** Every rule of CacheInterceptor, over real HTTP, on Express and on Fastify, with Redis as L2. */
describe.each<Platform>(['express', 'fastify'])('CacheInterceptor over HTTP (%s)', (platform) => {
  const redis = useRedis();
  let admin: Redis;
  let scenario: ScenarioApp;
  let calls: Calls;
  let prefix: string;
  let n = 0;

  beforeAll(() => {
    admin = redis.client();
  });
  beforeEach(async () => {
    prefix = `${platform}${++n}`;
    scenario = await startScenario(platform, { redis: redis.url, prefix, ttl: '1m', maxValueBytes: 64 * 1024 }, { controllers: scenarioControllers(platform), providers: [Calls] });
    calls = scenario.app.get(Calls);
  });
  afterEach(async () => {
    calls.release();
    await scenario.close();
  });

  const http = () => request(scenario.server);
  // Entries only: the library's own keys (`:__inv:`, `:__bus`…) come and go with tags and the bus.
  const storedKeys = async () => (await admin.keys(`${prefix}:*`)).filter((key) => !key.includes(':__') && !key.includes(':{__'));

  it('GET: MISS, then HIT with the same body, Age and a strong ETag; the handler runs once', async () => {
    const first = await http().get('/items/1').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    const second = await http().get('/items/1').expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers.age).toBe('0');
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(second.body).toEqual(first.body);
    expect(second.headers['content-type']).toMatch(/application\/json/);
    expect(calls.of('item:1')).toBe(1);
    expect(await storedKeys()).toHaveLength(1);
  });

  it('Age counts the seconds since the response was stored', async () => {
    await http().get('/items/2').expect(200);
    scenario.clock.advance(5_400);
    const later = await http().get('/items/2').expect(200);
    expect(later.headers['x-cache']).toBe('HIT');
    expect(later.headers.age).toBe('5');
  });

  it('HEAD is answered from the GET entry (and fills it), with no body', async () => {
    const head = await http().head('/items/3').expect(200);
    expect(head.headers['x-cache']).toBe('MISS');
    expect(head.text ?? '').toBe('');
    const get = await http().get('/items/3').expect(200);
    expect(get.headers['x-cache']).toBe('HIT');
    const again = await http().head('/items/3').expect(200);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.headers.etag).toBe(get.headers.etag);
    expect(calls.of('item:3')).toBe(1);
  });

  it('the query is part of the key, sorted: reordered parameters hit, a changed value misses', async () => {
    await http().get('/items?b=2&a=1').expect(200);
    const reordered = await http().get('/items?a=1&b=2').expect(200);
    expect(reordered.headers['x-cache']).toBe('HIT');
    const other = await http().get('/items?a=1&b=3').expect(200);
    expect(other.headers['x-cache']).toBe('MISS');
    expect(other.body.query).toEqual({ a: '1', b: '3' });
    expect(calls.of('items')).toBe(2);
  });

  it('vary: the named request headers are keyed and listed in Vary', async () => {
    const fr = await http().get('/vary').set('Accept-Language', 'fr').expect(200);
    expect(fr.headers.vary).toMatch(/Accept-Language/i);
    expect((await http().get('/vary').set('Accept-Language', 'fr')).headers['x-cache']).toBe('HIT');
    const de = await http().get('/vary').set('Accept-Language', 'de').expect(200);
    expect(de.headers['x-cache']).toBe('MISS');
    expect(de.body.lang).toBe('de');
    const none = await http().get('/vary').expect(200);
    expect(none.body.lang).toBeNull();
    expect(none.headers['x-cache']).toBe('MISS');
    expect((await http().get('/vary').set('Accept-Language', 'de')).headers.vary).toMatch(/Accept-Language/i);
    expect(calls.of('vary')).toBe(3);
  });

  it('If-None-Match with the ETag (strong or weak form, or *) → 304 with no body', async () => {
    const first = await http().get('/items/4').expect(200);
    const etag = first.headers.etag as string;
    for (const candidate of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const cached = await http().get('/items/4').set('If-None-Match', candidate).expect(304);
      expect(cached.text ?? '').toBe('');
      expect(cached.headers.etag).toBe(etag);
      expect(cached.headers['x-cache']).toBe('HIT');
    }
    await http().get('/items/4').set('If-None-Match', '"other"').expect(200);
    expect(calls.of('item:4')).toBe(1);
    // A miss whose fresh response has the client's tag answers 304 as well (another key, the same body).
    const stable = await http().get('/stable?v=1').expect(200);
    const miss = await http().get('/stable?v=2').set('If-None-Match', stable.headers.etag as string).expect(304);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.text ?? '').toBe('');
    expect(calls.of('stable')).toBe(2);
    expect((await http().get('/stable?v=2')).headers['x-cache']).toBe('HIT');
  });

  it('STALE: within grace, requests get the stale copy while one request refreshes it', async () => {
    const first = await http().get('/stale').expect(200);
    expect(first.body.n).toBe(1);
    // The response is stored after it was sent, and its fill (the getOrSet factory run) ends with that
    // write: wait for a HIT, or the request after the clock moves finds that fill still running and gets STALE.
    await waitForValue(() => http().get('/stale').expect(200), (res) => res.headers['x-cache'] === 'HIT');
    scenario.clock.advance(11_000); // past ttl (10 s), within grace (1 m)
    calls.hold();
    const refreshing = http().get('/stale').then((res) => res);
    await waitFor(() => calls.waiting === 1);
    const stale = await http().get('/stale').expect(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.headers.age).toBe('11');
    expect(stale.body.n).toBe(1);
    calls.release();
    const refreshed = await refreshing;
    expect(refreshed.headers['x-cache']).toBe('MISS');
    expect(refreshed.body.n).toBe(2);
    // The refreshed response is stored once it has been sent; until then requests may still get STALE.
    const after = await waitForValue(() => http().get('/stale').expect(200), (res) => res.headers['x-cache'] === 'HIT');
    expect(after.body.n).toBe(2);
    expect(calls.of('stale')).toBe(2);
  });

  it.each([
    ['a 404 thrown by the handler', '/missing', 404, 'missing'],
    ['a non-2xx status set by the handler', '/teapot', 418, 'teapot'],
    ['a response with Set-Cookie', '/cookie', 200, 'cookie'],
    ['Cache-Control: no-store', '/no-store', 200, 'no-store'],
    ['Cache-Control: private', '/private', 200, 'private'],
    ['Cache-Control: no-cache', '/no-cache-header', 200, 'no-cache-header'],
    ['a route opted out with @NoCache', '/opted-out', 200, 'opted-out'],
    ['a server-sent events stream', '/events', 200, 'events'],
  ])('never stores %s', async (_label, path, status, route) => {
    await http().get(path).expect(status);
    const second = await http().get(path).expect(status);
    expect(second.headers['x-cache']).not.toBe('HIT');
    expect(calls.of(route)).toBe(2);
    expect(await storedKeys()).toEqual([]);
  });

  it('headers the handler set are replayed on hits; Set-Cookie never is', async () => {
    await http().get('/replayed-header').expect(200);
    const hit = await http().get('/replayed-header').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-report-version']).toBe('7');
  });

  it('requests with Authorization or Cookie are not cached on a public route', async () => {
    for (const [name, value] of [['Authorization', 'Bearer u1'], ['Cookie', 'sid=alice']]) {
      const first = await http().get('/items/5').set(name, value).expect(200);
      expect(first.headers['x-cache']).toBeUndefined();
    }
    expect(calls.of('item:5')).toBe(2);
    expect(await storedKeys()).toEqual([]);
    // They do not read what anonymous requests stored either.
    await http().get('/items/5').expect(200);
    const withAuth = await http().get('/items/5').set('Authorization', 'Bearer u1').expect(200);
    expect(withAuth.headers['x-cache']).toBeUndefined();
    expect(calls.of('item:5')).toBe(4);
  });

  it('a per-user route caches per user (private allowed), never across users, and not without a user', async () => {
    const u1 = await http().get('/account').set('Authorization', 'Bearer u1').expect(200);
    expect(u1.body.user).toBe('u1');
    expect(u1.headers['x-cache']).toBe('MISS');
    const again = await http().get('/account').set('Authorization', 'Bearer u1').expect(200);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body).toEqual(u1.body);
    const u2 = await http().get('/account').set('Authorization', 'Bearer u2').expect(200);
    expect(u2.body.user).toBe('u2');
    expect(u2.headers['x-cache']).toBe('MISS');
    const anonymous = await http().get('/account').expect(200);
    expect(anonymous.body.user).toBeNull();
    expect(anonymous.headers['x-cache']).toBeUndefined();
    expect(calls.of('account:u1')).toBe(1);
  });

  it.each([
    ['X-Forwarded-Host', { 'X-Forwarded-Host': 'evil.example' }, (body: { href: string }) => body.href.includes('evil.example')],
    ['X-Forwarded-Proto', { 'X-Forwarded-Proto': 'javascript' }, (body: { href: string }) => body.href.startsWith('javascript:')],
    ['X-Original-URL', { 'X-Original-URL': '/admin' }, (body: { original: string | null }) => body.original === '/admin'],
    ['Host', { Host: 'evil.example' }, (body: { href: string }) => body.href.includes('evil.example')],
  ])('poisoning through %s is never served to anyone else', async (_label, headers, poisoned) => {
    const attack = await http().get('/link').set(headers).expect(200);
    expect(poisoned(attack.body)).toBe(true);
    const victim = await http().get('/link').expect(200);
    expect(poisoned(victim.body)).toBe(false);
    expect(victim.headers['x-cache']).toBe('MISS');
    // The attacker's own repeat is a hit: the header is keyed, not ignored.
    expect((await http().get('/link').set(headers)).headers['x-cache']).toBe('HIT');
  });

  it('extra query parameters are keyed: a reflected parameter never reaches a request without it', async () => {
    const attack = await http().get('/link?utm=%3Cscript%3E').expect(200);
    expect(attack.body.query).toEqual({ utm: '<script>' });
    const victim = await http().get('/link').expect(200);
    expect(victim.body.query).toEqual({});
    expect(victim.headers['x-cache']).toBe('MISS');
    const other = await http().get('/link?utm=%3Cscript%3E&x=1').expect(200);
    expect(other.headers['x-cache']).toBe('MISS');
  });

  it.each(['/me/x.css', '/me;x.css'])('web cache deception: %s with a session stores nothing', async (path) => {
    const alice = await http().get(path).set('Cookie', 'sid=alice').expect(200);
    expect(alice.body.session).toBe('alice');
    expect(alice.headers['x-cache']).toBeUndefined();
    expect(await storedKeys()).toEqual([]);
    const stranger = await http().get(path).expect(200);
    expect(stranger.body.session).toBeNull();
    expect(stranger.headers['x-cache']).toBe('MISS');
  });

  it('concurrent identical requests run the handler once', async () => {
    calls.hold();
    const responses = Promise.all(Array.from({ length: 20 }, () => http().get('/items/6')));
    // Every request is in (past the guard) and one handler is parked: the others can only wait for it.
    await waitFor(() => calls.arrived === 20 && calls.waiting === 1);
    calls.release();
    const all = await responses;
    expect(all.every((res) => res.status === 200 && res.body.n === 1)).toBe(true);
    expect(all.filter((res) => res.headers['x-cache'] === 'MISS')).toHaveLength(1);
    expect(all.filter((res) => res.headers['x-cache'] === 'HIT')).toHaveLength(19);
    expect(calls.of('item:6')).toBe(1);
  });

  it('a response too large to store is handed to the requests that waited for it as MISS, never HIT', async () => {
    // The app's maxValueBytes is 64 KB (beforeEach); this body is 100 KB.
    calls.hold();
    const responses = Promise.all(Array.from({ length: 5 }, () => http().get('/big/100000')));
    await waitFor(() => calls.arrived === 5 && calls.waiting === 1);
    calls.release();
    const all = await responses;
    expect(all.map((res) => [res.status, res.body.text.length, res.headers['x-cache']])).toEqual(Array(5).fill([200, 100_000, 'MISS']));
    expect(calls.of('big')).toBe(1);
    const again = await http().get('/big/100000').expect(200);
    expect(again.headers['x-cache']).toBe('MISS');
    expect(calls.of('big')).toBe(2);
  });

  it.each(['post', 'put', 'patch', 'delete'] as const)('@CacheEvict on %s invalidates after a 2xx response, not after a failure', async (method) => {
    await http().get('/items/7').expect(200);
    expect((await http().get('/items/7')).headers['x-cache']).toBe('HIT');
    if (method === 'post') {
      await http().post('/items/7?fail=1').expect(400);
      expect((await http().get('/items/7')).headers['x-cache']).toBe('HIT');
    }
    await http()[method]('/items/7').expect(method === 'post' ? 201 : 200);
    const after = await http().get('/items/7').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.n).toBe(2);
  });
});

describe.each<Platform>(['express', 'fastify'])('CacheInterceptor when the cache fails (%s)', (platform) => {
  it('a cache error falls through to the handler', async () => {
    const server = await startRedis();
    const scenario = await startScenario(
      platform,
      { redis: server.url, prefix: 'failing', strict: true, commandTimeout: 200 },
      { controllers: scenarioControllers(platform), providers: [Calls] },
    );
    try {
      await server.kill();
      const calls = scenario.app.get(Calls);
      for (let i = 1; i <= 2; i++) {
        const res = await request(scenario.server).get('/items/1').expect(200);
        expect(res.body).toEqual({ id: '1', n: i });
      }
      expect(calls.of('item:1')).toBe(2);
      // Back up before closing, so shutdown does not wait on a socket to a dead server.
      await server.restart();
      const cache = scenario.app.get(CacheService);
      await waitFor(() => cache.stats().l2.state === 'closed');
    } finally {
      await scenario.close();
      await server.stop();
    }
  });
});
