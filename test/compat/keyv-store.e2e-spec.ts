import KeyvPostgres from '@keyv/postgres';
import request from 'supertest';
import type { LoggerService } from '@nestjs/common';
import { CacheService } from '@strata/cache';
import { KeyvAdapters } from '@strata/cache/compat';
import { CacheFactory } from '../../libs/cache/test/cache-factory';
import { type PostgresProcess, startPostgres, waitFor } from '../../libs/cache/test/harness';
import { postgresApp } from './scenarios/keyv-postgres/app.module';
import { PLATFORMS, type Platform, type RunningApp, startApp } from './scenarios/start-app';

/** A Keyv store (@keyv/postgres on the harness PostgreSQL) as Strata's L2, from cache-manager options and from Strata's own. */
describe('A Keyv store as Strata L2 (@keyv/postgres)', () => {
  let pg: PostgresProcess;
  let store: KeyvPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
    // @keyv/postgres keeps one pool per process: one store object serves every app of this file.
    store = new KeyvPostgres({ uri: pg.url });
  }, 60_000);
  afterAll(async () => {
    await store.disconnect();
    await waitFor(async () => {
      const [row] = await pg.query<{ n: string }>("select count(*) as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()");
      return Number(row.n) === 0;
    });
    await pg.close();
  }, 60_000);

  describe.each<Platform>(PLATFORMS)('cache-manager options: stores: [new Keyv({ store: new KeyvPostgres(uri) })] (%s)', (platform) => {
    const running: RunningApp[] = [];
    afterEach(async () => {
      await Promise.all(running.splice(0).map((app) => app.close()));
    });

    it('two app instances share entries through PostgreSQL, and a del on one is seen by the other', async () => {
      const a = await startApp(platform, postgresApp(store));
      running.push(a);
      const b = await startApp(platform, postgresApp(store));
      running.push(b);
      await request(a.url).post(`/store/pg-${platform}`).send({ value: { n: 1 } }).expect(201);
      expect((await request(b.url).get(`/store/pg-${platform}`)).body.value).toEqual({ n: 1 });
      const [row] = await pg.query<{ n: string }>('select count(*) as n from keyv where key like $1', [`%pg-${platform}%`]);
      expect(Number(row.n)).toBe(1);
      await request(a.url).delete(`/store/pg-${platform}`).expect(200);
      expect((await request(b.url).get(`/store/pg-${platform}`)).body.value).toBeNull();
    });
  });

  describe("Strata's own options: store: new KeyvAdapters(keyvStore)", () => {
    const factory = new CacheFactory();
    afterEach(() => factory.closeAll());
    const lines: string[] = [];
    const logger: LoggerService = { log: (m: unknown) => lines.push(String(m)), warn: (m: unknown) => lines.push(String(m)), error: (m: unknown) => lines.push(String(m)) };

    it('says at startup what the store lacks; tag and namespace invalidations reach another instance through the stored times', async () => {
      const options = { store: new KeyvAdapters(store, { namespace: 'native' }), memory: false as const, prefix: 'native', metrics: false as const, advice: false as const, logger };
      const a = await factory.create(options);
      const b = await factory.create({ ...options, store: new KeyvAdapters(store, { namespace: 'native' }) });
      expect(lines.join('\n')).toMatch(/L2 store 'keyv' lacks some parts.*no lock store.*no bus.*invalidation times are read from the store.*no key scanner/);
      await a.cache.set('report', 'v1', { tags: ['reports'] });
      expect(await b.cache.get('report')).toBe('v1');
      await a.cache.invalidateTags(['reports']);
      expect(await b.cache.get('report')).toBeUndefined();
      await a.cache.set('other', 'w');
      expect(await b.cache.get('other')).toBe('w');
      await a.cache.clear();
      expect(await b.cache.get('other')).toBeUndefined();
      expect(a.app.get(CacheService)).toBe(a.cache);
    });
  });
});
