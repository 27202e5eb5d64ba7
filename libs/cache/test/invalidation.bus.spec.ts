import { waitFor } from '../../../test/harness';
import { preciseNow } from '../src/invalidation/bus';
import { RecordingLogger } from './cache-factory';
import { useInvalidationSuite } from './invalidation-suite';
import { TcpProxy } from './tcp-proxy';

/** A pause to hold a steady request rate (a workload's clock), never to wait for an outcome. */
const until = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - preciseNow())));

/**
 * The invalidation bus between instances sharing one Redis (DESIGN principle 2), on real processes:
 * Redis from the harness (with KEYS renamed away, so any use of it would fail), Nest app contexts.
 */
describe('Invalidation bus', () => {
  const { redis, apps, admin, prefix } = useInvalidationSuite('bus');

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

  it('ignores malformed messages on the channel (anyone who reaches Redis can publish)', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    for (const junk of ['not json', '42', 'null', '{"o":"x","at":1,"k":7}', '{"o":"x","at":1,"t":[["id","soon"]]}', '{"o":"x","at":1,"k":"abc"}']) {
      await admin().publish(`${p}:__bus`, junk);
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

  it('pub/sub gap: CLIENT KILL TYPE pubsub while A invalidates at 200/s: no stale read on B from reconnect + 1 s on', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p });
    const b = await apps.create({ redis: redis.url, prefix: p });
    // 1000 keys at 200 invalidations a second: a key whose message is lost in the gap is not invalidated
    // again for 5 s, so only reconciliation can stop B from serving it from L1 after the reconnect.
    const KEYS = 1000;
    const db = new Array<number>(KEYS).fill(0);
    // For each key, the versions whose invalidation had returned on A, and when.
    const committed = Array.from({ length: KEYS }, () => [] as Array<{ version: number; at: number }>);
    // Stale: B returned a version older than one whose invalidation had returned on A before the read
    // began, with the bus delay allowed for (a bound with headroom for a loaded machine).
    const BUS_DELAY_ALLOWED = 250;
    const stale: number[] = [];
    const rounds: number[] = [];
    const read = (i: number) => b.cache.getOrSet(`item:${i}`, () => db[i], { tags: [`item:${i}`] });
    const isStale = (i: number, version: number, at: number) => {
      const list = committed[i];
      for (let j = list.length - 1; j >= 0; j--) if (list[j].at + BUS_DELAY_ALLOWED < at) return list[j].version > version;
      return false;
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
          if (isStale(i, version, at)) stale.push(at);
        }
        await until(preciseNow() + 1);
      }
    };
    const running = Promise.all([writer(), reader()]);
    try {
      await waitFor(() => rounds.length > 5 && b.cache.stats().l1.hits > 3 * KEYS, { timeoutMs: 10_000, message: 'B reading from L1' });
      const receivedBefore = b.cache.stats().bus.received;
      const publishedBefore = a.cache.stats().bus.published;
      const killed = await admin().client('KILL', 'TYPE', 'pubsub');
      expect(Number(killed)).toBeGreaterThanOrEqual(2);
      await waitFor(() => b.cache.stats().bus.reconciles >= 1, { timeoutMs: 10_000, message: 'B to resubscribe' });
      const reconnectedAt = preciseNow();
      const lost = a.cache.stats().bus.published - publishedBefore - (b.cache.stats().bus.received - receivedBefore);
      // At least 1.5 s and 20 full rounds of reads (20,000 reads) from reconnect + 1 s on.
      const checked = () => rounds.filter((at) => at >= reconnectedAt + 1000).length;
      await waitFor(() => preciseNow() > reconnectedAt + 2500 && checked() >= 20, { timeoutMs: 20_000 });
      stop = true;
      await running;

      const checkedRounds = checked();
      expect(lost).toBeGreaterThan(0); // the gap was real: messages published meanwhile never reached B
      expect(stale.filter((at) => at >= reconnectedAt + 1000)).toEqual([]);
      process.stdout.write(
        `pub/sub gap: ${lost} messages lost; ${checkedRounds * KEYS} reads checked from reconnect + 1 s, ` +
          `${stale.filter((at) => at >= reconnectedAt + 1000).length} stale; stale over the whole run: ${stale.length}; ` +
          `B L1 hits ${b.cache.stats().l1.hits}\n`,
      );
    } finally {
      stop = true;
      await running;
    }
  }, 60_000);

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

    it('notices a dead subscriber socket by PING, bypasses L1 while the bus is down, reconciles when it is back', async () => {
      const p = prefix();
      const logger = new RecordingLogger();
      const a = await apps.create({ redis: redis.url, prefix: p });
      const b = await apps.create({ redis: proxy.url, prefix: p, bus: { pingInterval: 100, pingTimeout: 100 }, logger });
      await a.cache.set('k', 'v1', { tags: ['t'] });
      await a.cache.set('other', 'o1', { tags: ['u'] });
      expect(await b.cache.get('k')).toBe('v1');
      expect(await b.cache.get('other')).toBe('o1');
      expect(proxy.subscribers).toBe(1);

      // The socket stays open but nothing goes through it any more; a new subscriber is refused.
      proxy.refuseSubscribers = true;
      const frozenAt = preciseNow();
      expect(proxy.freezeSubscribers()).toBe(1);
      await waitFor(() => b.cache.stats().bus.state === 'down', { timeoutMs: 3000, intervalMs: 5, message: 'B to notice the dead socket' });
      const detectedIn = preciseNow() - frozenAt;
      expect(detectedIn).toBeLessThan(1000); // pingInterval + pingTimeout = 200 ms, with headroom

      // Messages cannot reach B now; L1 is bypassed, so B still never serves what A invalidated.
      await a.cache.set('k', 'v2', { tags: ['t'] });
      await a.cache.invalidateTags(['u']);
      const hits = b.cache.stats().l1.hits;
      expect(await b.cache.get('k')).toBe('v2');
      expect(await b.cache.get('other')).toBeUndefined();
      expect(await b.cache.get('k')).toBe('v2');
      expect(b.cache.stats().l1.hits).toBe(hits);
      expect(logger.count(/Invalidation bus down/)).toBe(1);

      // Back: resubscribed, L1 reconciled (cleared), then trusted again.
      proxy.refuseSubscribers = false;
      await waitFor(() => b.cache.stats().bus.state === 'up', { timeoutMs: 5000, message: 'B to resubscribe' });
      expect(b.cache.stats().bus.reconciles).toBe(1);
      expect(await b.cache.get('k')).toBe('v2');
      expect(await b.cache.get('k')).toBe('v2');
      expect(b.cache.stats().l1.hits).toBe(hits + 1);
      process.stdout.write(`dead subscriber socket noticed in ${detectedIn.toFixed(0)} ms (pingInterval 100 + pingTimeout 100)\n`);
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
      await waitFor(async () => (await b.cache.get('k')) === undefined, { timeoutMs: 5000, message: 'B to drop k once A replayed the delete' });
      expect(await admin().exists(a.cache.keyOf('k'))).toBe(0);
    });
  });
});
