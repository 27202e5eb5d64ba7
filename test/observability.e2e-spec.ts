import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { CACHE_CLOCK, CacheService, CacheTelemetry } from '@strata/cache';
import { useRedis, waitFor } from '../libs/cache/test/harness';
import { startSampleApp } from './sample-app';

/** Prometheus text → families (from `# TYPE`) and series values. */
function scrape(text: string): { families: Map<string, string>; series: Map<string, number> } {
  const families = new Map<string, string>();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1], type[2]);
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { families, series };
}

/** The series of a family (histograms: its _bucket, _sum and _count series). */
function ofFamily(series: Map<string, number>, family: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of series) {
    const base = name.split('{')[0];
    if (base === family || base === `${family}_bucket` || base === `${family}_sum` || base === `${family}_count`) out.set(name, value);
  }
  return out;
}

/**
 * Config gauges: they say what L1 may hold, and only change when the app is configured differently.
 * The warmer families: the sample's warmer runs once, at startup, before the first scrape (read by value below).
 */
const CONSTANT = new Set(['strata_cache_l1_max_entries', 'strata_cache_l1_max_bytes', 'strata_cache_warmer_runs_total', 'strata_cache_warmer_entries_total']);
// Only the PostgreSQL cold tier moves these; this app runs without one (libs/cache/test/cold-tier.spec.ts checks them).
const COLD_ONLY = new Set(['strata_cache_promotions_total', 'strata_cache_cold_circuit_state']);

describe('sample app: /metrics and /health', () => {
  const redis = useRedis();
  let app: INestApplication;
  const clock = { now: Date.now() };

  beforeAll(async () => {
    app = await startSampleApp({ REDIS_URL: redis.url, CACHE_L1_MAX_ENTRIES: '6', CACHE_PURGE: '1' }, (builder) =>
      builder.overrideProvider(CACHE_CLOCK).useValue(() => clock.now),
    );
  });
  afterAll(() => app?.close());
  afterEach(async () => {
    if (!redis.process.isRunning()) await redis.process.restart();
  });

  const http = () => request(app.getHttpServer());

  it('shows every strata_cache_* family moving as hits, misses, invalidations and faults are driven', async () => {
    const before = scrape((await http().get('/metrics').expect(200).expect('Content-Type', /text\/plain/)).text);
    const strataFamilies = [...before.families.keys()].filter((name) => name.startsWith('strata_cache_'));
    expect(strataFamilies.length).toBeGreaterThanOrEqual(28);

    // Misses, factory runs, writes, and more entries than L1 holds (6): evictions.
    // One after another: reports 1 and 2 are then the oldest in L1, and the ones it evicts.
    for (const id of ['1', '2', '3', '4', '5', '6', '7', '8']) await http().get(`/reports/${id}`).expect(200);
    // L1 hits (the newest) and L2 hits (evicted from L1, still in Redis).
    for (const id of ['8', '8', '1', '2']) await http().get(`/reports/${id}`).expect(200);
    // A compressed value, an invalidation, a corrupt entry, a delete, a value that cannot be cached.
    await http().get('/reports/1/summary').expect(200);
    await http().delete('/reports/3/cache').expect(204);
    const reports = app.get(CacheService).cache('reports');
    // The hard purge (CACHE_PURGE=1) removes report 3 from Redis in the background.
    const admin = redis.client();
    await waitFor(async () => (await admin.exists(reports.keyOf('3'))) === 0, { message: 'report 3 to be purged' });
    await redis.client().set(reports.keyOf('9'), Buffer.from([0xee, 0x00]));
    await http().get('/reports/9').expect(200);
    await reports.delete('7');
    await app.get(CacheService).set('fn', () => 'functions do not serialize');
    // A stale hit: past the 30 min ttl, within the 1 min grace.
    clock.now += 30 * 60_000 + 1000;
    await http().get('/reports/8').expect(200);
    clock.now += 1000;
    // The AI cache's hook moves its family (the semantic cache reports through it).
    const telemetry = app.get(CacheTelemetry);
    telemetry.recordSemanticHit('reports', 0.97);
    // The bus: the deletes and the invalidation above were published; its subscriber is cut and comes back
    // (a reconnect), and reads back from the bus log a message that another instance's publish put there
    // but that never reached it on the channel.
    const stats = () => app.get(CacheService).stats();
    // The bus log and its epoch, under the app's prefix (README: ACL and key layout).
    const prefix = reports.keyOf('8').split(':')[0];
    const bus = { log: `${prefix}:{__bus}:log`, epoch: `${prefix}:{__bus}:epoch` };
    await redis.client().xadd(bus.log, '*', 'm', JSON.stringify({ o: 'another-instance', at: Date.now(), k: [reports.keyOf('8')] }));
    await redis.client().client('KILL', 'TYPE', 'pubsub');
    await waitFor(() => stats().bus.reconciles >= 1 && stats().bus.state === 'up', { timeoutMs: 30_000, message: 'bus never came back' });
    expect(stats().bus).toMatchObject({ recovered: 1, clears: 0 });
    // The log itself lost (as a FLUSHALL would) while Redis kept running: L1 is cleared. (A server up for
    // less than the gap plus pingInterval + pingTimeout + 1 s would be taken for a restarted one.)
    const uptime = async () => Number(/uptime_in_seconds:(\d+)/.exec(await redis.client().info('server'))?.[1] ?? 0);
    await waitFor(async () => (await uptime()) >= 4, { timeoutMs: 30_000, intervalMs: 200, message: 'the server to have run 4 s' });
    await redis.client().del(bus.epoch);
    await redis.client().client('KILL', 'TYPE', 'pubsub');
    await waitFor(() => stats().bus.reconciles >= 2 && stats().bus.state === 'up', { timeoutMs: 30_000, message: 'bus never came back' });
    expect(stats().bus).toMatchObject({ recovered: 1, clears: 1 });
    // Redis goes away: errors, the breaker opens, the bus is down.
    await redis.process.kill();
    await waitFor(() => stats().l2.state === 'open' && stats().bus.state === 'down', { timeoutMs: 30_000, message: 'breaker never opened' });
    await http().get('/reports/42').expect(200);

    const after = scrape((await http().get('/metrics').expect(200)).text);
    const still: string[] = [];
    for (const family of strataFamilies) {
      if (CONSTANT.has(family) || COLD_ONLY.has(family)) continue;
      const was = ofFamily(before.series, family);
      const now = ofFamily(after.series, family);
      const moved = [...now].some(([name, value]) => was.get(name) !== value);
      if (!moved) still.push(family);
    }
    expect(still).toEqual([]);
    // A few exact readings, so "moved" also means "moved the right way".
    const s = after.series;
    expect(s.get('strata_cache_l1_evictions_total')).toBeGreaterThanOrEqual(2);
    expect(s.get('strata_cache_hits_total{cache="reports",tier="l2"}')).toBeGreaterThanOrEqual(2);
    expect(s.get('strata_cache_stale_hits_total{cache="reports"}')).toBe(1);
    expect(s.get('strata_cache_corrupt_entries_total{cache="reports",tier="l2"}')).toBe(1);
    expect(s.get('strata_cache_invalidations_total{cache="reports"}')).toBe(1);
    expect(s.get('strata_cache_purged_keys_total{cache="reports"}')).toBe(1);
    expect(s.get('strata_cache_circuit_state{state="open"}')).toBe(1);
    expect(s.get('strata_cache_compression_bytes_out_total')).toBeLessThan(s.get('strata_cache_compression_bytes_in_total')!);
    expect(s.get('strata_cache_tokens_saved_total{cache="reports"}')).toBeGreaterThan(0);
    // The catalog's embeddings, warmed once at startup (a fresh Redis: every one computed).
    expect(s.get('strata_cache_warmer_runs_total{warmer="TemplatesService.catalogEmbeddings",outcome="ok"}')).toBe(1);
    expect(s.get('strata_cache_warmer_entries_total{warmer="TemplatesService.catalogEmbeddings",result="warmed"}')).toBe(12);
  });

  it('the terminus health check goes down when Redis stops and up when it returns', async () => {
    // Redis was restarted after the previous test killed it: the check comes back by itself.
    await waitFor(async () => (await http().get('/health')).status === 200, { timeoutMs: 30_000, message: 'health never up' });
    const up = await http().get('/health').expect(200);
    expect(up.body).toMatchObject({ status: 'ok', info: { cache: { status: 'up', redis: { status: 'up', breaker: 'closed' } } } });
    await redis.process.kill();
    const down = await http().get('/health').expect(503);
    expect(down.body).toMatchObject({ status: 'error', error: { cache: { status: 'down', redis: { status: 'down' } } } });
    await redis.process.restart();
    await waitFor(async () => (await http().get('/health')).status === 200, { timeoutMs: 30_000, message: 'health never came back' });
  });
});
