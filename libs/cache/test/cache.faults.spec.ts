import type Redis from 'ioredis';
import { L2UnavailableError } from '../src';
import { getFreePort, startRedis, useRedis, waitFor } from './harness';
import { CacheFactory, RecordingLogger } from './cache-factory';

/** Redis faults, on real processes: the harness kills, pauses and restarts the server. */
describe('CacheService when Redis fails', () => {
  const redis = useRedis();
  const apps = new CacheFactory();
  let admin: Redis;
  let n = 0;
  const prefix = () => `f${++n}`;

  beforeAll(() => {
    admin = redis.client();
  });
  afterEach(async () => {
    await apps.closeAll();
    if (!redis.process.isRunning()) await redis.process.restart();
  });

  it('keeps answering from L1 and the factory when Redis is killed, within the command timeout', async () => {
    const logger = new RecordingLogger();
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), commandTimeout: 100, logger });
    await cache.set('warm', 'from-l1');
    // The baseline: the same calls while Redis runs.
    const round = async (i: number, tag: string) => {
      const started = performance.now();
      expect(await cache.get('warm')).toBe('from-l1');
      expect(await cache.getOrSet(`cold:${tag}${i}`, () => `computed:${i}`)).toBe(`computed:${i}`);
      await cache.set(`w:${tag}${i}`, i);
      return performance.now() - started;
    };
    const alive: number[] = [];
    for (let i = 0; i < 50; i++) alive.push(await round(i, 'alive'));
    await redis.process.kill();
    // Until the client has seen the connection go (a few ms), a read may go to Redis and miss: wait for it.
    await waitFor(() => cache.stats().l2.state === 'open', { message: 'breaker never opened' });
    const dead: number[] = [];
    for (let i = 0; i < 50; i++) dead.push(await round(i, 'dead'));
    // No call waits on the dead Redis: the calls are no slower than with Redis answering (medians, 2x for noise).
    expect(median(dead)).toBeLessThanOrEqual(2 * median(alive));
    expect(cache.stats().l2.state).toBe('open');
    expect(cache.stats().l2.errors).toBeGreaterThan(0);
    // Logged once per state change, not once per call.
    expect(logger.count(/Redis tier unavailable/)).toBe(1);

    await redis.process.restart();
    await waitFor(() => cache.stats().l2.state === 'closed', { timeoutMs: 30_000, message: 'breaker never closed' });
    expect(logger.count(/Redis tier available again/)).toBe(1);
    await cache.set('after', 'back');
    expect(await admin.exists(cache.keyOf('after'))).toBe(1);
  });

  it('a paused Redis costs a call about the command timeout: the timeout, not Redis, sets the cost', async () => {
    const short = (await apps.create({ redis: redis.url, prefix: prefix(), commandTimeout: 100 })).cache;
    const long = (await apps.create({ redis: redis.url, prefix: prefix(), commandTimeout: 600 })).cache;
    await redis.process.pause();
    try {
      const timed = async (cache: typeof short) => {
        const started = performance.now();
        expect(await cache.getOrSet('paused', () => 'factory')).toBe('factory');
        return performance.now() - started;
      };
      const [fast, slow] = [await timed(short), await timed(long)];
      process.stdout.write(`paused Redis: getOrSet took ${fast.toFixed(0)} ms with commandTimeout 100, ${slow.toFixed(0)} ms with 600\n`);
      expect(fast).toBeGreaterThanOrEqual(90);
      expect(slow).toBeGreaterThanOrEqual(540);
      // What it costs beyond the timeout does not grow with it: the call does not wait on Redis itself.
      expect(fast).toBeLessThan(slow / 2);
    } finally {
      await redis.process.resume();
    }
  });

  it('strict: true surfaces Redis errors instead of degrading', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), commandTimeout: 100, strict: true });
    await redis.process.kill();
    await expect(cache.get('x')).rejects.toBeInstanceOf(L2UnavailableError);
    await expect(cache.set('x', 1)).rejects.toBeInstanceOf(L2UnavailableError);
  });

  it('starts with Redis down, serves from the factory, and uses Redis once it appears', async () => {
    const port = await getFreePort();
    const url = `redis://127.0.0.1:${port}`;
    const { cache } = await apps.create({ redis: url, prefix: prefix(), connectTimeout: 200, probeInterval: 100 });
    expect(await cache.getOrSet('k', () => 'factory')).toBe('factory');
    expect(cache.stats().l2.state).not.toBe('closed');
    const late = await startRedis({ port });
    try {
      await waitFor(() => cache.stats().l2.state === 'closed', { timeoutMs: 30_000, message: 'never connected' });
      await cache.set('k2', 'stored');
      expect(await late.client().exists(cache.keyOf('k2'))).toBe(1);
    } finally {
      await apps.closeAll();
      await late.stop();
    }
  });

  it('never resurrects: a set that timed out while Redis was paused stays deleted (200 runs)', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), commandTimeout: 20, probeInterval: 20 });
    for (let run = 0; run < 200; run++) {
      const key = `res:${run}`;
      await redis.process.pause();
      const errors = cache.stats().l2.errors;
      expect(cache.stats().l2.state).toBe('closed'); // so the set below is sent, not refused by an open breaker
      await cache.set(key, 'written-while-paused'); // times out client-side; the bytes wait in the socket
      expect(cache.stats().l2.errors).toBeGreaterThan(errors);
      await redis.process.resume();
      await cache.delete(key); // may go straight to Redis, or be queued while the breaker is open
      await waitFor(() => cache.stats().l2.state === 'closed', { timeoutMs: 30_000 });
      await waitFor(async () => (await admin.exists(cache.keyOf(key))) === 0, { timeoutMs: 30_000 });
      expect(await cache.get(key)).toBeUndefined();
    }
  }, 180_000);

  it('when more deletes pile up during an outage than can be listed, invalidates their namespace whole', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), commandTimeout: 100, probeInterval: 100 });
    await cache.set('doomed', 'old');
    await cache.namespace('other').set('doomed', 'old too');
    await redis.process.pause();
    try {
      for (let i = 0; i < 3; i++) await cache.get(`trip${i}`); // the breaker opens: deletes are remembered
      await waitFor(() => cache.stats().l2.state === 'open');
      // One more than the 10,000 remembered: the list is dropped, so the keys cannot be replayed one by one.
      await cache.delete(['doomed', ...Array.from({ length: 10_000 }, (_, i) => `filler${i}`)]);
    } finally {
      await redis.process.resume();
    }
    await waitFor(() => cache.stats().l2.state === 'closed', { timeoutMs: 30_000 });
    // Redis still holds the old bytes, but the namespace was invalidated after them: a miss, not a resurrection.
    expect(await admin.exists(cache.keyOf('doomed'))).toBe(1);
    expect(await cache.get('doomed')).toBeUndefined();
    expect(await cache.namespace('other').get('doomed')).toBeUndefined();
  });

  it('replays 8000 tag invalidations made during an outage in a few round trips, within the command timeout', async () => {
    const p = prefix();
    const { cache } = await apps.create({ redis: redis.url, prefix: p, commandTimeout: 100, probeInterval: 100 });
    const tags = Array.from({ length: 8000 }, (_, i) => `t${i}`);
    await cache.setMany(tags.map((tag) => ({ key: tag, value: 'old', tags: [tag] })));
    const scriptCalls = async () => {
      const stats = await admin.info('commandstats');
      return [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await scriptCalls();
    await redis.process.pause();
    try {
      for (let i = 0; i < 3; i++) await cache.get(`trip${i}`);
      await waitFor(() => cache.stats().l2.state === 'open');
      await cache.invalidateTags(tags);
    } finally {
      await redis.process.resume();
    }
    await waitFor(() => cache.stats().l2.state === 'closed', { timeoutMs: 30_000 });
    // 8000 times in scripts of 500 (and the bus announcements), not 8000 commands.
    expect((await scriptCalls()) - before).toBeLessThan(40);
    // A fresh instance knows no times but Redis's: the replayed ones make every entry a miss there.
    const { cache: fresh } = await apps.create({ redis: redis.url, prefix: p });
    expect(await fresh.getMany(tags)).toEqual(tags.map(() => undefined));
  });

  it('replays deletes made while Redis was unreachable before using it again', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), commandTimeout: 100, probeInterval: 100 });
    await cache.set('doomed', 'old');
    await redis.process.pause();
    try {
      await cache.get('nothing'); // trip the breaker
      await cache.get('nothing2');
      await cache.get('nothing3');
      await cache.delete('doomed'); // cannot reach Redis: remembered
    } finally {
      await redis.process.resume();
    }
    await waitFor(() => cache.stats().l2.state === 'closed', { timeoutMs: 30_000 });
    expect(await admin.exists(cache.keyOf('doomed'))).toBe(0);
    expect(await cache.get('doomed')).toBeUndefined();
  });
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
