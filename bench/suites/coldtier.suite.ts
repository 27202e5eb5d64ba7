/**
 * The PostgreSQL cold tier (L3): a hit answered by PostgreSQL (Redis miss, read, promotion to Redis) next
 * to an L2 hit; what write-through to PostgreSQL costs a `set`; and the batched expiry cleanup over
 * 1,000,000 expired rows, with a reader's latency during it. Starts its own PostgreSQL (libs/cache/test/harness).
 * `npm run bench -- --only=coldtier` runs it alone.
 */
import type { NamedCacheOptions } from '@strata/cache';
import { Redis } from 'ioredis';
import { startPostgres } from '../../libs/cache/test/harness';
import { PostgresAdapters } from '../../libs/cache/src/postgres/postgres.adapters';
import { type BenchContext, type Section, compare, pairedRatio, rangeCell, summarize, throughputSection } from '../lib';

export const title = 'coldtier';

const silent = { log() {}, warn() {}, error() {} };

/** Latency of `op` over `ops` sequential calls (ms), with `before` run untimed ahead of each. */
async function latencies(ops: number, op: (i: number) => Promise<unknown>, before?: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < ops; i++) {
    if (before) await before(i);
    const started = performance.now();
    await op(i);
    out.push(performance.now() - started);
  }
  return out;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function run(ctx: BenchContext): Promise<Section[]> {
  const pg = await startPostgres();
  const admin = new Redis(ctx.redisUrl);
  const caches: Record<string, NamedCacheOptions> = { hot: { tiers: ['redis'] }, cold: { tiers: ['redis', 'postgres'], ttl: '7d' } };
  const handle = await ctx.strata({ redis: ctx.redisUrl, prefix: 'cold', postgres: { url: pg.url }, caches, metrics: false, advice: false });
  // The same Redis-only cache in a stack without any cold tier: what configuring one costs the other caches.
  const plainHandle = await ctx.strata({ redis: ctx.redisUrl, prefix: 'plain', caches: { hot: { tiers: ['redis'] } }, metrics: false, advice: false });
  const sections: Section[] = [];
  try {
    const hot = handle.cache.cache('hot');
    const cold = handle.cache.cache('cold');
    const KEYS = 1000;
    for (let i = 0; i < KEYS; i++) {
      await hot.set(`k${i}`, ctx.value);
      await cold.set(`k${i}`, ctx.value);
    }
    if ((await cold.get('k1')) === undefined) throw new Error('the cold cache did not read back its value');

    // Reads: interleaved runs of an L2 hit and an L3 hit (the Redis copy removed, untimed, before each read).
    ctx.log('coldtier: L2 hit vs L3 hit latency');
    const runs = ctx.quick ? 3 : 7;
    const ops = ctx.quick ? 300 : 2000;
    const l2: number[][] = [];
    const l3: number[][] = [];
    for (let r = 0; r < runs; r++) {
      l2.push(await latencies(ops, (i) => hot.get(`k${i % KEYS}`)));
      l3.push(await latencies(ops, (i) => cold.get(`k${i % KEYS}`), (i) => admin.del(cold.keyOf(`k${i % KEYS}`))));
    }
    const stats = handle.cache.stats();
    if (stats.l3.hits < runs * ops) throw new Error(`expected every cold read to be an L3 hit; got ${stats.l3.hits} of ${runs * ops}`);
    const cell = (samples: number[][], p: number) => rangeCell(samples.map((s) => percentile(s, p)), ' ms', 3);
    const ratio = (p: number) => summarize(l3.map((s, i) => percentile(s, p) / percentile(l2[i], p))).median.toFixed(1);
    sections.push({
      title: 'Cold tier: L3 hit next to an L2 hit, 1 KB JSON, one at a time',
      description:
        `\`await cache.get(key)\` on a cache without L1: an L2 hit (Redis GET), and an L3 hit (Redis miss, then the stampede lock, the ` +
        `PostgreSQL read that checks invalidation times, and the promotion to Redis; the Redis copy is deleted before each read, untimed). ` +
        `${runs} interleaved runs of ${ops} reads; median of the runs' percentiles (min–max).`,
      columns: ['read', 'p50', 'p99', '× L2 hit (p50, p99)'],
      rows: [
        ['L2 hit (Redis)', cell(l2, 50), cell(l2, 99), '1.0, 1.0'],
        ['L3 hit (PostgreSQL, promoted)', cell(l3, 50), cell(l3, 99), `${ratio(50)}, ${ratio(99)}`],
      ],
    });

    // Writes: set on the Redis-only cache vs the cold cache (write-through: Redis and PostgreSQL in parallel).
    ctx.log('coldtier: write-through cost');
    const plain = plainHandle.cache.cache('hot');
    const writers = {
      'set, Redis only': (i: number) => hot.set(`w${i % KEYS}`, ctx.value),
      'set, Redis + PostgreSQL (write-through)': (i: number) => cold.set(`w${i % KEYS}`, ctx.value),
      'set, Redis only, in a stack without a cold tier': (i: number) => plain.set(`w${i % KEYS}`, ctx.value),
    };
    const writes = await compare(writers, { durationMs: ctx.runMs, runs: ctx.runs });
    const writes16 = await compare(writers, { durationMs: ctx.runMs, runs: ctx.runs, concurrency: 16 });
    const [a, b, c] = Object.values(writes);
    const [a16, b16, c16] = Object.values(writes16);
    sections.push(
      throughputSection('Cold tier: write-through cost of `set`, 1 KB JSON, one at a time', writes, {
        description: 'A write acknowledged only once both Redis and PostgreSQL have it (an upsert, synchronous_commit on, the default).',
        notes: [
          `16 in flight: ${pairedRatio(b16, a16).toFixed(2)}× Redis only (${Math.round(b16.median)} vs ${Math.round(a16.median)} ops/s); one at a time ${pairedRatio(b, a).toFixed(2)}×.`,
          `A Redis-only cache beside a cold one (its dependency records stay in Redis, so its set never waits on PostgreSQL): ` +
            `${pairedRatio(a, c).toFixed(2)}× the same cache in a stack without a cold tier one at a time, ${pairedRatio(a16, c16).toFixed(2)}× at 16 in flight.`,
        ],
      }),
    );
  } finally {
    await handle.close();
    await plainHandle.close();
    admin.disconnect();
  }

  // Cleanup over 1,000,000 expired rows (plus 10,000 live ones that must stay), batches of 1000 and 10,000.
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const results: string[][] = [];
  for (const batch of [1000, 10_000]) {
    const table = `bench_cleanup_${batch}`;
    const adapters = new PostgresAdapters(
      { url: pg.url },
      { table, statementTimeout: 10_000, connectTimeout: 5000, poolSize: 4, migrate: true, cleanup: { interval: 3_600_000, batch, pause: 0 }, minRetentionMs: 0, now: Date.now, logger: silent },
    );
    try {
      await adapters.ready();
      const now = Date.now();
      ctx.log(`coldtier: inserting ${rows} expired rows (batch ${batch})`);
      for (let i = 0; i < rows; i += 100_000) {
        await pg.query(
          `INSERT INTO ${table} (key, value, created_at, expires_at, stale_until, tags) SELECT 'cold:default:ocr:doc' || g, decode(repeat('ab', 512), 'hex'), $1::bigint, $1::bigint, $1::bigint + (g % 1000), '{}' FROM generate_series($2::int, $3::int) AS g`,
          [now - 86_400_000, i, Math.min(rows, i + 100_000) - 1],
        );
      }
      await pg.query(`INSERT INTO ${table} (key, value, created_at, expires_at, stale_until, tags) SELECT 'live' || g, '\\x00', $1::bigint, $1::bigint + 3600000, $1::bigint + 3600000, '{}' FROM generate_series(1, 10000) AS g`, [now]);
      await pg.query(`VACUUM ANALYZE ${table}`);
      const baseline = await latencies(500, (i) => adapters.store.get(`live${(i % 10_000) + 1}`));
      ctx.log(`coldtier: cleanup, batch ${batch}`);
      const during: number[] = [];
      let cleaning = true;
      const reader = (async () => {
        let i = 0;
        while (cleaning) during.push(...(await latencies(1, () => adapters.store.get(`live${(i++ % 10_000) + 1}`))));
      })();
      const started = performance.now();
      const run = await adapters.cleanup!.runOnce();
      const seconds = (performance.now() - started) / 1000;
      cleaning = false;
      await reader;
      const left = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      if (run.entries !== rows || Number(left[0].n) !== 10_000) throw new Error(`cleanup removed ${run.entries} of ${rows}; ${left[0].n} rows left`);
      results.push([
        String(batch),
        `${rows.toLocaleString('en')} in ${seconds.toFixed(1)} s`,
        `${Math.round(rows / seconds).toLocaleString('en')} rows/s`,
        `${percentile(baseline, 50).toFixed(2)} / ${percentile(baseline, 99).toFixed(2)} ms`,
        `${percentile(during, 50).toFixed(2)} / ${percentile(during, 99).toFixed(2)} ms (${during.length} reads)`,
      ]);
    } finally {
      await pg.query(`DROP TABLE IF EXISTS ${table}, ${table}_times, ${table}_counters, ${table}_schema`).catch(() => undefined);
      await adapters.close();
    }
  }
  await pg.close();
  sections.push({
    title: `Cold tier: expiry cleanup of ${rows.toLocaleString('en')} expired rows (1 KB each), 10,000 live rows kept`,
    description:
      'One `ExpiryCleanup.runOnce()`: batches of DELETE … WHERE ctid = ANY(ARRAY(SELECT ctid … WHERE stale_until <= now LIMIT n FOR UPDATE SKIP LOCKED)), ' +
      'each its own short transaction under a try-lock. Beside it, a reader does point reads of live rows one at a time: its latency before and during the cleanup shows the table stays available.',
    columns: ['rows per batch', 'removed', 'throughput', 'reader p50 / p99 before', 'reader p50 / p99 during'],
    rows: results,
  });
  return sections;
}
