import type { Client } from 'pg';
import { migratePostgresSchema } from '../src';
import { postgresRefusals } from '../src/postgres/postgres-refusal';
import { tablesOf } from '../src/postgres/postgres.schema';
import { getFreePort, usePostgres, useRedis, waitFor } from './harness';
import { CacheFactory, RecordingLogger } from './cache-factory';

/**
 * A PostgreSQL that answers but refuses (a read-only role, revoked grants, a role at its connection
 * limit): a real server in each state, under a real Redis. The cold tier logs the first refusal of a kind
 * once with what to change, callers keep getting values (Redis, factories), nothing a refused delete or
 * invalidation should hide is read meanwhile, and the end of it is logged once when a change lands.
 */
describe('PostgreSQL cold tier refusing (real PostgreSQL and Redis)', () => {
  const redis = useRedis();
  const pg = usePostgres();
  const apps = new CacheFactory();
  afterEach(() => apps.closeAll());
  let n = 0;

  const urlOf = (role: string) => `postgres://${role}@${pg.process.host}:${pg.port}/${pg.process.database}`;
  const grants = (table: string) => `${table}, ${table}_times, ${table}_counters`;
  /** A login role with what the cache needs on `table` (created and migrated by the owner). */
  const roleFor = async (role: string, table: string) => {
    await migratePostgresSchema({ url: pg.url }, table);
    await pg.process.query(`CREATE ROLE ${role} LOGIN`);
    await pg.process.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${grants(table)} TO ${role}`);
    await pg.process.query(`GRANT SELECT ON ${table}_schema TO ${role}`);
  };
  const instance = async (role: string, table: string, logger?: RecordingLogger, postgres: Record<string, unknown> = {}) => {
    const app = await apps.create({
      redis: redis.url,
      prefix: `refused${n}`,
      ...(logger && { logger }),
      postgres: {
        url: urlOf(role),
        table,
        migrate: false,
        cleanup: false,
        statementTimeout: '1s',
        probeInterval: '100ms',
        // Each statement on a new connection: a role's new settings apply at once.
        poolOptions: { maxUses: 1 },
        ...postgres,
      },
      // No L1: every read goes to Redis, and to PostgreSQL on a Redis miss.
      caches: { ocr: { tiers: ['redis', 'postgres'], ttl: '7d' } },
    } as never);
    return { ...app, ocr: app.cache.cache('ocr') };
  };
  const rows = async (table: string) => (await pg.process.query<{ key: string }>(`SELECT key FROM ${table} ORDER BY key`)).map((r) => r.key);
  const refusals = (logger: RecordingLogger) => logger.lines.filter((line) => line.level === 'warn' && line.message.startsWith('PostgreSQL cold tier refuses commands'));
  /** The outage's lines, which a refusal must not produce. */
  const outageLines = (logger: RecordingLogger) => logger.count(/^PostgreSQL cold tier (unavailable|available again)/);
  /** Statements the server refused with `text` (it logs each): how the test sees refused replays and probes. */
  const serverRefused = (text: string) => pg.process.logTail(400).split('\n').filter((line) => line.includes(text)).length;
  beforeEach(() => void (n += 1));

  it('read-only (default_transaction_read_only for the role): logged once with the fix, rows read until a change is refused, a delete made meanwhile honoured once it takes writes again', async () => {
    await roleFor('cache_ro', 'ro_cache');
    const logger = new RecordingLogger();
    const a = await instance('cache_ro', 'ro_cache', logger);
    const raw = redis.client();
    await a.ocr.set('doc:1', 'v1');
    await a.ocr.set('doc:2', 'v2');
    expect(await rows('ro_cache')).toEqual([a.ocr.keyOf('doc:1'), a.ocr.keyOf('doc:2')]);

    await pg.process.query('ALTER ROLE cache_ro SET default_transaction_read_only = on');
    // Readable: before any change is refused, a row evicted from Redis is still read from PostgreSQL.
    await raw.del(a.ocr.keyOf('doc:1'));
    let runs = 0;
    expect(await a.ocr.getOrSet('doc:1', async () => `factory ${++runs}`)).toBe('v1');
    expect(runs).toBe(0);

    const errorsBefore = a.cache.stats().l3.errors;
    await a.ocr.delete('doc:2'); // refused: the row keeps v2
    for (let i = 0; i < 10; i++) await a.ocr.set(`new:${i}`, i);
    expect(a.cache.stats().l3.errors).toBeGreaterThanOrEqual(errorsBefore + 11);
    expect(await rows('ro_cache')).toContain(a.ocr.keyOf('doc:2'));
    expect(refusals(logger)).toHaveLength(1);
    expect(refusals(logger)[0].message).toMatch(
      /^PostgreSQL cold tier refuses commands: PostgreSQL refuses writes: the connection is read-only .*Point postgres\.url at the primary, or turn it off for the cache's role .*rows are still read while its breaker is closed, except .*PostgreSQL said: 25006 cannot execute (DELETE|UPDATE|INSERT) in a read-only transaction$/,
    );
    expect(a.cache.stats().l3.state).toBe('closed'); // not counted by the breaker
    expect(await a.ocr.get('new:0')).toBe(0); // from Redis

    // The refused delete and the refused dependency updates: no row is read now, v2 least of all.
    await raw.del(a.ocr.keyOf('doc:1'), a.ocr.keyOf('doc:2'));
    expect(await a.ocr.getOrSet('doc:2', async () => `factory ${++runs}`)).toBe('factory 1');
    expect(await a.ocr.getOrSet('doc:1', async () => `factory ${++runs}`)).toBe('factory 2');
    await raw.del(a.ocr.keyOf('doc:2'));
    expect(await a.ocr.get('doc:2')).toBeUndefined();

    // The replays (every probeInterval) are refused too: counted, not logged.
    const errorsNow = a.cache.stats().l3.errors;
    await waitFor(() => a.cache.stats().l3.errors >= errorsNow + 3, { message: 'the refused changes were not retried' });
    expect(refusals(logger)).toHaveLength(1);
    expect(logger.count(/^PostgreSQL cold tier takes writes again/)).toBe(0);
    expect(outageLines(logger)).toBe(0);

    await pg.process.query('ALTER ROLE cache_ro RESET default_transaction_read_only');
    await waitFor(() => a.cache.stats().l3.pending === 0, { message: 'the refused changes were never replayed' });
    expect(logger.count(/^PostgreSQL cold tier takes writes again$/)).toBe(1);
    expect(logger.count(/^PostgreSQL cold tier: replayed \d+ changes made while it was refusing them$/)).toBe(1);
    expect(await rows('ro_cache')).not.toContain(a.ocr.keyOf('doc:2'));
    // Another instance, which remembers nothing, finds no v2 either.
    const b = await instance('cache_ro', 'ro_cache');
    await raw.del(a.ocr.keyOf('doc:2'));
    expect(await b.ocr.getOrSet('doc:2', async () => 'from b')).toBe('from b');
    await a.ocr.set('after', 'x');
    expect(await rows('ro_cache')).toContain(a.ocr.keyOf('after'));
    expect(refusals(logger)).toHaveLength(1);
    expect(outageLines(logger)).toBe(0);
  });

  it('revoked grants (42501): logged once with the GRANT to run, the breaker open at once and quietly, a delete made meanwhile honoured once granted again', async () => {
    await roleFor('cache_np', 'np_cache');
    const logger = new RecordingLogger();
    const a = await instance('cache_np', 'np_cache', logger);
    const raw = redis.client();
    await a.ocr.set('doc:1', 'v1');
    await pg.process.query(`REVOKE ALL ON ${grants('np_cache')}, np_cache_schema FROM cache_np`);

    await a.ocr.delete('doc:1'); // refused: the row keeps v1
    expect(a.cache.stats().l3.state).not.toBe('closed'); // open, or half-open on a probe
    for (let i = 0; i < 5; i++) await a.ocr.set(`new:${i}`, i);
    expect(refusals(logger)).toHaveLength(1);
    expect(refusals(logger)[0].message).toMatch(
      /^PostgreSQL cold tier refuses commands: the PostgreSQL role lacks a privilege the cache needs\. GRANT SELECT, INSERT, UPDATE, DELETE ON np_cache, np_cache_times, np_cache_counters and SELECT ON np_cache_schema .*README's GRANT lines.*opens its breaker \(probing every 100 ms\).*PostgreSQL said: 42501 permission denied for table np_cache(_times)?$/,
    );
    expect(await a.ocr.getOrSet('computed', async () => 'by the factory')).toBe('by the factory');
    await raw.del(a.ocr.keyOf('doc:1'));
    expect(await a.ocr.get('doc:1')).toBeUndefined();
    expect(await rows('np_cache')).toContain(a.ocr.keyOf('doc:1'));

    // Each probe passes (SELECT 1) and its replay is refused: the circuit stays open, and nothing more is logged.
    const refusedBefore = serverRefused('permission denied for table');
    await waitFor(() => serverRefused('permission denied for table') >= refusedBefore + 3, { message: 'the replay was not retried' });
    expect(a.cache.stats().l3.state).not.toBe('closed');
    expect(refusals(logger)).toHaveLength(1);
    expect(outageLines(logger)).toBe(0);

    await pg.process.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${grants('np_cache')} TO cache_np`);
    await pg.process.query('GRANT SELECT ON np_cache_schema TO cache_np');
    await waitFor(() => a.cache.stats().l3.state === 'closed' && a.cache.stats().l3.pending === 0, { message: 'the cold tier was not used again' });
    expect(logger.count(/^PostgreSQL cold tier takes writes again$/)).toBe(1);
    expect(logger.count(/^PostgreSQL cold tier: replayed \d+ changes made while it was refusing them$/)).toBe(1);
    expect(await rows('np_cache')).not.toContain(a.ocr.keyOf('doc:1'));
    expect(outageLines(logger)).toBe(0);
  });

  it('a role at its CONNECTION LIMIT (53300): logged once naming postgres.poolSize, callers served from Redis and factories, used again once a slot is free', async () => {
    await roleFor('cache_cl', 'cl_cache');
    const logger = new RecordingLogger();
    const a = await instance('cache_cl', 'cl_cache', logger);
    await a.ocr.set('doc:1', 'v1');
    await pg.process.query('ALTER ROLE cache_cl CONNECTION LIMIT 1');
    const backends = async () => (await pg.process.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'cache_cl'`))[0].n;
    await waitFor(async () => (await backends()) === '0', { message: 'the cache kept a connection' });
    const holder: Client = await pg.process.connect({ user: 'cache_cl' }); // takes the role's only slot

    await a.ocr.set('doc:1', 'v2');
    expect(a.cache.stats().l3.state).not.toBe('closed'); // open, or half-open on a probe
    for (let i = 0; i < 5; i++) expect(await a.ocr.getOrSet(`g:${i}`, async () => i)).toBe(i);
    await a.ocr.delete('doc:1');
    expect(refusals(logger)).toHaveLength(1);
    expect(refusals(logger)[0].message).toMatch(
      /^PostgreSQL cold tier refuses commands: PostgreSQL refuses new connections: max_connections, or the CONNECTION LIMIT of the cache's role or database, is reached\. Raise that limit, or lower postgres\.poolSize .*PostgreSQL said: 53300 too many connections for role "cache_cl"$/,
    );
    // Each probe is refused a connection too: nothing more is logged.
    const refusedBefore = serverRefused('too many connections for role');
    await waitFor(() => serverRefused('too many connections for role') >= refusedBefore + 3, { message: 'the cold tier was not probed' });
    expect(refusals(logger)).toHaveLength(1);
    expect(outageLines(logger)).toBe(0);

    await holder.end();
    await waitFor(() => a.cache.stats().l3.state === 'closed' && a.cache.stats().l3.pending === 0, { message: 'the cold tier was not used again' });
    expect(logger.count(/^PostgreSQL cold tier takes writes again$/)).toBe(1);
    expect(await rows('cl_cache')).not.toContain(a.ocr.keyOf('doc:1'));
    expect(outageLines(logger)).toBe(0);
  });

  it('at startup on a read-only role with migrate: true: the probe’s refusal says why the cold tier is not used, once; connected when writable', async () => {
    await pg.process.query('CREATE ROLE cache_st LOGIN');
    await pg.process.query('GRANT CREATE ON SCHEMA public TO cache_st');
    await pg.process.query('ALTER ROLE cache_st SET default_transaction_read_only = on');
    const logger = new RecordingLogger();
    const a = await instance('cache_st', 'st_cache', logger, { migrate: true });
    expect(logger.count(/^PostgreSQL not reachable \(or its schema not ready\) at startup/)).toBe(1);
    expect(refusals(logger)).toHaveLength(1);
    expect(refusals(logger)[0].message).toMatch(/read-only .*PostgreSQL said: 25006 cannot execute CREATE TABLE in a read-only transaction$/);
    expect(await a.ocr.getOrSet('k', async () => 'by the factory')).toBe('by the factory');
    const refusedBefore = serverRefused('cannot execute CREATE TABLE in a read-only transaction');
    await waitFor(() => serverRefused('cannot execute CREATE TABLE in a read-only transaction') >= refusedBefore + 3, { message: 'the cold tier was not probed' });
    expect(refusals(logger)).toHaveLength(1);

    await pg.process.query('ALTER ROLE cache_st RESET default_transaction_read_only');
    await waitFor(() => a.cache.stats().l3.state === 'closed', { message: 'the cold tier never connected' });
    expect(logger.count(/^PostgreSQL cold tier connected$/)).toBe(1);
    await a.ocr.set('after', 'x');
    expect(logger.count(/^PostgreSQL cold tier takes writes again$/)).toBe(1);
    expect(await rows('st_cache')).toContain(a.ocr.keyOf('after'));
  });

  describe('postgresRefusals, on what the server answered', () => {
    const refusal = postgresRefusals(tablesOf('strata_cache'));
    const failure = (work: Promise<unknown>) =>
      work.then(
        () => {
          throw new Error('expected PostgreSQL to refuse');
        },
        (error: unknown) => error,
      );

    it('maps the refusals a real server sends, each with its fix', async () => {
      await pg.process.query('CREATE TABLE cls (k text PRIMARY KEY)');
      await pg.process.query('CREATE ROLE cls_role LOGIN CONNECTION LIMIT 1');
      const readOnly = await pg.process.connect();
      await readOnly.query('SET default_transaction_read_only = on');
      const limited = await pg.process.connect({ user: 'cls_role' });
      const admin = await pg.process.connect();
      await admin.query("SET temp_file_limit = '64kB'");
      await admin.query("SET work_mem = '64kB'");

      const cases = [
        [await failure(readOnly.query("INSERT INTO cls VALUES ('a')")), '25006', /read-only.*Point postgres\.url at the primary/, true],
        [await failure(limited.query('SELECT * FROM cls')), '42501', /GRANT SELECT, INSERT, UPDATE, DELETE ON strata_cache, strata_cache_times, strata_cache_counters and SELECT ON strata_cache_schema/, false],
        [await failure(pg.process.connect({ user: 'cls_role' })), '53300', /raise that limit, or lower postgres\.poolSize/i, false],
        [await failure(admin.query('SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC')), '53400', /temp_file_limit/, false],
      ] as const;
      for (const [error, code, why, readable] of cases) {
        expect((error as { code?: string }).code).toBe(code);
        expect(refusal(error)?.why).toMatch(why);
        expect(refusal(error)?.readable).toBe(readable);
      }
    });

    it('an outage, a bad statement or a timeout is no refusal', async () => {
      await pg.process.query('CREATE TABLE IF NOT EXISTS cls2 (k text PRIMARY KEY)');
      const victim = await pg.process.connect({ application_name: 'victim' });
      // The FATAL reaches the idle client as an 'error' event.
      const terminated = new Promise<unknown>((resolve) => victim.once('error', resolve));
      await pg.process.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim'`);
      const client = await pg.process.connect();
      await client.query("INSERT INTO cls2 VALUES ('a')");
      await client.query('SET statement_timeout = 10');
      const errors = [
        await terminated, // 57P01 terminating connection due to administrator command
        await failure(client.query("INSERT INTO cls2 VALUES ('a')")), // 23505
        await failure(client.query('SELECT * FROM no_such_table')), // 42P01
        await failure(client.query('SELECT pg_sleep(5)')), // 57014 statement timeout
        await failure(pg.process.connect({ port: await getFreePort() })), // ECONNREFUSED
      ];
      expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['57P01', '23505', '42P01', '57014', 'ECONNREFUSED']);
      for (const error of errors) expect(refusal(error)).toBeUndefined();
    });

    // Not provoked here (a full disk, an exhausted server, a server starting up are not deterministic): pg
    // builds its error from the server's message and SQLSTATE, which is all the classifier reads.
    it.each([
      ['53100', 'could not extend file "base/16384/16385": No space left on device', /out of disk space/, true],
      ['53200', 'out of memory', /out of memory.*max_locks_per_transaction/, false],
      ['57P03', 'the database system is starting up', /accepts no connections yet.*hot_standby = off/, false],
    ])('%s (%s)', (code, message, why, readable) => {
      const error = Object.assign(new Error(message), { code });
      expect(refusal(error)?.why).toMatch(why);
      expect(refusal(error)?.readable).toBe(readable);
    });

    it('not an error object', () => expect(refusal({ code: '25006' })).toBeUndefined());
  });
});
