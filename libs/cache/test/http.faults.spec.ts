import type { CacheStats } from '../src';
import { getFreePort, startRedis, useRedis, waitFor } from './harness';
import { type HttpCacheApp, startHttpApp } from './support/http-app';
import { Workers } from './support/workers';
import { fmt, forRequests, keys, startLoad, window } from './support/load';

const RATE = 300; // requests per second: steady, and modest (2 shared cores)
const COMMAND_TIMEOUT = 100;
const PROBE_INTERVAL = 500; // the default

const log = (line: string) => process.stdout.write(`${line}\n`);

/**
 * The cache under a steady HTTP load while Redis fails: a Nest app (Express) on a real socket, a real
 * redis-server paused, killed and restarted by the harness, an open-loop load of 300 requests/s.
 */
describe('HTTP under load while Redis fails', () => {
  const redis = useRedis();
  const workers = new Workers();
  let current: HttpCacheApp | undefined;
  afterAll(() => workers.stopAll());
  afterEach(async () => {
    await current?.app.close();
    current = undefined;
    if (!redis.process.isRunning()) await redis.process.restart();
    if (redis.process.isPaused()) await redis.process.resume();
  });

  it('Redis SIGSTOPped for 5 s: 0 failed requests, added p99 about the command timeout, L2 used again within 1 s of SIGCONT', async () => {
    const app = (current = await startHttpApp({
      redis: redis.url,
      prefix: 'stop',
      commandTimeout: COMMAND_TIMEOUT,
      memory: { maxEntries: 200 }, // most requests need Redis: 2000 keys, 200 in L1
    }));
    const ids = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    await app.cache.setMany(ids.map((id) => ({ key: id, value: { id, v: 1 } })));
    const transitions: Array<{ state: string; at: number }> = [];
    for (const event of ['circuit-open', 'circuit-close'] as const) app.cache.events.on(event, ({ state }) => transitions.push({ state, at: performance.now() }));

    const load = startLoad({ baseUrl: app.baseUrl, rate: RATE, path: keys(2000, 'k') });
    const issued = () => load.samples.length;
    await forRequests(issued, 2 * RATE);
    const pausedAt = performance.now();
    await redis.process.pause();
    await forRequests(issued, 5 * RATE);
    const l2HitsBefore = app.cache.stats().l2.hits;
    await redis.process.resume();
    const resumedAt = performance.now();
    await waitFor(() => app.cache.stats().l2.hits > l2HitsBefore, { timeoutMs: 30_000, intervalMs: 5, message: 'L2 was not used again' });
    const l2BackAfter = performance.now() - resumedAt;
    await forRequests(issued, 2 * RATE);
    const samples = await load.stop();

    const rel = (t: number) => t - load.started;
    const before = window(samples, 0, rel(pausedAt));
    const paused = window(samples, rel(pausedAt), rel(resumedAt));
    const after = window(samples, rel(resumedAt), Number.POSITIVE_INFINITY);
    const closed = transitions.find((t) => t.state === 'closed' && t.at > resumedAt);
    log(`SIGSTOP 5 s: before  ${fmt(before)}`);
    // Added latency: what a request took beyond the usual (the median before the pause).
    const added = paused.p99 - before.p50;
    log(`SIGSTOP 5 s: paused  ${fmt(paused)}; p99 added ${added.toFixed(1)} ms (p99 paused − p50 before)`);
    log(`SIGSTOP 5 s: after   ${fmt(after)}`);
    log(`SIGSTOP 5 s: breaker closed ${closed ? (closed.at - resumedAt).toFixed(0) : '?'} ms after SIGCONT; first L2 hit after ${l2BackAfter.toFixed(0)} ms`);

    expect(samples.filter((s) => !s.ok)).toEqual([]);
    expect(paused.count).toBeGreaterThanOrEqual(5 * RATE * 0.9);
    // Relative to the same load before the pause (shared CPU): a request waits at most a command timeout or
    // two (a read, then the lock) beyond what it took then; L2 is used again within a probe or two.
    expect(paused.p99).toBeLessThan(before.p99 + 2 * COMMAND_TIMEOUT);
    expect(paused.max).toBeLessThan(before.max + 3 * COMMAND_TIMEOUT);
    expect(l2BackAfter).toBeLessThan(before.max + 2 * PROBE_INTERVAL);
  }, 180_000);

  it('Redis killed, restarted empty 10 s later: 0 failures for keys in L1 or in grace, at most 1 factory call per key, queued commands bounded', async () => {
    const app = (current = await startHttpApp({ redis: redis.url, prefix: 'kill', commandTimeout: COMMAND_TIMEOUT, ttl: '10m' }));
    // A: fresh in L1 and Redis. B: past their ttl, inside their grace. C: never seen before the load.
    const a = Array.from({ length: 200 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 200 }, (_, i) => `b${i}`);
    await app.cache.setMany(a.map((id) => ({ key: id, value: { id, v: 1 } })));
    await app.cache.setMany(b.map((id) => ({ key: id, value: { id, v: 1 }, ttl: 200, grace: '10m' })));
    await waitFor(async () => (await app.cache.get('b0')) === undefined, { message: 'B never went stale' });
    const pathOf = keys(600, '', 7);
    const load = startLoad({
      baseUrl: app.baseUrl,
      rate: RATE,
      path: (i) => {
        const n = Number(pathOf(i).slice('/items/'.length));
        return `/items/${n < 200 ? `a${n}` : n < 400 ? `b${n - 200}` : `c${n - 400}`}`;
      },
    });
    const issued = () => load.samples.length;
    await forRequests(issued, RATE);

    let maxOffline = 0;
    let maxCommands = 0;
    let maxPending = 0;
    const sampler = setInterval(() => {
      const queued = app.inspector.redisQueues()!;
      maxOffline = Math.max(maxOffline, queued.offline);
      maxCommands = Math.max(maxCommands, queued.commands);
      maxPending = Math.max(maxPending, app.cache.stats().l2.pending);
    }, 20);
    // Calls made while Redis was down: the figure the promise is about. (A refresh whose write was in flight
    // when Redis died may not be kept in L1 (the bus goes down with Redis), so its key may be computed once more in
    // the outage: counted from the kill on, that is the one call the promise allows.)
    const beforeKill = new Map(app.source.calls);
    const killedAt = performance.now();
    await redis.process.kill();
    await forRequests(issued, 10 * RATE);
    const atRestart = new Map(app.source.calls);
    const duringOutage = new Map([...atRestart].map(([key, n]) => [key, n - (beforeKill.get(key) ?? 0)] as const).filter(([, n]) => n > 0));
    await redis.process.restart();
    const restartedAt = performance.now();
    await waitFor(() => app.cache.stats().l2.state === 'closed', { timeoutMs: 30_000, intervalMs: 10, message: 'never reconnected' });
    const reconnectedAfter = performance.now() - restartedAt;
    await waitFor(() => app.cache.stats().bus.state === 'up', { timeoutMs: 30_000, intervalMs: 5, message: 'the bus never came back' });
    const busBackAfter = performance.now() - restartedAt;
    await forRequests(issued, RATE);
    const samples = await load.stop();
    clearInterval(sampler);

    const rel = (t: number) => t - load.started;
    const outage = window(samples, rel(killedAt), rel(restartedAt));
    const calls = [...app.source.calls.entries()];
    const maxCalls = Math.max(...calls.map(([, n]) => n));
    log(`kill 10 s: outage ${fmt(outage)}; whole run ${fmt(window(samples, 0, Number.POSITIVE_INFINITY))}`);
    log(
      `kill 10 s: factory calls per key max ${maxCalls} (A ${calls.filter(([k]) => k.startsWith('a')).length} keys called, ` +
        `B ${calls.filter(([k]) => k.startsWith('b')).length}, C ${calls.filter(([k]) => k.startsWith('c')).length}); ` +
        `offline queue max ${maxOffline}, command queue max ${maxCommands}, keys in doubt max ${maxPending}; ` +
        `L2 back ${reconnectedAfter.toFixed(0)} ms after the restart, the bus ${busBackAfter.toFixed(0)} ms`,
    );

    expect(samples.filter((s) => !s.ok)).toEqual([]);
    // While Redis is down: at most one call per key, none for keys fresh in L1.
    expect(Math.max(0, ...duringOutage.values())).toBeLessThanOrEqual(1);
    expect([...duringOutage.keys()].filter((k) => k.startsWith('a'))).toEqual([]);
    // Once Redis (and with it the invalidation bus) is back, the bus sees that Redis restarted during the
    // gap and reads the new log instead of clearing L1: no key is computed again.
    expect(app.cache.stats().bus).toMatchObject({ reconciles: 1, clears: 0 });
    expect(calls.filter(([key, n]) => n > (atRestart.get(key) ?? 0))).toEqual([]);
    expect(maxOffline).toBe(0);
    expect(maxCommands).toBeLessThan(1_000);
    expect(maxPending).toBeLessThanOrEqual(10_000);
  }, 180_000);

  it('Redis down when the app starts: it starts, serves from the factory, 0 unhandled rejections, and uses Redis once it appears', async () => {
    // In a child process: Jest's workers swallow unhandled rejections, a plain Node process does not.
    const port = await getFreePort();
    const options = { redis: `redis://127.0.0.1:${port}`, prefix: 'down', commandTimeout: COMMAND_TIMEOUT, connectTimeout: 200, probeInterval: 100 };
    const [app] = await workers.start('http-worker.ts', 1, { CACHE_OPTIONS: JSON.stringify(options) });
    const ready = app.ready;
    const stats = async () => {
      app.send({ type: 'stats' });
      return app.next<{ type: 'stats'; unhandled: string[]; stats: CacheStats }>('stats');
    };
    // The counter works: one rejection made on purpose is seen.
    app.send({ type: 'probe' });
    await waitFor(async () => (await stats()).unhandled.length === 1, { message: 'the probe rejection was not counted' });

    const load = startLoad({ baseUrl: `http://127.0.0.1:${ready.port as number}`, rate: RATE, path: keys(300, 'd') });
    await forRequests(() => load.samples, 2 * RATE);
    expect((await stats()).stats.l2.state).not.toBe('closed');
    const late = await startRedis({ port });
    try {
      await waitFor(async () => (await stats()).stats.l2.state === 'closed', { timeoutMs: 30_000, message: 'never connected' });
      await forRequests(() => load.samples, RATE);
      const samples = await load.stop();
      const final = await stats();
      const stored = await late.client().dbsize();
      log(
        `down at startup: app started in ${(ready.startupMs as number).toFixed(0)} ms; ${fmt(window(samples, 0, Number.POSITIVE_INFINITY))}; ` +
          `factory runs ${final.stats.factory.runs}; ${stored} keys in Redis once it appeared; ${final.unhandled.length - 1} unhandled rejections`,
      );
      expect(samples.filter((s) => !s.ok)).toEqual([]);
      expect(stored).toBeGreaterThan(0);
      expect(final.unhandled).toEqual(['Error: probe']);
    } finally {
      await late.stop();
    }
  }, 180_000);
});
