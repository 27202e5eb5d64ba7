import type Redis from 'ioredis';
import { createRedisClient } from '../src/redis/redis.connection';
import { RedisLockStore, lockKeyOf, waitersKeyOf } from '../src/redis/redis-lock.store';
import { RedisStore, STAGED_WRITE_MIN_BYTES } from '../src/redis/redis.store';
import { useRedis, waitFor } from './harness';

/**
 * Waiters in other instances are told of a lock's release (published by the fenced write and by the
 * release script), not left to their next poll: each wait below has a 10-minute timer, so only the
 * notification can end it within the test's timeout. A waiter first steps on the lock (as
 * `DistributedLock` does), which leaves its mark: a release is published only when it finds one.
 */
describe('lock releases are published to waiters in other instances (real redis-server)', () => {
  const redis = useRedis();
  const LONG = 10 * 60_000;
  const channel = 'notify:__lock:db0';
  const clients: Redis[] = [];
  const stores: RedisLockStore[] = [];
  afterAll(() => {
    for (const store of stores) store.close();
    for (const client of clients) client.disconnect();
  });

  function instance(): { lock: RedisLockStore; remote: RedisStore } {
    const client = createRedisClient(redis.url, { commandTimeout: 1000, connectTimeout: 2000 }).client as Redis;
    clients.push(client);
    const lock = new RedisLockStore(client, channel);
    stores.push(lock);
    return { lock, remote: new RedisStore(client, channel) };
  }

  it("a holder's fenced write and its release each wake the other instance's waiter at once", async () => {
    const a = instance();
    const b = instance();
    void b.lock.waitForRelease('notify:warm', 0); // opens the subscription
    await waitFor(() => b.lock.notifying, { message: 'the subscription never came up' });

    expect(await a.lock.acquire('notify:k1', 'ta', 60_000)).toBe(true);
    expect((await b.lock.step('notify:k1', 'tb', 60_000)).taken).toBe(false);
    const woken = b.lock.waitForRelease('notify:k1', LONG);
    expect(await a.remote.setFenced({ key: 'notify:k1', bytes: Buffer.from('v'), ttlMs: 60_000 }, { key: 'notify:k1', token: 'ta' })).toBe(true);
    await woken;

    // A large entry goes through a stage key (STAGED_WRITE_MIN_BYTES): its write wakes the waiter too.
    const large = Buffer.alloc(STAGED_WRITE_MIN_BYTES * 2, 'x');
    expect(await a.lock.acquire('notify:big', 'ta', 60_000)).toBe(true);
    expect((await b.lock.step('notify:big', 'tb', 60_000)).taken).toBe(false);
    const wokenByLarge = b.lock.waitForRelease('notify:big', LONG);
    expect(await a.remote.setFenced({ key: 'notify:big', bytes: large, ttlMs: 60_000 }, { key: 'notify:big', token: 'ta' })).toBe(true);
    await wokenByLarge;

    expect(await a.lock.acquire('notify:k2', 'ta', 60_000)).toBe(true);
    expect((await b.lock.step('notify:k2', 'tb', 60_000, { onlyIfMissing: true })).taken).toBe(false);
    const released = b.lock.waitForRelease('notify:k2', LONG);
    expect(await a.lock.release('notify:k2', 'ta')).toBe(true);
    await released;
  });

  it('a release of another key, or by a token that does not hold the lock, wakes nobody', async () => {
    const a = instance();
    const b = instance();
    void b.lock.waitForRelease('notify:warm2', 0);
    await waitFor(() => b.lock.notifying, { message: 'the subscription never came up' });
    expect(await a.lock.acquire('notify:k3', 'ta', 60_000)).toBe(true);
    expect(await a.lock.acquire('notify:k4', 'ta', 60_000)).toBe(true);
    let woken = false;
    expect((await b.lock.step('notify:k3', 'tb', 60_000)).taken).toBe(false);
    expect((await b.lock.step('notify:k4', 'tb', 60_000)).taken).toBe(false);
    const waiting = b.lock.waitForRelease('notify:k3', LONG).then(() => void (woken = true));
    expect(await a.lock.release('notify:k3', 'not-the-holder')).toBe(false);
    expect(await a.lock.release('notify:k4', 'ta')).toBe(true);
    // A marker published after both: once it arrived, the two before it did too (one connection, in order).
    const marker = b.lock.waitForRelease('notify:marker', LONG);
    await (clients[clients.length - 2] as Redis).publish(channel, 'notify:marker');
    await marker;
    expect(woken).toBe(false);
    expect(await a.lock.release('notify:k3', 'ta')).toBe(true);
    await waiting;
    expect(woken).toBe(true);
  });

  it('a release nobody waits for is published to no instance; a waiter\'s mark lives no longer than the lock and goes with the release', async () => {
    const a = instance();
    const b = instance();
    expect(await a.remote.whenReady(10_000)).toBe(true);
    const admin = a.remote.client;
    const listener = admin.duplicate() as Redis;
    clients.push(listener);
    await waitFor(() => listener.status === 'ready', { message: 'the listener never connected' });
    const heard: string[] = [];
    listener.on('message', (_channel: string, key: string) => heard.push(key));
    await listener.subscribe(channel);
    // Everything published before a sentinel has arrived once the sentinel has (one connection, in order).
    let sentinels = 0;
    const drained = async () => {
      const sentinel = `quiet:sentinel:${++sentinels}`;
      await admin.publish(channel, sentinel);
      await waitFor(() => heard.includes(sentinel), { message: 'the sentinel never arrived' });
      return heard.filter((key) => !key.startsWith('quiet:sentinel:'));
    };

    // No waiter: neither a fenced write (small or staged) nor a release is published.
    for (const [key, bytes] of [['quiet:small', Buffer.from('v')], ['quiet:large', Buffer.alloc(STAGED_WRITE_MIN_BYTES * 2, 'q')]] as const) {
      expect(await a.lock.acquire(key, 'ta', 60_000)).toBe(true);
      expect(await a.remote.setFenced({ key, bytes, ttlMs: 60_000 }, { key, token: 'ta' })).toBe(true);
    }
    expect(await a.lock.acquire('quiet:given-up', 'ta', 60_000)).toBe(true);
    expect(await a.lock.release('quiet:given-up', 'ta')).toBe(true);
    expect(await drained()).toEqual([]);

    // A waiter steps on the held lock: its mark lives no longer than the lock, and the write that finds it
    // is published once and removes it.
    expect(await a.lock.acquire('quiet:awaited', 'ta', 5_000)).toBe(true);
    expect((await b.lock.step('quiet:awaited', 'tb', 60_000)).taken).toBe(false);
    // Absolute expiry times (PEXPIRETIME, Redis 7): the mark ends when the lock does (within the 1 ms the
    // script's PTTL rounds away), not when the waiter's own 60 s would.
    const markEnds = Number(await admin.call('PEXPIRETIME', waitersKeyOf('quiet:awaited')));
    expect(markEnds).toBeGreaterThan(0);
    expect(markEnds).toBeLessThanOrEqual(Number(await admin.call('PEXPIRETIME', lockKeyOf('quiet:awaited'))) + 1);
    expect(await a.remote.setFenced({ key: 'quiet:awaited', bytes: Buffer.from('w'), ttlMs: 60_000 }, { key: 'quiet:awaited', token: 'ta' })).toBe(true);
    expect(await drained()).toEqual(['quiet:awaited']);
    expect(await admin.exists(waitersKeyOf('quiet:awaited'))).toBe(0);

    // A lock store without a channel leaves no mark (nobody could be told).
    const silent = new RedisLockStore(admin, '');
    expect(await a.lock.acquire('quiet:silent', 'ta', 60_000)).toBe(true);
    expect((await silent.step('quiet:silent', 'ts', 60_000)).taken).toBe(false);
    expect(await admin.exists(waitersKeyOf('quiet:silent'))).toBe(0);
  });

  it('a large fenced write leaves no stage key behind, written or refused, and the entry gets the TTL it was given', async () => {
    const a = instance();
    expect(await a.remote.whenReady(10_000)).toBe(true);
    const admin = a.remote.client;
    const large = Buffer.alloc(STAGED_WRITE_MIN_BYTES, 'y');
    expect(await a.lock.acquire('staged:k', 'mine', 60_000)).toBe(true);
    const hour = 3_600_000; // longer than a stage key lives: the entry's own TTL must be set when it moves into place
    expect(await a.remote.setFenced({ key: 'staged:k', bytes: large, ttlMs: hour }, { key: 'staged:k', token: 'not-mine' })).toBe(false);
    expect(await admin.exists('staged:k')).toBe(0);
    expect(await a.remote.setFenced({ key: 'staged:k', bytes: large, ttlMs: hour }, { key: 'staged:k', token: 'mine' })).toBe(true);
    expect((await admin.getBuffer('staged:k'))?.equals(large)).toBe(true);
    const ttl = await admin.pttl('staged:k');
    expect(ttl).toBeGreaterThan(hour - 60_000);
    expect(ttl).toBeLessThanOrEqual(hour);
    expect(await admin.keys('*:stage:*')).toEqual([]);

    // After SCRIPT FLUSH (a restarted or failed-over server) the script is sent again in full: the stage
    // key written in the same round trip is still there for it.
    expect(await admin.script('FLUSH')).toBe('OK');
    const second = Buffer.alloc(STAGED_WRITE_MIN_BYTES * 3, 'z');
    expect(await a.lock.acquire('staged:k2', 'mine', 60_000)).toBe(true);
    expect(await a.remote.setFenced({ key: 'staged:k2', bytes: second, ttlMs: hour }, { key: 'staged:k2', token: 'mine' })).toBe(true);
    expect((await admin.getBuffer('staged:k2'))?.equals(second)).toBe(true);
    expect(await a.lock.acquire('staged:k2', 'next', 60_000)).toBe(true); // released by the write
    expect(await admin.keys('*:stage:*')).toEqual([]);
  });
});
