import request from 'supertest';
import { CacheService } from '@strata/cache';
import { CACHE_MANAGER, type Cache } from '@strata/cache/compat';
import { waitFor } from '../../libs/cache/test/harness';
import { AppModule as AutoCachingModule } from './scenarios/auto-caching/app.module';
import { AppModule as GlobalModule } from './scenarios/global/app.module';
import { AppModule as InMemoryModule } from './scenarios/in-memory/app.module';
import { AppModule as OverridesModule } from './scenarios/overrides/app.module';
import { AppModule as TrackingModule } from './scenarios/tracking/app.module';
import { Calls, PLATFORMS, type Platform, type RunningApp, startApp } from './scenarios/start-app';

/**
 * The HTTP examples of the NestJS caching docs page, each a scenario module whose only change from the
 * docs is the import line ('@nestjs/cache-manager' → '@strata/cache/compat'), over real HTTP on
 * Express and on Fastify.
 */
describe.each<Platform>(PLATFORMS)('NestJS caching docs over Strata (%s)', (platform) => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  const start = async (module: Parameters<typeof startApp>[1]) => (running = await startApp(platform, module));
  const http = () => request(running!.url);

  describe('In-memory cache + interacting with the cache store', () => {
    beforeEach(() => start(InMemoryModule));

    it('set then get; get of a missing key is empty (undefined, as cache-manager 7; the docs page says null)', async () => {
      await http().post('/store/greeting').send({ value: 'hello' }).expect(201);
      expect((await http().get('/store/greeting').expect(200)).body.value).toBe('hello');
      await expect(running!.app.get<Cache>(CACHE_MANAGER).get('missing')).resolves.toBeUndefined();
    });

    it("set(key, value, 1000): the ttl is milliseconds, so it expires a second later", async () => {
      const before = Date.now();
      await http().post('/store/short?ttl=1000').send({ value: 'v' }).expect(201);
      const { expires } = (await http().get('/store/short').expect(200)).body as { expires: number };
      expect(expires).toBeGreaterThanOrEqual(before + 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 1000);
      await waitFor(async () => (await http().get('/store/short')).body.value === null, { timeoutMs: 30_000, intervalMs: 50 });
    });

    it('set(key, value, 0) and the default ttl (none given) never expire: ttl() reports no expiry', async () => {
      await http().post('/store/forever?ttl=0').send({ value: 'kept' }).expect(201);
      await http().post('/store/default').send({ value: 'kept too' }).expect(201);
      expect((await http().get('/store/forever')).body).toEqual({ value: 'kept', expires: null });
      expect((await http().get('/store/default')).body).toEqual({ value: 'kept too', expires: null });
    });

    it('del removes one key; clear removes them all', async () => {
      await http().post('/store/a').send({ value: 1 }).expect(201);
      await http().post('/store/b').send({ value: 2 }).expect(201);
      await http().delete('/store/a').expect(200);
      expect((await http().get('/store/a')).body.value).toBeNull();
      expect((await http().get('/store/b')).body.value).toBe(2);
      await http().delete('/store').expect(200);
      expect((await http().get('/store/b')).body.value).toBeNull();
    });

    it('a value read back is a copy the caller may change; the cached one is untouched', async () => {
      await http().post('/store/doc').send({ value: { tags: ['a'] } }).expect(201);
      const { body } = await http().post('/store/doc/mutate').expect(201);
      expect(body.mutated).toEqual({ tags: ['a', 'changed-by-caller'] });
      expect(body.again).toEqual({ tags: ['a'] });
    });
  });

  describe('Auto-caching responses (@UseInterceptors(CacheInterceptor) on a controller)', () => {
    beforeEach(() => start(AutoCachingModule));

    it('a GET is answered from the cache the second time (X-Cache MISS then HIT), keyed by URL', async () => {
      const first = await http().get('/').expect(200);
      const second = await http().get('/').expect(200);
      expect(first.body).toEqual(['run 1']);
      expect(second.body).toEqual(['run 1']);
      expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'HIT']);
      // The URL (with its query) is the key: another query string is another entry.
      expect((await http().get('/?page=2').expect(200)).body).toEqual(['run 2']);
      expect(running!.app.get(Calls).of('findAll')).toBe(2);
    });

    it('a handler that throws answers its error, runs once per request, and nothing is cached', async () => {
      await http().get('/missing').expect(404);
      await http().get('/missing').expect(404);
      expect(running!.app.get(Calls).of('missing')).toBe(2);
    });

    it('only GET is cached: POST runs every time', async () => {
      await http().post('/').expect(201);
      await http().post('/').expect(201);
      expect(running!.app.get(Calls).of('create')).toBe(2);
    });

    it('concurrent identical GETs that miss run the handler once (Strata; cache-manager runs it for each)', async () => {
      const bodies = await Promise.all(Array.from({ length: 8 }, () => http().get('/items').expect(200)));
      expect(new Set(bodies.map((response) => JSON.stringify(response.body)))).toEqual(new Set(['{"items":["run 1"]}']));
      expect(running!.app.get(Calls).of('items')).toBe(1);
    });
  });

  describe('Global: APP_INTERCEPTOR, ttl: 5000 (ms), isGlobal: true', () => {
    beforeEach(() => start(GlobalModule));

    it('every GET route is cached, for 5000 ms, and a module that does not import CacheModule injects CACHE_MANAGER', async () => {
      const before = Date.now();
      expect((await http().get('/reports/daily').expect(200)).body).toEqual({ run: 1 });
      expect((await http().get('/reports/daily').expect(200)).body).toEqual({ run: 1 });
      const { body } = await http().get('/reports/expiry').expect(200);
      expect(body.expires).toBeGreaterThanOrEqual(before + 5000);
      expect(body.expires).toBeLessThanOrEqual(body.now + 5000);
    });
  });

  describe('Global cache overrides: @CacheKey, @CacheTTL on controller and handler (milliseconds)', () => {
    beforeEach(() => start(OverridesModule));

    it("@CacheKey('custom_key') is the key; @CacheTTL(20) on the handler wins over the controller's 50: 20 ms", async () => {
      const cache = running!.app.get<Cache>(CACHE_MANAGER);
      const strata = running!.app.get(CacheService);
      const written: string[] = [];
      strata.events.on('set', ({ key }) => written.push(key));
      const before = Date.now();
      expect((await http().get('/').expect(200)).body).toEqual(['run 1']);
      expect(written).toEqual([strata.keyOf('custom_key')]);
      const expires = await cache.ttl('custom_key');
      // Units pinned: 20 ms, not 20 s. (If it already expired on a slow machine, ttl() is undefined.)
      if (expires !== undefined) expect(expires).toBeLessThanOrEqual(Date.now() + 20);
      await waitFor(async () => (await http().get('/')).body[0] !== 'run 1', { timeoutMs: 30_000, intervalMs: 25 });
      expect(Date.now() - before).toBeGreaterThanOrEqual(20);
    });

    it("a handler without @CacheTTL takes the controller's 50 ms", async () => {
      const before = Date.now();
      await http().get('/controller-ttl').expect(200);
      const expires = await running!.app.get<Cache>(CACHE_MANAGER).ttl('/controller-ttl');
      if (expires !== undefined) {
        expect(expires).toBeGreaterThanOrEqual(before + 50);
        expect(expires).toBeLessThanOrEqual(Date.now() + 50);
      }
      await waitFor(async () => (await http().get('/controller-ttl')).body[0] !== 'run 1', { timeoutMs: 30_000, intervalMs: 25 });
      expect(Date.now() - before).toBeGreaterThanOrEqual(50);
    });

    it('@CacheTTL(context => ms) is called with the execution context', async () => {
      const before = Date.now();
      await http().get('/ttl-from-context?ttl=60000').expect(200);
      const expires = await running!.app.get<Cache>(CACHE_MANAGER).ttl('/ttl-from-context?ttl=60000');
      expect(expires).toBeGreaterThanOrEqual(before + 60_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 60_000);
    });
  });

  describe('Adjust tracking: a CacheInterceptor subclass overriding trackBy()', () => {
    beforeEach(() => start(TrackingModule));

    it("trackBy() returning 'key' makes every request share one entry", async () => {
      expect((await http().get('/one').expect(200)).body).toEqual({ run: 1 });
      expect((await http().get('/two').expect(200)).body).toEqual({ run: 1 });
      expect(await running!.app.get<Cache>(CACHE_MANAGER).get('key')).toEqual({ run: 1 });
    });

    it('an async trackBy() keyed by the Authorization header: one entry per user, none without it', async () => {
      expect((await http().get('/profile').set('Authorization', 'alice')).body).toEqual({ run: 1 });
      expect((await http().get('/profile').set('Authorization', 'bob')).body).toEqual({ run: 2 });
      expect((await http().get('/profile').set('Authorization', 'alice')).body).toEqual({ run: 1 });
      expect((await http().get('/profile')).body).toEqual({ run: 3 });
      expect((await http().get('/profile')).body).toEqual({ run: 4 });
    });
  });
});
