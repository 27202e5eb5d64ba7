import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import type Redis from 'ioredis';
import { CacheModule, InvalidOptionError, StrataError, TenantContext, type CacheModuleOptions, InvalidKeyError } from '../src';
import { resolveOptions } from '../src/cache.options';
import { tenantOfKey } from '../src/core/keys';
import { useRedis } from './harness';
import { CacheFactory } from './cache-factory';

const SPECIAL = [':', '*', '?', '[', ']', '\\', '=', '%', '#', '{', '}'];

/** Tenant ids made to break things: key and glob syntax, escapes, control characters, any code point. */
const hostileTenant = fc.oneof(
  fc.string({ unit: fc.constantFrom(...SPECIAL, 't', 'a', 'é', '😀', '\u0000', ' '), minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
);

/**
 * Pairs of distinct tenants, half of them near-twins: the second is the first with a special character
 * inserted or removed, or with one written as its own escape (`:` → `%3A`), where a lossy or ambiguous
 * escaping would make two tenants share keys.
 */
const tenantPair = hostileTenant.chain((a) => {
  const at = fc.nat(a.length);
  const twin = fc.oneof(
    fc.tuple(at, fc.constantFrom(...SPECIAL)).map(([i, ch]) => a.slice(0, i) + ch + a.slice(i)),
    at.map((i) => a.slice(0, i) + a.slice(i + 1)),
    fc.constantFrom(...SPECIAL).map((ch) => a.split(ch).join('%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'))),
    fc.constant(`${a}:default`),
  );
  return fc.tuple(fc.constant(a), fc.oneof(hostileTenant, twin)).filter(([x, y]) => y.length > 0 && x !== y);
});

describe('tenancy on a real Redis', () => {
  const redis = useRedis();
  const apps = new CacheFactory();
  let admin: Redis;
  let n = 0;
  const prefix = () => `ten${++n}`;

  beforeAll(() => {
    admin = redis.client();
  });
  afterEach(() => apps.closeAll());

  it('inside a tenant scope every CacheService call works on that tenant\'s keys', async () => {
    const p = prefix();
    const { app, cache } = await apps.create({ redis: redis.url, prefix: p, caches: { ai: {} } });
    const tenants = app.get(TenantContext);
    expect(tenants.current()).toBeUndefined();
    await tenants.run('acme', async () => {
      expect(tenants.current()).toBe('acme');
      expect(cache.tenant).toBe('acme');
      expect(cache.keyOf('k')).toBe(`${p}:default:t=acme:default:k`);
      await cache.set('k', 'acme value', { tags: ['t1'] });
      expect(await cache.getOrSet('g', () => 'acme g')).toBe('acme g');
      await cache.cache('ai').set('q', 'acme answer');
      await cache.namespace('other').set('n', 'acme n');
      await cache.setMany([{ key: 'm', value: 'acme m' }]);
      expect(await cache.increment('c')).toBe(1);
    });
    expect(await admin.exists(`${p}:default:t=acme:default:k`, `${p}:default:t=acme:ai:q`, `${p}:other:t=acme:default:n`)).toBe(3);
    // Outside the scope, and in another tenant, none of it is visible.
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.getMany(['k', 'g', 'm'])).toEqual([undefined, undefined, undefined]);
    await tenants.run('globex', async () => {
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.cache('ai').get('q')).toBeUndefined();
      expect(await cache.increment('c')).toBe(1);
    });
    // A pinned view ignores the scope: jobs use it.
    expect(await tenants.run('globex', () => cache.forTenant('acme').get('k'))).toBe('acme value');
    expect(await cache.forTenant('acme').get('k')).toBe('acme value');
  });

  it('tags, clear and patterns of one tenant never touch another tenant', async () => {
    const { app, cache } = await apps.create({ redis: redis.url, prefix: prefix() });
    const tenants = app.get(TenantContext);
    for (const tenant of ['a', 'b']) {
      await tenants.run(tenant, async () => {
        await cache.set('x', `${tenant}:x`, { tags: ['shared-tag'] });
        await cache.set('y', `${tenant}:y`);
      });
    }
    await tenants.run('a', () => cache.invalidateTags(['shared-tag']));
    expect(await cache.forTenant('a').get('x')).toBeUndefined();
    expect(await cache.forTenant('b').get('x')).toBe('b:x');
    await tenants.run('a', () => cache.invalidatePattern('*'));
    expect(await cache.forTenant('a').get('y')).toBeUndefined();
    expect(await cache.forTenant('b').get('y')).toBe('b:y');
    await tenants.run('b', () => cache.clear());
    expect(await cache.forTenant('b').get('y')).toBeUndefined();
  });

  it.each<[string, CacheModuleOptions]>([
    ['L1 and Redis', {}],
    ['Redis only', { memory: false }],
  ])('property: a tenant never reads another tenant\'s entry (%s)', async (_label, tiers) => {
    const p = prefix();
    const { app, cache } = await apps.create({ redis: redis.url, prefix: p, ...tiers });
    const tenants = app.get(TenantContext);
    await fc.assert(
      fc.asyncProperty(tenantPair, fc.string({ minLength: 1, maxLength: 8 }), async ([a, b], key) => {
        const value = { owner: a, key };
        await tenants.run(a, () => cache.set(key, value, { tags: ['t'] }));
        const seenByB = await tenants.run(b, () => Promise.all([cache.get(key), cache.getMany([key]), cache.has(key)]));
        expect(seenByB).toEqual([undefined, [undefined], false]);
        expect(await cache.forTenant(b).get(key)).toBeUndefined();
        expect(cache.forTenant(a).keyOf(key)).not.toBe(cache.forTenant(b).keyOf(key));
        // b's glob and tag invalidations cannot reach a's entry either.
        await tenants.run(b, async () => {
          await cache.invalidatePattern('*');
          await cache.invalidateTags(['t']);
          await cache.clear();
        });
        expect(await tenants.run(a, () => cache.get(key))).toEqual(value);
        await cache.forTenant(a).delete(key);
      }),
      { numRuns: 150 },
    );
    // And the tenant segment of every stored entry key parses back to one tenant (the library's own keys,
    // `<prefix>:__…` and `<prefix>:{…}` (bus log, locks), carry no tenant segment of their own).
    const own = (key: string) => key.includes(':__') || key.startsWith(`${p}:{`);
    const untenanted = (await admin.keys(`${p}:*`)).filter((key) => !own(key) && tenantOfKey(key) === undefined);
    expect(untenanted).toEqual([]);
  });

  it('per-tenant L1 quota: a tenant over its share loses its own oldest entries, nobody else\'s', async () => {
    const { app, cache, inspector } = await apps.create({ memory: { maxBytes: 1_000_000 }, tenancy: { maxL1Bytes: 20_000 } });
    const tenants = app.get(TenantContext);
    const blob = 'x'.repeat(1_000); // ~2 KB in L1
    await tenants.run('quiet', async () => {
      for (let i = 0; i < 5; i++) await cache.set(`hot${i}`, blob);
    });
    await cache.set('shared', blob);
    const quietBytes = inspector.l1TenantBytes('quiet');
    await tenants.run('noisy', async () => {
      for (let i = 0; i < 100; i++) await cache.set(`k${i}`, blob);
    });
    expect(inspector.l1TenantBytes('noisy')).toBeLessThanOrEqual(20_000);
    expect(inspector.l1TenantBytes('noisy')).toBeGreaterThan(15_000);
    expect(inspector.l1TenantBytes('quiet')).toBe(quietBytes);
    await tenants.run('quiet', async () => {
      for (let i = 0; i < 5; i++) expect(await cache.get(`hot${i}`)).toBe(blob);
    });
    expect(await cache.get('shared')).toBe(blob);
    await tenants.run('noisy', async () => {
      expect(await cache.get('k0')).toBeUndefined(); // its oldest went
      expect(await cache.get('k99')).toBe(blob); // its newest stayed
    });
    expect(cache.stats().l1.evictions).toBeGreaterThanOrEqual(90);
    // Deleting and rewriting keeps the accounting exact.
    await tenants.run('noisy', () => cache.delete([...Array(100).keys()].map((i) => `k${i}`)));
    expect(inspector.l1TenantBytes('noisy')).toBe(0);
  });

  it('the quota of a tenant whose id needs escaping is kept under its escaped segment', async () => {
    const { cache, inspector } = await apps.create({ tenancy: { maxL1Bytes: 5_000 } });
    const tenant = 'a:b*c';
    for (let i = 0; i < 20; i++) await cache.forTenant(tenant).set(`k${i}`, 'y'.repeat(500));
    expect(inspector.l1TenantBytes('a%3Ab%2Ac')).toBeLessThanOrEqual(5_000);
    expect(inspector.l1TenantBytes('a%3Ab%2Ac')).toBeGreaterThan(3_000);
  });
});

describe('tenancy options', () => {
  it.each<[string, CacheModuleOptions, RegExp]>([
    ['two ways to find the tenant', { tenancy: { header: 'x-tenant-id', user: 'tenantId' } }, /tenancy takes one of header, user or resolve, not header and user/],
    ['an unknown tenancy option', { tenancy: { headers: 'x' } as never }, /unknown option 'tenancy.headers'/],
    ['a quota without L1', { redis: 'redis://127.0.0.1:1', memory: false, tenancy: { maxL1Bytes: 10 } }, /tenancy.maxL1Bytes needs L1/],
    ['a resolve that is not a function', { tenancy: { resolve: 'x' as never } }, /tenancy.resolve must be a function/],
    ['an empty header name', { tenancy: { header: '' } }, /tenancy.header must be a non-empty string/],
  ])('rejects %s', (_label, options, message) => {
    expect(() => resolveOptions(options)).toThrow(InvalidOptionError);
    expect(() => resolveOptions(options)).toThrow(message);
  });

  it('defaults the per-tenant quota to a quarter of L1', () => {
    expect(resolveOptions({ tenancy: {} }).tenancy.maxL1Bytes).toBe(16 * 1024 * 1024);
    expect(resolveOptions({}).tenancy).toEqual({ resolve: undefined, maxL1Bytes: undefined });
  });

  it('resolves a tenant from a header, from req.user, or with a function', () => {
    const request = { headers: { 'x-tenant-id': 'acme' }, user: { org: 42 } };
    expect(resolveOptions({ tenancy: { header: 'X-Tenant-Id' } }).tenancy.resolve!(request)).toBe('acme');
    expect(resolveOptions({ tenancy: { user: 'org' } }).tenancy.resolve!(request)).toBe('42');
    expect(resolveOptions({ tenancy: { resolve: (req) => `${req.headers['x-tenant-id']}-eu` } }).tenancy.resolve!(request)).toBe('acme-eu');
    expect(resolveOptions({ tenancy: { header: 'x-other' } }).tenancy.resolve!(request)).toBeUndefined();
    expect(resolveOptions({ tenancy: { header: 'x-tenant-id' } }).tenancy.resolve!({ headers: { 'x-tenant-id': '' } })).toBeUndefined();
  });

  it('forRootAsync with a tenant resolver but no requestTenancy fails startup with how to fix it', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CacheModule.forRootAsync({ useFactory: () => ({ tenancy: { header: 'x-tenant-id' }, logger: { log() {}, warn() {}, error() {} } }) })],
    }).compile();
    const failure = await moduleRef.init().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StrataError);
    expect((failure as Error).message).toMatch(/TenantInterceptor is not installed.*pass requestTenancy: true/);
    // (close() rethrows the init failure; the app is memory-only, so nothing is left open.)
    const fixed = await Test.createTestingModule({
      imports: [
        CacheModule.forRootAsync({
          useFactory: () => ({ tenancy: { header: 'x-tenant-id' }, logger: { log() {}, warn() {}, error() {} } }),
          requestTenancy: true,
        }),
      ],
    }).compile();
    await fixed.init();
    await fixed.close();
  });

  it('a tenant id must be a non-empty string', async () => {
    const apps = new CacheFactory();
    const { app, cache } = await apps.create({});
    expect(() => cache.forTenant('')).toThrow(InvalidKeyError);
    expect(() => app.get(TenantContext).run('', () => 1)).toThrow(InvalidKeyError);
    await apps.closeAll();
  });
});
