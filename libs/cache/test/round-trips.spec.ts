import type Redis from 'ioredis';
import type { CacheService } from '../src';
import type { CacheInspector } from '../src/testing';
import { useRedis, waitFor } from './harness';
import { CacheFactory } from './cache-factory';

/**
 * What one call costs in round trips: the commands the cache's clients sent (not those run inside a
 * script), seen by the real server through MONITOR.
 */
describe('round trips of a getOrSet (real redis-server)', () => {
  const apps = new CacheFactory();
  afterAll(() => apps.closeAll());
  const redis = useRedis();

  async function sent(options: { lock?: false }, prepare: (cache: CacheService) => Promise<unknown>, run: (cache: CacheService) => Promise<unknown>): Promise<string[]> {
    const prefix = `rt${Math.random().toString(36).slice(2, 8)}`;
    const { cache } = await apps.create({ redis: redis.url, prefix, memory: false, ...options });
    await cache.getOrSet('warm', async () => 1); // scripts loaded, connections up
    await prepare(cache);
    const monitor = (await redis.client().monitor()) as unknown as Redis & { on(event: 'monitor', cb: (time: string, args: string[], source: string) => void): void };
    const commands: string[] = [];
    // A marker before and after: MONITOR may start a little late or report a little after the call.
    monitor.on('monitor', (_time, args, source) => {
      if (source !== 'lua') commands.push(args.map((a, i) => (i === 0 ? a.toLowerCase() : a)).join(' '));
    });
    const admin = redis.client();
    await admin.echo('start');
    await waitFor(() => commands.some((c) => c === 'echo start'), { message: 'MONITOR saw nothing' });
    await run(cache);
    await admin.echo('end');
    await waitFor(() => commands.some((c) => c === 'echo end'), { message: 'MONITOR missed the end marker' });
    monitor.disconnect();
    const between = commands.slice(commands.indexOf('echo start') + 1, commands.indexOf('echo end'));
    // Only the commands about the entry (the bus and the times' own traffic is not the call's).
    return between.filter((c) => c.includes(`${prefix}:`) && (c.includes('fresh') || c.includes('there'))).map((c) => c.split(' ')[0]);
  }

  it('a miss with the cluster-wide lock: one script reads and locks, one fenced write (2 round trips, as a get and a set)', async () => {
    const commands = await sent({}, async () => undefined, (cache) => cache.getOrSet('fresh', async () => ({ a: 1 })));
    expect(commands).toEqual(['evalsha', 'evalsha']);
  });

  it('a hit through getOrSet takes no lock: one script, nothing else', async () => {
    const commands = await sent({}, (cache) => cache.set('there', { a: 1 }), async (cache) => expect(await cache.getOrSet('there', async () => ({ a: 2 }))).toEqual({ a: 1 }));
    expect(commands).toEqual(['evalsha']);
  });

  // The first read of an L1 miss follows what such reads found lately (per cache name): a cold cache's
  // misses read and lock in one script; once most of them find their entry, a plain GET (Redis runs it
  // ~8x cheaper than the script) and the script only after a miss.
  const hitsFirst = async (cache: CacheService) => {
    for (const key of ['there', 'h1', 'h2', 'h3', 'h4']) await cache.set(key, { a: 1 });
    for (const key of ['h1', 'h2', 'h3', 'h4']) expect(await cache.getOrSet(key, async () => ({ a: 2 }))).toEqual({ a: 1 });
  };

  it('once most first reads find their entry, a getOrSet hit is one GET: no script', async () => {
    const commands = await sent({}, hitsFirst, async (cache) => expect(await cache.getOrSet('there', async () => ({ a: 2 }))).toEqual({ a: 1 }));
    expect(commands).toEqual(['get']);
  });

  it('once most first reads find their entry, a miss is a GET, then the script that reads and locks, then the fenced write', async () => {
    let ran = 0;
    const commands = await sent({}, hitsFirst, (cache) => cache.getOrSet('fresh', async () => ({ a: ++ran })));
    expect(commands).toEqual(['get', 'evalsha', 'evalsha']);
    expect(ran).toBe(1);
  });

  it('after a run of misses, the first read is the script again', async () => {
    const commands = await sent(
      {},
      async (cache) => {
        await hitsFirst(cache);
        for (let i = 0; i < 12; i++) await cache.getOrSet(`gone${i}`, async () => i);
      },
      (cache) => cache.getOrSet('fresh', async () => ({ a: 1 })),
    );
    expect(commands).toEqual(['evalsha', 'evalsha']);
  });

  it('a miss without the lock: a GET and a SET', async () => {
    const commands = await sent({ lock: false }, async () => undefined, (cache) => cache.getOrSet('fresh', async () => ({ a: 1 })));
    expect(commands).toEqual(['get', 'set']);
  });
});

/**
 * A `set` is one round trip on a standalone server: the write, the lookup of its key's dependency
 * record and the bus message that announces it are handed to the connection together, the server runs
 * them in that order, and the call waits for the three replies at once (before: the write, then the
 * other two after its reply). A `delete` too, and an invalidation (the times, then their announcement).
 */
describe('round trips of a set, a delete and an invalidation (real redis-server)', () => {
  const apps = new CacheFactory();
  afterAll(() => apps.closeAll());
  const redis = useRedis();

  // A long command timeout: the server is stopped for a moment, and the calls must not give up.
  const open = (prefix: string) => apps.create({ redis: redis.url, prefix, commandTimeout: 30_000 });

  /**
   * Stops the server, starts `call`, and counts the commands its client sent before any reply: stopped,
   * the server answers nothing, and every command sent without waiting for a reply has been handed to
   * the client by the next turn of the event loop (no timer involved). Then lets the call finish.
   */
  async function sentBeforeFirstReply(inspector: CacheInspector, call: () => Promise<unknown>): Promise<number> {
    const queued = () => inspector.redisQueues()!.commands;
    await redis.process.pause();
    let running: Promise<unknown> | undefined;
    let sent: number;
    try {
      const before = queued();
      running = call();
      await new Promise((resolve) => setImmediate(resolve));
      sent = queued() - before;
    } finally {
      await redis.process.resume();
    }
    await running;
    return sent;
  }

  it('the write, its dependency lookup and its announcement are all sent before the first reply, in that order', async () => {
    const prefix = `rs${Math.random().toString(36).slice(2, 8)}`;
    const { cache, inspector } = await open(prefix);
    await cache.set('warm', 1); // scripts loaded, the bus up
    const monitor = (await redis.client().monitor()) as unknown as Redis & { on(event: 'monitor', cb: (time: string, args: string[], source: string) => void): void };
    const commands: string[] = [];
    monitor.on('monitor', (_time, args, source) => void (source !== 'lua' && commands.push(args.map((a, i) => (i === 0 ? a.toLowerCase() : a)).join(' '))));
    // Sending the rest after the write's reply, it would show 1.
    expect(await sentBeforeFirstReply(inspector, () => cache.set('k', { a: 1 }))).toBeGreaterThanOrEqual(3);
    expect(await cache.get('k')).toEqual({ a: 1 });
    await waitFor(() => commands.some((c) => c.includes(`${prefix}:{__bus}:log`) && commands.some((d) => d.startsWith('set ') && d.includes(':k '))), { message: 'MONITOR missed the set' });
    monitor.disconnect();
    const ofSet = commands.filter((c) => (c.startsWith('set ') && c.includes(`${prefix}:`) && c.includes(':k ')) || (c.startsWith('mget ') && c.includes('dep:')) || c.includes(`${prefix}:{__bus}:log`));
    expect(ofSet.map((c) => c.split(' ')[0])).toEqual(['set', 'mget', 'evalsha']);
  });

  it('a delete too: the UNLINK, its dependency lookup and its announcement before the first reply', async () => {
    const { cache, inspector } = await open(`rd${Math.random().toString(36).slice(2, 8)}`);
    await cache.set('k', 1); // scripts loaded, the bus up
    expect(await sentBeforeFirstReply(inspector, () => cache.delete('k'))).toBeGreaterThanOrEqual(3);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('a setMany too: its writes, their dependency lookup and their announcement before the first reply', async () => {
    const { cache, inspector } = await open(`rm${Math.random().toString(36).slice(2, 8)}`);
    await cache.setMany([{ key: 'warm', value: 1 }]); // scripts loaded, the bus up
    const items = [{ key: 'a', value: { a: 1 } }, { key: 'b', value: 'two' }];
    // The two writes, then the lookup and the announcement: sending those after the writes' replies, it would show 2.
    expect(await sentBeforeFirstReply(inspector, () => cache.setMany(items))).toBeGreaterThanOrEqual(items.length + 2);
    expect(await cache.getMany(['a', 'b'])).toEqual([{ a: 1 }, 'two']);
  });

  it('invalidateTags too: the times written and their announcement before the first reply', async () => {
    const { cache, inspector } = await open(`ri${Math.random().toString(36).slice(2, 8)}`);
    await cache.set('k', 1, { tags: ['t'] });
    await cache.invalidateTags(['warm']); // scripts loaded
    expect(await sentBeforeFirstReply(inspector, () => cache.invalidateTags(['t']))).toBeGreaterThanOrEqual(2);
    expect(await cache.get('k')).toBeUndefined();
  });
});
