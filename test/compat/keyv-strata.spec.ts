import { Test, type TestingModule } from '@nestjs/testing';
import keyvTestSuite from '@keyv/test-suite';
import { Keyv, type KeyvStoreAdapter } from 'keyv';
import { CacheModule, type CacheModuleOptions, CacheService } from '@strata/cache';
import { KeyvStrata } from '@strata/cache/compat';
import { useRedis } from '../../libs/cache/test/harness';

/**
 * Keyv's own compliance suite (`@keyv/test-suite`: its api, values and namespace tests, the default
 * export) against `KeyvStrata`. The suite is written for vitest; its functions take the test API as an
 * argument and only call `it`, `beforeEach`, `afterEach` and the context's `expect`, so Jest's are
 * handed in. Its iterator tests are not run: KeyvStrata declares no `iterator()` (see its doc).
 */
type SuiteApi = Parameters<typeof keyvTestSuite>[0];
const jestApi = {
  it: (name: string, fn: (context: { expect: typeof expect }) => unknown) => it(name, () => fn({ expect }) as Promise<void>),
  test: (name: string, fn: (context: { expect: typeof expect }) => unknown) => it(name, () => fn({ expect }) as Promise<void>),
  beforeEach,
  afterEach,
  beforeAll,
  afterAll,
  describe,
  expect,
} as unknown as SuiteApi;

function runSuite(options: () => CacheModuleOptions): void {
  let moduleRef: TestingModule;
  let cache: CacheService;
  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [CacheModule.forRoot(options())] }).compile();
    await moduleRef.init();
    cache = moduleRef.get(CacheService);
  });
  afterAll(() => moduleRef.close());

  keyvTestSuite(jestApi, Keyv, () => new KeyvStrata(cache));

  it('is a Keyv store adapter by type, and cache-manager-style values round-trip through Strata', async () => {
    const store: KeyvStoreAdapter = new KeyvStrata(cache);
    const keyv = new Keyv({ store, namespace: 'typed' });
    await keyv.set('answer', { n: 42, at: '2026-01-01' }, 60_000);
    expect(await keyv.get('answer')).toEqual({ n: 42, at: '2026-01-01' });
    // The entry really is in Strata, under the Keyv namespace's own Strata namespace.
    expect(await cache.namespace('keyv:typed').get('typed:answer')).toEqual(expect.stringContaining('"n":42'));
  });
}

describe('KeyvStrata passes @keyv/test-suite (memory only)', () => {
  runSuite(() => ({ metrics: false, advice: false }));
});

describe('KeyvStrata passes @keyv/test-suite (L1 + Redis)', () => {
  const redis = useRedis();
  runSuite(() => ({ redis: { url: redis.url }, prefix: 'keyvsuite', metrics: false, advice: false }));
});
