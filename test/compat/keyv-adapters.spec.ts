import KeyvPostgres from '@keyv/postgres';
import KeyvRedis from '@keyv/redis';
import { registerRemoteStoreSuite, registerTimesStoreSuite } from '@strata/cache/testing';
import { KeyvAdapters } from '@strata/cache/compat';
import { type PostgresProcess, startPostgres, useRedis, waitFor } from '../../libs/cache/test/harness';

/**
 * A Keyv store as Strata's L2 (`KeyvAdapters`) passes the port conformance suites for what it declares:
 * the remote store and the invalidation times. It declares no lock, fencing, scan, scripts or bus, so
 * those suites do not apply. On @keyv/postgres against the harness PostgreSQL, and on @keyv/redis.
 */
describe('KeyvAdapters over @keyv/postgres', () => {
  let pg: PostgresProcess;
  let store: KeyvPostgres | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await store?.disconnect();
    // The server is stopped once the pool's connections are really gone (else it sends them a termination).
    await waitFor(async () => {
      const [row] = await pg.query<{ n: string }>("select count(*) as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()");
      return Number(row.n) === 0;
    });
    await pg.close();
  }, 60_000);
  // @keyv/postgres shares one pool per process: one store object serves every set of adapters.
  const factory = { create: () => new KeyvAdapters((store ??= new KeyvPostgres({ uri: pg.url }))) };
  registerRemoteStoreSuite('KeyvAdapters(@keyv/postgres)', factory);
  registerTimesStoreSuite('KeyvAdapters(@keyv/postgres)', factory);
});

describe('KeyvAdapters over @keyv/redis', () => {
  const redis = useRedis();
  const opened: KeyvRedis<unknown>[] = [];
  afterAll(() => Promise.all(opened.map((store) => store.disconnect())));
  const factory = {
    create: () => {
      const store = new KeyvRedis(redis.url);
      opened.push(store);
      return new KeyvAdapters(store);
    },
  };
  registerRemoteStoreSuite('KeyvAdapters(@keyv/redis)', factory);
  registerTimesStoreSuite('KeyvAdapters(@keyv/redis)', factory);
});
