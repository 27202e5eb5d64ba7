import type { BreakerState } from '../src';
import { type RedisSentinelProcess, startSentinel, waitFor } from './harness';
import { CacheFactory } from './cache-factory';
import { type HttpCacheApp, startHttpApp } from './support/http-app';
import { fmt, forRequests, startLoad, window } from './support/load';

const RATE = 300;
const DOWN_AFTER = 1_000;
const log = (line: string) => process.stdout.write(`${line}\n`);

/** `redis: { sentinels, name }` end to end: a real master, replica and three Sentinels, and a failover under load. */
describe('on Redis Sentinel', () => {
  let setup: RedisSentinelProcess;
  let current: HttpCacheApp | undefined;
  const apps = new CacheFactory();

  beforeAll(async () => {
    setup = await startSentinel({ downAfterMs: DOWN_AFTER });
  }, 180_000);
  afterAll(async () => {
    await apps.closeAll();
    await current?.app.close();
    await setup?.stop();
  });

  it('SENTINEL FAILOVER under load: 0 errors reach callers, writes resume on the new master', async () => {
    const app = (current = await startHttpApp({
      redis: { sentinels: setup.sentinelAddresses.map((a) => ({ ...a })), name: setup.masterName },
      prefix: 'sentinel',
      commandTimeout: 100,
    }));
    expect(app.cache.stats().l2.state).toBe('closed');
    const transitions: Array<[BreakerState, number]> = [];
    for (const event of ['circuit-open', 'circuit-close'] as const) app.cache.events.on(event, ({ state }) => transitions.push([state, performance.now()]));

    // Every request is a new key: a miss, a lock and a write, so the load is a steady stream of writes.
    const load = startLoad({ baseUrl: app.baseUrl, rate: RATE, path: (i) => `/items/w${i}` });
    await forRequests(() => load.samples, RATE);
    const oldMaster = await setup.currentMaster();
    const failoverAt = performance.now();
    const newMaster = await setup.failover();
    const promotedAfter = performance.now() - failoverAt;
    expect(newMaster).not.toBe(oldMaster);
    await forRequests(() => load.samples, 3 * RATE);
    const samples = await load.stop();

    // Which requests' writes reached the master Sentinel names now? The longest run of requests whose
    // write is missing there is the time writes did not land.
    const client = newMaster.client();
    const started = [...samples].sort((a, b) => a.start - b.start);
    const present = await client.pipeline(started.map((s) => ['exists', app.cache.keyOf(s.path.slice('/items/'.length))])).exec();
    const landed = started.filter((_, i) => present?.[i]?.[1] === 1).map((s) => s.start);
    let gap = 0;
    let gapFrom = 0;
    for (let i = 1; i < landed.length; i++) {
      if (landed[i] - landed[i - 1] > gap) [gap, gapFrom] = [landed[i] - landed[i - 1], landed[i - 1]];
    }
    const rel = (t: number) => t - load.started;
    log(`sentinel failover: ${fmt(window(samples, 0, Number.POSITIVE_INFINITY))}; new master named ${promotedAfter.toFixed(0)} ms after SENTINEL FAILOVER`);
    log(
      `sentinel failover: ${landed.length}/${samples.length} writes on the new master; longest write gap ${gap.toFixed(0)} ms, ` +
        `starting ${(gapFrom - rel(failoverAt)).toFixed(0)} ms after the failover command; breaker ` +
        `${transitions.map(([state, at]) => `${state} at ${(at - failoverAt).toFixed(0)} ms`).join(', ') || 'stayed closed'}`,
    );

    expect(samples.filter((s) => !s.ok)).toEqual([]);
    // Writes resume on the new master: those made after the gap landed (its length is logged above; a bound
    // in ms would only measure how busy the machine is).
    expect(landed.some((t) => t > gapFrom + gap)).toBe(true);
    expect(gapFrom + gap).toBeLessThan(started[started.length - 1].start);
    await waitFor(() => app.cache.stats().l2.state === 'closed', { message: 'the breaker did not close on the new master' });
  }, 180_000);

  it('tags, getMany and increment work through the Sentinel client', async () => {
    const app = current!;
    await app.cache.set('t1', 'one', { tags: ['group'] });
    await app.cache.set('t2', 'two', { tags: ['group'] });
    expect(await app.cache.getMany(['t1', 't2', 'none'])).toEqual(['one', 'two', undefined]);
    await app.cache.invalidateTags(['group']);
    expect(await app.cache.getMany(['t1', 't2'])).toEqual([undefined, undefined]);
    expect(await app.cache.increment('hits')).toBe(1);
    expect(await app.cache.increment('hits', 2)).toBe(3);
  });

  it('the bus across a failover: another instance keeps hearing invalidations, and never serves what was invalidated after it', async () => {
    const redis = { sentinels: setup.sentinelAddresses.map((a) => ({ ...a })), name: setup.masterName };
    const options = { redis, prefix: 'sentinel-bus', bus: { pingInterval: 200, pingTimeout: 200 } };
    const a = await apps.create(options);
    const b = await apps.create(options);
    await a.cache.set('k', 'v1');
    expect(await b.cache.get('k')).toBe('v1');
    const newMaster = (await setup.failover()).client();
    // Once A writes to the new master (a write made while it still talks to the old one fails there, and
    // is repaired by A's replay), every change A makes reaches B: through the bus, or its log.
    let probe = 0;
    await waitFor(async () => (await a.cache.set('probe', ++probe), (await newMaster.exists(a.cache.keyOf('probe'))) === 1), {
      timeoutMs: 30_000,
      message: 'A to write to the new master',
    });
    // (A write that still fails on a loaded box, past its command timeout, is made again: a stale copy
    // in B's L1 would be served whatever A writes, so repeating the write cannot hide a deaf bus.)
    for (let version = 2; version <= 6; version++) {
      await waitFor(async () => (await a.cache.set('k', `v${version}`), (await b.cache.get('k')) === `v${version}`), {
        timeoutMs: 30_000,
        message: `B to see v${version}`,
      });
    }
    await a.cache.delete('k');
    await waitFor(async () => (await b.cache.get('k')) === undefined, { timeoutMs: 30_000, message: 'B to drop k' });
    const bus = b.cache.stats().bus;
    log(`sentinel failover, the bus on B: state ${bus.state}, reconnects ${bus.reconciles}, read back ${bus.recovered}, L1 cleared ${bus.clears}`);
    expect(bus.state).toBe('up');
  }, 180_000);
});
