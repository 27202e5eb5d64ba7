import type { CacheStats } from '../src';
import { useRedis, waitFor } from './harness';
import { type Worker, Workers } from './support/workers';
import { fmt, forRequests, keys, startLoad, window } from './support/load';

const RATE = 150; // requests per second per instance: 300 in all, on 2 shared cores
const KEYS = 300;
const log = (line: string) => process.stdout.write(`${line}\n`);

interface WorkerStats {
  type: 'stats';
  stats: CacheStats;
  calls: Record<string, number>;
}

/**
 * Redis frozen (SIGSTOP) for 5 s under load, two instances in their own processes sharing it. While
 * Redis does not answer, nobody's invalidation can land in it: keys fresh in L1 are served from L1,
 * never computed again, at the latency they had before.
 */
describe('Redis frozen under load, two instances', () => {
  const redis = useRedis();
  const workers = new Workers();
  afterAll(() => workers.stopAll());
  afterEach(async () => {
    if (redis.process.isPaused()) await redis.process.resume();
  });

  const statsOf = async (worker: Worker): Promise<WorkerStats> => {
    worker.send({ type: 'stats' });
    return worker.next<WorkerStats>('stats');
  };

  it('SIGSTOP 5 s: 0 recomputes of keys fresh in L1, their p99 within 2x of before, 0 failed requests', async () => {
    const options = { redis: redis.url, prefix: 'frozen', ttl: '10m' };
    const apps = await workers.start('http-worker.ts', 2, { CACHE_OPTIONS: JSON.stringify(options) });
    const urls = apps.map((app) => `http://127.0.0.1:${app.ready.port as number}`);
    // Both buses up first: a first subscription clears L1.
    await waitFor(async () => (await Promise.all(apps.map(statsOf))).every((s) => s.stats.bus.state === 'up'), { message: 'the bus is not up' });
    // Every key computed (by one instance; the other reads it from Redis), and in both L1s.
    const warm = startLoad({ baseUrl: urls[0], rate: 1000, path: (i) => `/items/k${i % KEYS}` });
    await forRequests(() => warm.samples, KEYS, 1000);
    await warm.stop();
    const warm2 = startLoad({ baseUrl: urls[1], rate: 1000, path: (i) => `/items/k${i % KEYS}` });
    await forRequests(() => warm2.samples, KEYS, 1000);
    await warm2.stop();
    await waitFor(async () => (await Promise.all(apps.map(statsOf))).every((s) => s.stats.bus.state === 'up'), { message: 'the bus is not up' });
    const warmed = await Promise.all(apps.map(statsOf));
    const runsBefore = warmed.map((s) => s.stats.factory.runs);
    // At least once per key (on a busy machine a read of Redis may time out during the warm-up and compute).
    expect(runsBefore.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(KEYS);
    expect(warmed.every((s) => s.stats.bus.clears === 0)).toBe(true);

    // Up to three freezes: recomputes and failures must be 0 in every one; the p99 (a noisy figure on two
    // shared cores, where a neighbour's burst lands on any 5 s window) must hold in one of them. A freeze
    // that slowed L1 hits (a request waiting on Redis) would fail all three.
    const p99s: string[] = [];
    let held = { paused: Number.POSITIVE_INFINITY, baseline: 0 };
    for (let cycle = 1; cycle <= 3; cycle += 1) {
      const loads = urls.map((baseUrl, i) => startLoad({ baseUrl, rate: RATE, path: keys(KEYS, 'k', i + 1) }));
      const issued = () => loads.reduce((n, load) => n + load.samples.length, 0);
      await forRequests(issued, 10 * 2 * RATE);
      const pausedAt = performance.now();
      await redis.process.pause();
      await forRequests(issued, 5 * 2 * RATE);
      await redis.process.resume();
      const resumedAt = performance.now();
      await forRequests(issued, 3 * 2 * RATE);
      const samples = (await Promise.all(loads.map((load) => load.stop()))).flatMap((got, i) =>
        got.map((s) => ({ ...s, start: s.start + loads[i].started - loads[0].started })),
      );
      const final = await Promise.all(apps.map(statsOf));

      const rel = (t: number) => t - loads[0].started;
      // The baseline: the same load in the two 5 s windows before the pause; the worse p99 of the two is the
      // noise this machine makes anyway (other jobs share it).
      const before = window(samples, rel(pausedAt) - 5_000, rel(pausedAt));
      const earlier = window(samples, rel(pausedAt) - 10_000, rel(pausedAt) - 5_000);
      const baselineP99 = Math.max(before.p99, earlier.p99);
      const paused = window(samples, rel(pausedAt), rel(resumedAt));
      const after = window(samples, rel(resumedAt), Number.POSITIVE_INFINITY);
      const recomputed = final.map((s, i) => s.stats.factory.runs - runsBefore[i]);
      log(`frozen Redis 5 s (freeze ${cycle}), 2 instances: before ${fmt(earlier)} | ${fmt(before)}`);
      log(`frozen Redis 5 s (freeze ${cycle}), 2 instances: paused ${fmt(paused)}`);
      log(`frozen Redis 5 s (freeze ${cycle}), 2 instances: after  ${fmt(after)}`);
      log(`frozen Redis 5 s (freeze ${cycle}), 2 instances: recomputes of L1-fresh keys ${recomputed.join(' + ')}; bus ${final.map((s) => JSON.stringify(s.stats.bus)).join(' ')}`);

      expect(samples.filter((s) => !s.ok)).toEqual([]);
      expect(recomputed).toEqual([0, 0]);
      p99s.push(`freeze ${cycle}: paused p99 ${paused.p99.toFixed(1)} ms vs before ${baselineP99.toFixed(1)} ms`);
      held = { paused: paused.p99, baseline: baselineP99 };
      if (paused.p99 <= 2 * baselineP99) break;
      // Redis answers again before the next freeze's baseline starts.
      await waitFor(async () => (await Promise.all(apps.map(statsOf))).every((s) => s.stats.bus.state === 'up' && s.stats.l2.state === 'closed'), { message: 'Redis to be back for both' });
    }
    log(`frozen Redis: ${p99s.join('; ')}`);
    expect(held.paused).toBeLessThanOrEqual(2 * held.baseline);
  }, 300_000);
});
