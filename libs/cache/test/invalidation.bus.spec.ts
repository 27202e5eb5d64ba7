import Redis from 'ioredis';
import { waitFor } from './harness';
import { preciseNow } from '../src/invalidation/bus';
import { RecordingLogger } from './cache-factory';
import { useInvalidationSuite } from './invalidation-suite';
import { TcpProxy } from './tcp-proxy';

/** A pause to hold a steady request rate (a workload's clock), never to wait for an outcome. */
const until = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - preciseNow())));

/**
 * The invalidation bus between instances sharing one Redis (see docs/ARCHITECTURE.md#invalidation), on real processes:
 * Redis from the harness (with KEYS renamed away, so any use of it would fail), Nest app contexts.
 */
describe('Invalidation bus', () => {
  const { redis, apps, admin, prefix } = useInvalidationSuite('bus');

  it('writes announced in one tick travel together (fewer messages than writes) and still drop every copy', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    const keys = Array.from({ length: 20 }, (_, i) => `burst${i}`);
    await a.cache.setMany(keys.map((key) => ({ key, value: 'old' })));
    expect(await b.cache.getMany(keys)).toEqual(keys.map(() => 'old')); // now in B's L1
    await waitFor(() => b.cache.stats().bus.received >= 1, { message: "B to hear A's setMany" });
    const heard = b.cache.stats().bus.received;

    // 20 writes in flight at once: their replies come back together, and their announcements with them.
    await Promise.all(keys.map((key) => a.cache.set(key, 'new')));
    await waitFor(async () => (await b.cache.getMany(keys)).every((value) => value === 'new'), { message: 'B to drop every old copy' });
    const messages = b.cache.stats().bus.received - heard;
    expect(messages).toBeGreaterThanOrEqual(1);
    expect(messages).toBeLessThan(keys.length / 2);
  });

  it('set, delete, invalidateTags, clear and invalidatePattern on A drop the copies in B\'s L1', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    const bRead = async (key: string) => b.cache.get(key);
    const l1Hits = () => b.cache.stats().l1.hits;

    await a.cache.set('k', 'v1', { tags: ['t'] });
    expect(await bRead('k')).toBe('v1'); // L2 hit, promoted
    const before = l1Hits();
    expect(await bRead('k')).toBe('v1');
    expect(l1Hits()).toBe(before + 1); // B now serves it from L1: only the bus can tell it otherwise

    await a.cache.set('k', 'v2', { tags: ['t'] });
    await waitFor(async () => (await bRead('k')) === 'v2', { message: 'B to drop v1 after A set v2' });
    expect(await bRead('k')).toBe('v2');

    await a.cache.delete('k');
    await waitFor(async () => (await bRead('k')) === undefined, { message: 'B to drop k after A deleted it' });

    await a.cache.set('k', 'v3', { tags: ['t'] });
    await waitFor(async () => (await bRead('k')) === 'v3');
    await a.cache.invalidateTags(['t']);
    await waitFor(async () => (await bRead('k')) === undefined, { message: 'B to apply the tag time' });

    await a.cache.namespace('ns').set('n', 1);
    expect(await b.cache.namespace('ns').get('n')).toBe(1);
    await a.cache.namespace('ns').clear();
    await waitFor(async () => (await b.cache.namespace('ns').get('n')) === undefined, { message: 'B to apply the namespace time' });

    await a.cache.setMany([
      { key: 'user:1:a', value: 'a' },
      { key: 'user:1:b', value: 'b' },
      { key: 'user:2:a', value: 'c' },
    ]);
    expect(await b.cache.getMany(['user:1:a', 'user:1:b', 'user:2:a'])).toEqual(['a', 'b', 'c']);
    expect(await a.cache.invalidatePattern('user:1:*')).toBe(2);
    await waitFor(async () => (await b.cache.get('user:1:a')) === undefined && (await b.cache.get('user:1:b')) === undefined);
    expect(await b.cache.get('user:2:a')).toBe('c');

    expect(b.cache.stats().bus).toMatchObject({ state: 'up', reconciles: 0 });
    expect(b.cache.stats().bus.received).toBeGreaterThanOrEqual(6);
    // An instance ignores what it published itself.
    expect(a.cache.stats().bus.received).toBe(0);
    expect(a.cache.stats().bus.published).toBeGreaterThanOrEqual(6);
  });

  it('runs as an ACL user limited to the documented commands and to keys and channels under its prefix', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    // The app's user, on a connection of the test's own: the limits are the user's, whoever connects as it.
    const client = new Redis(redis.url, { lazyConnect: true });
    try {
      await client.connect();
      await expect(client.set('elsewhere:k', 'v')).rejects.toThrow(/NOPERM/);
      await expect(client.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
    } finally {
      client.disconnect();
    }
    await admin().call('ACL', 'LOG', 'RESET'); // those two denials were on purpose
    await a.cache.set('k', 'v', { tags: ['t'] });
    expect(await a.cache.get('k')).toBe('v');
    // The stampede lock (scripts on `<prefix>:{<key>}:lock`), counters, scheduled invalidation.
    const b = await apps.create({ redis: redis.url, prefix: p });
    let runs = 0;
    const slow = async () => {
      runs += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return 'computed';
    };
    expect(await Promise.all([a.cache.getOrSet('g', slow), b.cache.getOrSet('g', slow)])).toEqual(['computed', 'computed']);
    expect(runs).toBe(1);
    expect(await a.cache.increment('n', 2)).toBe(2);
    await a.cache.expireAt({ tags: ['t'] }, Date.now() + 60_000);
  });

  it('a clean first start logs no gap of the bus; a real gap is logged with what happened', async () => {
    const p = prefix();
    const logger = new RecordingLogger();
    const a = await apps.create({ redis: redis.url, prefix: p, logger });
    await waitFor(() => a.cache.stats().bus.state === 'up', { timeoutMs: 30_000, message: 'the bus to come up' });
    expect(logger.lines.filter((line) => /Invalidation bus/.test(line.message))).toEqual([]);
    await admin().client('KILL', 'TYPE', 'pubsub');
    await waitFor(() => logger.count(/Invalidation bus: subscribed again after \d+ ms; 0 messages read back from the log/) === 1, {
      timeoutMs: 30_000,
      message: 'the gap to be closed and logged',
    });
    expect(logger.count(/Invalidation bus down \(connection closed\): L1 is bypassed until it is back/)).toBe(1);
    expect(logger.count(/messages were lost/)).toBe(0);
  });

  it('ignores malformed messages on the channel (anyone who reaches Redis can publish)', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    for (const junk of ['not json', '42', 'null', '{"o":"x","at":1,"k":7}', '{"o":"x","at":1,"t":[["id","soon"]]}', '{"o":"x","at":1,"k":"abc"}']) {
      await admin().publish(`${p}:__bus:db0`, junk);
    }
    await a.cache.set('k', 'v1');
    expect(await b.cache.get('k')).toBe('v1');
    await a.cache.delete('k');
    await waitFor(async () => (await b.cache.get('k')) === undefined);
    expect(b.cache.stats().bus.received).toBe(2); // only a's two messages counted and applied
  });

  it('without the bus (bus: false), B keeps serving its L1 copy: what the bus is for', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p, bus: false });
    const b = await apps.create({ redis: redis.url, prefix: p, bus: false });
    await a.cache.set('k', 'v1');
    expect(await b.cache.get('k')).toBe('v1');
    await a.cache.delete('k');
    expect(await admin().exists(a.cache.keyOf('k'))).toBe(0);
    expect(await b.cache.get('k')).toBe('v1');
    expect(b.cache.stats().bus.state).toBe('disabled');
  });

  it('two instances writing one key in the same millisecond: the replaced copy does not stay in L1', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p }, { fakeClock: true });
    const b = await apps.create({ redis: redis.url, prefix: p }, { fakeClock: true });
    b.clock.now = a.clock.now; // both clocks stopped on one millisecond: the two writes carry one time
    await waitFor(() => [a, b].every((app) => app.cache.stats().bus.state === 'up'), { message: 'the buses to come up' });
    await b.cache.set('k', 'first');
    await a.cache.set('k', 'second');
    await waitFor(async () => (await b.cache.get('k')) === 'second', { timeoutMs: 30_000, message: "B to drop its copy of the replaced write" });
    expect(await a.cache.get('k')).toBe('second');
  });

  it('apps on different databases with one prefix keep their buses apart (pub/sub ignores database numbers)', async () => {
    const p = prefix();
    const db = (n: number) => `${redis.url}/${n}`;
    const a3 = await apps.create({ redis: db(3), prefix: p });
    const c3 = await apps.create({ redis: db(3), prefix: p });
    const b4 = await apps.create({ redis: db(4), prefix: p });
    // On a busy machine a bus may subscribe after startup; its first subscription clears L1.
    await waitFor(() => [a3, c3, b4].every((app) => app.cache.stats().bus.state === 'up'), { message: 'the buses to come up' });
    await b4.cache.set('k', 'four');
    await c3.cache.set('k', 'three');
    const receivedBefore = b4.cache.stats().bus.received;
    await a3.cache.set('k', 'three again');
    // A's message reached its own database's instance...
    await waitFor(async () => (await c3.cache.get('k')) === 'three again', { timeoutMs: 30_000, message: 'C (db 3) to get the message' });
    // ...and not the instance on db 4, whose L1 copy stays.
    expect(b4.cache.stats().bus.received).toBe(receivedBefore);
    const hits = b4.cache.stats().l1.hits;
    expect(await b4.cache.get('k')).toBe('four');
    expect(b4.cache.stats().l1.hits).toBe(hits + 1);
  });

  it('pub/sub gap: CLIENT KILL TYPE pubsub while A invalidates at 200/s: the lost messages are read back from the log, no stale read on B from reconnect on, L1 kept', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    // 1000 keys at 200 invalidations a second: a key whose message is lost in the gap is not invalidated
    // again for 5 s, so only reading it back from the bus log can stop B from serving it from L1 after the
    // reconnect (or clearing L1, which the log makes unnecessary).
    const KEYS = 1000;
    const db = new Array<number>(KEYS).fill(0);
    // For each key, the versions whose invalidation had returned on A, and when.
    const committed = Array.from({ length: KEYS }, () => [] as Array<{ version: number; at: number }>);
    // Stale: B returned a version older than one whose invalidation had returned on A before the read
    // began by more than the bus delay (publish on A to applied on B) measured in this run: each candidate
    // keeps how long before the read that invalidation had returned, judged once the run is over.
    const candidates: Array<{ at: number; lag: number }> = [];
    const rounds: number[] = [];
    const read = (i: number) => b.cache.getOrSet(`item:${i}`, () => db[i], { tags: [`item:${i}`] });
    /** How long before `at` the newest invalidation that `version` misses had returned on A, or undefined. */
    const missedBy = (i: number, version: number, at: number): number | undefined => {
      const list = committed[i];
      let lag: number | undefined;
      for (let j = list.length - 1; j >= 0 && list[j].version > version; j--) if (list[j].at < at) lag = Math.max(lag ?? 0, at - list[j].at);
      return lag;
    };
    let stop = false;

    const writer = async () => {
      const start = preciseNow();
      for (let tick = 0; !stop; tick++) {
        const i = tick % KEYS;
        const version = (db[i] += 1);
        if (tick % 3 === 0) await a.cache.invalidateTags([`item:${i}`]);
        else if (tick % 3 === 1) await a.cache.delete(`item:${i}`);
        else await a.cache.set(`item:${i}`, version, { tags: [`item:${i}`] });
        committed[i].push({ version, at: preciseNow() });
        await until(start + (tick + 1) * 5); // 200 invalidations a second
      }
    };
    const reader = async () => {
      while (!stop) {
        const round = preciseNow();
        rounds.push(round);
        for (let i = 0; i < KEYS; i++) {
          const at = preciseNow();
          const version = await read(i);
          const lag = missedBy(i, version, at);
          if (lag !== undefined) candidates.push({ at, lag });
        }
        await until(preciseNow() + 1);
      }
    };
    await waitFor(() => a.cache.stats().bus.state === 'up' && b.cache.stats().bus.state === 'up', { message: 'the buses to come up' });
    const running = Promise.all([writer(), reader()]);
    try {
      await waitFor(() => rounds.length > 5 && b.cache.stats().l1.hits > 3 * KEYS, { timeoutMs: 120_000, message: 'B reading from L1' });
      const receivedBefore = b.cache.stats().bus.received - b.cache.stats().bus.recovered;
      const l1Before = b.cache.stats().l1.entries;
      const publishedBefore = a.cache.stats().bus.published;
      const killed = await admin().client('KILL', 'TYPE', 'pubsub');
      expect(Number(killed)).toBeGreaterThanOrEqual(2);
      await waitFor(() => b.cache.stats().bus.reconciles >= 1, { timeoutMs: 60_000, message: 'B to resubscribe' });
      const reconnectedAt = preciseNow();
      const busAfter = b.cache.stats().bus;
      const lost = a.cache.stats().bus.published - publishedBefore - (busAfter.received - busAfter.recovered - receivedBefore);
      const l1After = b.cache.stats().l1.entries;
      // At least 1.5 s and 20 full rounds of reads (20,000 reads) from reconnect on.
      const checked = () => rounds.filter((at) => at >= reconnectedAt).length;
      await waitFor(() => preciseNow() > reconnectedAt + 1500 && checked() >= 20, { timeoutMs: 120_000 });
      stop = true;
      await running;
      const allowed = b.cache.stats().bus.delayMs.max;
      const stale = candidates.filter((c) => c.lag > allowed).map((c) => c.at);

      const checkedRounds = checked();
      expect(lost).toBeGreaterThan(0); // the gap was real: messages published meanwhile never reached B on the channel
      expect(busAfter.recovered).toBeGreaterThanOrEqual(lost); // ... and were read back from the log
      expect(busAfter.clears).toBe(0);
      expect(l1After).toBeGreaterThan(l1Before / 2); // L1 kept, less what the lost messages dropped
      expect(stale.filter((at) => at >= reconnectedAt)).toEqual([]);
      process.stdout.write(
        `pub/sub gap: stale means older than an invalidation returned more than the measured bus delay max (${allowed} ms) before; ` +
          `${lost} messages missed on the channel, ${busAfter.recovered} read back from the log; ` +
          `B L1 ${l1Before} entries before, ${l1After} after; ${checkedRounds * KEYS} reads checked from reconnect, ` +
          `${stale.filter((at) => at >= reconnectedAt).length} stale; stale over the whole run: ${stale.length}; ` +
          `B L1 hits ${b.cache.stats().l1.hits}\n`,
      );
    } finally {
      stop = true;
      await running;
    }
  }, 400_000);

  it('Redis restarted empty: each instance keeps its L1, and a delete made during the outage reaches the other one through the new log', async () => {
    const p = prefix();
    const fast = { redis: redis.url, prefix: p, probeInterval: 50, bus: { pingInterval: 100, pingTimeout: 100 } };
    const a = await apps.create(fast);
    const b = await apps.create(fast);
    await a.cache.setMany([{ key: 'doomed', value: 'old' }, { key: 'kept', value: 'k1' }]);
    expect(await b.cache.getMany(['doomed', 'kept'])).toEqual(['old', 'k1']);
    await redis.process.kill();
    await waitFor(() => a.cache.stats().l2.state === 'open' && b.cache.stats().bus.state === 'down', { timeoutMs: 30_000 });
    await a.cache.delete('doomed'); // remembered by A, replayed into the new server, announced there
    expect(await b.cache.get('doomed')).toBe('old'); // B cannot know yet: it serves its L1 through the outage
    await redis.process.restart();
    await waitFor(async () => (await b.cache.get('doomed')) === undefined, { timeoutMs: 30_000, message: "B to drop 'doomed' from A's replay" });
    await waitFor(() => b.cache.stats().bus.state === 'up', { timeoutMs: 30_000 });
    // B's L1 was kept (Redis, empty now, could not have answered 'kept'): the restart is not a lost gap.
    expect(b.cache.stats().bus).toMatchObject({ reconciles: 1, clears: 0 });
    const misses = b.cache.stats().l2.misses;
    expect(await b.cache.get('kept')).toBe('k1');
    expect(b.cache.stats().l2.misses).toBe(misses);
    expect(await admin().exists(b.cache.keyOf('kept'))).toBe(0);
  });

  describe('through a proxy that can silence the subscriber socket', () => {
    let proxy: TcpProxy;
    beforeEach(async () => {
      proxy = new TcpProxy(redis.port);
      await proxy.start();
    });
    afterEach(async () => {
      await apps.closeAll();
      await proxy.stop();
    });

    it('notices a dead subscriber socket by PING, bypasses L1 while the bus is down, reads the gap back from the log when it is back', async () => {
      const p = prefix();
      const logger = new RecordingLogger();
      const a = await apps.create({ redis: redis.url, prefix: p });
      // pingTimeout 500: a busy machine must not make gaps of its own.
      const b = await apps.create({ redis: proxy.url, prefix: p, bus: { pingInterval: 100, pingTimeout: 500 }, logger });
      await a.cache.set('k', 'v1', { tags: ['t'] });
      await a.cache.set('other', 'o1', { tags: ['u'] });
      await waitFor(() => proxy.subscribers === 1 && b.cache.stats().bus.state === 'up', { message: "B's subscriber to connect" });
      expect(await b.cache.get('k')).toBe('v1');
      expect(await b.cache.get('other')).toBe('o1');

      // The socket stays open but nothing goes through it any more; a new subscriber is refused.
      proxy.refuseSubscribers = true;
      const frozenAt = preciseNow();
      expect(proxy.freezeSubscribers()).toBe(1);
      await waitFor(() => b.cache.stats().bus.state === 'down', { timeoutMs: 30_000, intervalMs: 5, message: 'B to notice the dead socket' });
      const detectedIn = preciseNow() - frozenAt;
      // One PING on the main connection tells a dead subscription from a Redis that answers nobody.
      await waitFor(() => !b.inspector.servesL1, { timeoutMs: 30_000, intervalMs: 5, message: 'B to find that Redis answers' });
      expect(logger.count(/Invalidation bus down \(no PONG .*\): L1 keeps serving while Redis itself does not answer, and is bypassed if it does/)).toBe(1);

      // Messages cannot reach B now; L1 is bypassed, so B still never serves what A invalidated.
      await a.cache.set('k', 'v2', { tags: ['t'] });
      await a.cache.invalidateTags(['u']);
      const hits = b.cache.stats().l1.hits;
      expect(await b.cache.get('k')).toBe('v2');
      expect(await b.cache.get('other')).toBeUndefined();
      expect(await b.cache.get('k')).toBe('v2');
      expect(b.cache.stats().l1.hits).toBe(hits);
      expect(logger.count(/Invalidation bus down/)).toBe(1);

      // Back: resubscribed, the two messages of the gap read back from the log, L1 trusted again.
      proxy.refuseSubscribers = false;
      await waitFor(() => b.cache.stats().bus.state === 'up', { timeoutMs: 30_000, message: 'B to resubscribe' });
      expect(b.cache.stats().bus).toMatchObject({ reconciles: 1, recovered: 2, clears: 0 });
      expect(await b.cache.get('other')).toBeUndefined();
      expect(await b.cache.get('k')).toBe('v2');
      expect(await b.cache.get('k')).toBe('v2');
      expect(b.cache.stats().l1.hits).toBeGreaterThan(hits);
      process.stdout.write(`dead subscriber socket noticed in ${detectedIn.toFixed(0)} ms (pingInterval 100 + pingTimeout 500)\n`);
    });

    it('a gap longer than the bus log clears L1 (counted), and nothing stale is served after it', async () => {
      const p = prefix();
      const a = await apps.create({ redis: redis.url, prefix: p, bus: { logSize: 5 } });
      // pingTimeout 500: a busy machine must not make gaps of its own (they would be read back, and counted).
      const b = await apps.create({ redis: proxy.url, prefix: p, bus: { pingInterval: 100, pingTimeout: 500, logSize: 5 } });
      await waitFor(() => b.cache.stats().bus.state === 'up', { message: 'B to subscribe' });
      for (let i = 0; i < 20; i++) await a.cache.set(`k${i}`, 1);
      for (let i = 0; i < 20; i++) expect(await b.cache.get(`k${i}`)).toBe(1);
      const before = b.cache.stats().bus;
      proxy.refuseSubscribers = true;
      proxy.freezeSubscribers();
      await waitFor(() => b.cache.stats().bus.state === 'down', { timeoutMs: 30_000, intervalMs: 5 });
      // 200 messages: far more than the log keeps (XADD MAXLEN ~ trims in whole nodes of 100 entries).
      for (let i = 0; i < 200; i++) await a.cache.set(`k${i % 20}`, 2 + Math.floor(i / 20));
      proxy.refuseSubscribers = false;
      await waitFor(() => b.cache.stats().bus.state === 'up', { timeoutMs: 30_000, message: 'B to resubscribe' });
      const after = b.cache.stats().bus;
      expect([after.reconciles - before.reconciles, after.clears - before.clears]).toEqual([1, 1]);
      expect(b.cache.stats().l1.entries).toBe(0);
      for (let i = 0; i < 20; i++) expect(await b.cache.get(`k${i}`)).toBe(11);
    });

    it('an announcement Redis did not take (its change had) is published again once Redis answers', async () => {
      const p = prefix();
      // A memory-only cache: its change is complete without Redis (each instance holds its own copy), only
      // its announcement needs Redis, and nothing else (no replay, no L2 read) can make B drop its copy.
      const caches = { local: { tiers: ['memory' as const] } };
      const a = await apps.create({ redis: proxy.url, prefix: p, probeInterval: 50, bus: { pingInterval: 100, pingTimeout: 100 }, caches });
      const b = await apps.create({ redis: redis.url, prefix: p, caches });
      const [onA, onB] = [a.cache.cache('local'), b.cache.cache('local')];
      await onB.set('k', 'v1');
      expect(await onB.get('k')).toBe('v1');
      proxy.refuseAll = true;
      proxy.dropAll();
      await waitFor(() => a.cache.stats().l2.state === 'open');
      // The change lands (A's L1), Redis cannot take its announcement.
      await onA.delete('k');
      expect(a.cache.stats().bus.unsent).toBe(1);
      expect(await onB.get('k')).toBe('v1'); // B's L1 copy: nobody told it yet
      proxy.refuseAll = false;
      await waitFor(async () => (await onB.get('k')) === undefined, { timeoutMs: 30_000, message: 'B to drop k once A published again' });
      expect(a.cache.stats().bus.unsent).toBe(0);
    });

    it('deletes made while this instance could not reach Redis are announced once they are replayed', async () => {
      const p = prefix();
      const a = await apps.create({ redis: proxy.url, prefix: p, probeInterval: 50 });
      const b = await apps.create({ redis: redis.url, prefix: p });
      await a.cache.set('k', 'v1');
      expect(await b.cache.get('k')).toBe('v1');
      proxy.refuseAll = true;
      proxy.dropAll();
      await waitFor(() => a.cache.stats().l2.state === 'open');
      await a.cache.delete('k'); // remembered, not sent
      expect(await b.cache.get('k')).toBe('v1'); // B cannot know yet: Redis still holds it
      proxy.refuseAll = false;
      await waitFor(async () => (await b.cache.get('k')) === undefined, { timeoutMs: 30_000, message: 'B to drop k once A replayed the delete' });
      expect(await admin().exists(a.cache.keyOf('k'))).toBe(0);
    });
  });
});
