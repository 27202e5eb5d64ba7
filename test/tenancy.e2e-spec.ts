import type Redis from 'ioredis';
import request from 'supertest';
import type { TenancyOptions } from '@strata/cache';
import { useRedis } from '../libs/cache/test/harness';
import type { Platform } from './scenarios/interceptor/scenario.controllers';
import { type ScenarioApp, startScenario } from './scenarios/interceptor/scenario.app';
import { CachedController, DirectController, ReportService } from './scenarios/tenancy/tenancy.scenario';

/** The tenant reaches every key built inside a request, over HTTP, on Express and Fastify. */
describe.each<Platform>(['express', 'fastify'])('tenancy over HTTP (%s)', (platform) => {
  const redis = useRedis();
  let admin: Redis;
  let scenario: ScenarioApp | undefined;
  let n = 0;

  beforeAll(() => {
    admin = redis.client();
  });
  afterEach(async () => {
    await scenario?.close();
    scenario = undefined;
  });

  async function start(tenancy: TenancyOptions) {
    const prefix = `${platform}-tenancy${++n}`;
    scenario = await startScenario(platform, { redis: redis.url, prefix, tenancy }, {
      controllers: [DirectController, CachedController],
      providers: [ReportService],
    });
    return { prefix, http: () => request(scenario!.server), reports: scenario.app.get(ReportService), cached: scenario.app.get(CachedController) };
  }

  it('header: decorators and direct CacheService calls in a route without our interceptor use the tenant', async () => {
    const { prefix, http, reports } = await start({ header: 'x-tenant-id' });
    const a = await http().get('/direct/1').set('X-Tenant-Id', 'acme').expect(200);
    expect(a.body).toMatchObject({ tenant: 'acme', report: { id: '1', run: 1 }, direct: 'computed for acme' });
    expect(a.body.key).toBe(`${prefix}:default:t=acme:default:direct%3A1`);
    const b = await http().get('/direct/1').set('X-Tenant-Id', 'globex').expect(200);
    expect(b.body).toMatchObject({ tenant: 'globex', report: { run: 2 }, direct: 'computed for globex' });
    const again = await http().get('/direct/1').set('X-Tenant-Id', 'acme').expect(200);
    expect(again.body.report.run).toBe(1);
    const nobody = await http().get('/direct/1').expect(200);
    expect(nobody.body).toMatchObject({ tenant: null, report: { run: 3 }, direct: 'computed for nobody' });
    expect(reports.runs).toBe(3);
    const keys = await admin.keys(`${prefix}:*`);
    expect(keys.filter((key) => key.includes(':t=acme:'))).toHaveLength(2);
    expect(keys.filter((key) => key.includes(':t=globex:'))).toHaveLength(2);
  });

  it('header: the interceptor keeps one entry per tenant; a tenant never gets another\'s response', async () => {
    const { http, cached } = await start({ header: 'x-tenant-id' });
    expect((await http().get('/cached').set('X-Tenant-Id', 'acme')).body).toEqual({ tenant: 'acme', run: 1 });
    const globex = await http().get('/cached').set('X-Tenant-Id', 'globex').expect(200);
    expect(globex.headers['x-cache']).toBe('MISS');
    expect(globex.body).toEqual({ tenant: 'globex', run: 2 });
    const acme = await http().get('/cached').set('X-Tenant-Id', 'acme').expect(200);
    expect(acme.headers['x-cache']).toBe('HIT');
    expect(acme.body).toEqual({ tenant: 'acme', run: 1 });
    expect((await http().get('/cached')).body).toEqual({ tenant: null, run: 3 });
    expect(cached.runs).toBe(3);
  });

  it('user: the tenant comes from req.user set by the auth guard (guards run before the tenant scope opens)', async () => {
    const { prefix, http } = await start({ user: 'tenantId' });
    const u1 = await http().get('/direct/7').set('Authorization', 'Bearer u1').expect(200);
    expect(u1.body.tenant).toBe('tenant-of-u1');
    expect(u1.body.key).toBe(`${prefix}:default:t=tenant-of-u1:default:direct%3A7`);
    const u2 = await http().get('/direct/7').set('Authorization', 'Bearer u2').expect(200);
    expect(u2.body.report.run).toBe(2);
  });

  it('resolve: a function of the request', async () => {
    const { http } = await start({ resolve: (req) => (typeof req.headers.host === 'string' ? req.headers.host.split('.')[0] : undefined) });
    const res = await http().get('/direct/1').set('Host', 'acme.example.com').expect(200);
    expect(res.body.tenant).toBe('acme');
  });

  it('a per-tenant route is cached for the tenant even with a session cookie, never for another tenant', async () => {
    const { http, cached } = await start({ header: 'x-tenant-id' });
    const first = await http().get('/cached/team').set({ 'X-Tenant-Id': 'acme', Cookie: 'sid=ada' }).expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await http().get('/cached/team').set({ 'X-Tenant-Id': 'acme', Cookie: 'sid=alan' }).expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    const other = await http().get('/cached/team').set({ 'X-Tenant-Id': 'globex', Cookie: 'sid=ada' }).expect(200);
    expect(other.body).toEqual({ tenant: 'globex', run: 2 });
    const none = await http().get('/cached/team').set('Cookie', 'sid=ada').expect(200);
    expect(none.headers['x-cache']).toBeUndefined();
    expect(cached.runs).toBe(3);
  });
});
