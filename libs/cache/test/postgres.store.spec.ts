import { EntryCodec } from '../src/codec/entry.codec';
import { PostgresAdapters } from '../src/postgres/postgres.adapters';
import { PostgresSession } from '../src/postgres/postgres.connection';
import { globToLike } from '../src/postgres/postgres-key.scanner';
import { migrateSchema, tablesOf } from '../src/postgres/postgres.schema';
import { registerStoreAdaptersSuite } from '../src/testing';
import { RemoteTier } from '../src/tiers/remote.tier';
import { usePostgres } from './harness';
import { tierConformance, write } from './tier-conformance';

const silent = { log() {}, warn() {}, error() {} };

function adapters(url: string, table: string, overrides: Partial<ConstructorParameters<typeof PostgresAdapters>[1]> = {}): PostgresAdapters {
  return new PostgresAdapters(
    { url },
    {
      table,
      statementTimeout: 1000,
      connectTimeout: 2000,
      poolSize: 4,
      migrate: true,
      cleanup: false,
      minRetentionMs: 0,
      now: Date.now,
      logger: silent,
      ...overrides,
    },
  );
}

describe('PostgreSQL adapters (real PostgreSQL server)', () => {
  const pg = usePostgres();
  let pgs: PostgresAdapters;
  let tier: RemoteTier;

  beforeAll(async () => {
    pgs = adapters(pg.url, 'strata_cache');
    await pgs.ready();
    tier = new RemoteTier(pgs.store, { codec: new EntryCodec({ compressThreshold: 1024, maxInflatedBytes: 1024 * 1024 }), now: Date.now });
  });
  afterAll(() => pgs.close());

  tierConformance('postgres', () => tier);

  // The ports' conformance suites (the same every adapter runs); PostgreSQL offers no lock, bus or side stores.
  registerStoreAdaptersSuite(
    'postgres',
    {
      create: async () => {
        const made = adapters(pg.url, 'strata_conformance');
        await made.ready();
        return made;
      },
    },
    { lock: false, bus: false, side: false },
  );

  it('creates its schema once when many instances start at the same moment', async () => {
    const sessions = Array.from({ length: 6 }, () => new PostgresSession({ url: pg.url }, { statementTimeout: 10_000, connectTimeout: 5000, poolSize: 1 }));
    try {
      const tables = tablesOf('strata_race');
      const versions = await Promise.all(sessions.map((session) => migrateSchema(session, tables)));
      expect(versions).toEqual([1, 1, 1, 1, 1, 1]);
      expect(await pg.process.query('SELECT version FROM strata_race_schema')).toEqual([{ version: 1 }]);
    } finally {
      await Promise.all(sessions.map((session) => session.close()));
    }
  });

  it('stores the entry bytes with its times and invalidation ids', async () => {
    const now = Date.now();
    const w = { ...write('meta:1', { a: 1 }, { createdAt: now, expiresAt: now + 60_000, staleUntil: now + 120_000, tags: ['tag:x'] }), namespaceId: 'ns:strata:default' };
    await tier.set(w);
    const [row] = await pg.process.query<{ created_at: string; expires_at: string; stale_until: string; tags: string[]; value: Buffer }>(
      `SELECT created_at, expires_at, stale_until, tags, value FROM strata_cache WHERE key = 'meta:1'`,
    );
    expect(Number(row.created_at)).toBe(now);
    expect(Number(row.expires_at)).toBe(now + 60_000);
    expect(Number(row.stale_until)).toBeGreaterThanOrEqual(now + 120_000);
    expect(row.tags).toEqual(['ns:strata:default', 'tag:x']);
    expect(Buffer.isBuffer(row.value)).toBe(true);
  });

  it('never returns an entry created at or before a recorded time of one of its ids, whatever Redis knows', async () => {
    const now = Date.now();
    await tier.set({ ...write('inv:1', 'old', { createdAt: now - 10, tags: ['tag:inv'] }), namespaceId: 'ns:a' });
    await tier.set({ ...write('inv:2', 'other', { createdAt: now - 10, tags: ['tag:other'] }), namespaceId: 'ns:a' });
    expect((await tier.get('inv:1'))?.value).toBe('old');
    await pgs.times.writeMax(new Map([['tag:inv', now - 10]]), 60_000);
    expect(await tier.get('inv:1')).toBeUndefined();
    expect((await tier.get('inv:2'))?.value).toBe('other');
    // A namespace time covers every entry of it; an entry written after the time is current.
    await pgs.times.writeMax(new Map([['ns:a', now]]), 60_000);
    expect(await tier.get('inv:2')).toBeUndefined();
    await tier.set({ ...write('inv:2', 'new', { createdAt: now + 1, tags: ['tag:other'] }), namespaceId: 'ns:a' });
    expect((await tier.get('inv:2'))?.value).toBe('new');
  });

  it('keeps the later of two invalidation times, and raises only tracked dependency ids', async () => {
    await pgs.times.writeMax(new Map([['tag:t', 200]]), 60_000);
    await pgs.times.writeMax(new Map([['tag:t', 100]]), 60_000);
    expect(await pgs.times.read(['tag:t', 'tag:none'])).toEqual([200, 0]);
    await pgs.times.track(['dep:k1'], 60_000);
    expect(await pgs.times.raiseTracked(['dep:k1', 'dep:k2'], 500)).toEqual([true, false]);
    expect(await pgs.times.read(['dep:k1', 'dep:k2'])).toEqual([500, 0]);
  });

  it('deletes by glob pattern in batches through the key index, with the literal parts kept literal', async () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ key: `pat:user:${i}`, bytes: Buffer.from('x'), ttlMs: 60_000 }));
    await pgs.store.setMany([...items, { key: 'pat:users', bytes: Buffer.from('x'), ttlMs: 60_000 }, { key: 'pat:user%:1', bytes: Buffer.from('x'), ttlMs: 60_000 }]);
    const progress = { removed: 0 };
    await pgs.scanner.deleteMatching('pat:user:*', { count: 10, pause: 0, keep: (key) => key === 'pat:user:7' }, progress);
    expect(progress.removed).toBe(24);
    const left = (await pg.process.query<{ key: string }>(`SELECT key FROM strata_cache WHERE key LIKE 'pat:%' ORDER BY key`)).map((row) => row.key);
    expect(left).toEqual(['pat:user%:1', 'pat:user:7', 'pat:users']);
    expect(globToLike('a%b_c\\*d*?')).toBe('a\\%b\\_c*d%_');
  });

  it('uses the primary key for a prefix LIKE (no sequential scan)', async () => {
    // The table is tiny here, so the planner would rightly prefer a scan: forbid it to see the index can serve the walk.
    const client = await pg.process.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT key FROM strata_cache WHERE key LIKE 'strata:default:ocr:%' AND key > '' ORDER BY key LIMIT 100`,
      );
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(text).toMatch(/Index (Only )?Scan (using|on) strata_cache_pkey/);
      expect(text).toMatch(/Index Cond: .*key >= 'strata:default:ocr:'.*key < 'strata:default:ocr;'/);
    } finally {
      await client.end();
    }
  });

  it('removes expired rows in batches, one instance at a time, and never returns them meanwhile', async () => {
    const table = 'strata_cleanup';
    const a = adapters(pg.url, table, { cleanup: { interval: 60_000, batch: 100, pause: 0 } });
    try {
      await a.ready();
      const now = Date.now();
      await pg.process.query(
        `INSERT INTO ${table} (key, value, created_at, expires_at, stale_until, tags) ` +
          `SELECT 'old:' || i, '\\x00', ${now - 10_000}, ${now - 5000}, ${now - 1000}, '{}' FROM generate_series(1, 1050) AS i`,
      );
      await a.store.set('live', Buffer.from('v'), 60_000);
      expect(await a.store.get('old:1')).toBeUndefined();
      const run = await a.cleanup!.runOnce();
      expect(run).toEqual({ entries: 1050, times: 0, counters: 0, skipped: false });
      expect(await pg.process.query(`SELECT key FROM ${table}`)).toEqual([{ key: 'live' }]);
    } finally {
      await a.close();
    }
  });

  it('answers a counter atomically from concurrent callers', async () => {
    const values = await Promise.all(Array.from({ length: 20 }, () => pgs.store.increment('ctr:x', 2, 60_000)));
    expect(Math.max(...values)).toBe(40);
    expect(new Set(values).size).toBe(20);
  });
});
