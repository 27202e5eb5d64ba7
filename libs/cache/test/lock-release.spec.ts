import type Redis from 'ioredis';
import { createRedisClient } from '../src/redis/redis.connection';
import { RedisLockStore } from '../src/redis/redis-lock.store';
import { RedisStore, STAGED_WRITE_MIN_BYTES } from '../src/redis/redis.store';
import { useRedis, waitFor } from './harness';

/**
 * Waiters in other instances are told of a lock's release (published by the fenced write and by the
 * release script), not left to their next poll: each wait below has a 10-minute timer, so only the
 * notification can end it within the test's timeout.
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
    const woken = b.lock.waitForRelease('notify:k1', LONG);
    expect(await a.remote.setFenced({ key: 'notify:k1', bytes: Buffer.from('v'), ttlMs: 60_000 }, { key: 'notify:k1', token: 'ta' })).toBe(true);
    await woken;

    // A large entry goes through a stage key (STAGED_WRITE_MIN_BYTES): its write wakes the waiter too.
    const large = Buffer.alloc(STAGED_WRITE_MIN_BYTES * 2, 'x');
    expect(await a.lock.acquire('notify:big', 'ta', 60_000)).toBe(true);
    const wokenByLarge = b.lock.waitForRelease('notify:big', LONG);
    expect(await a.remote.setFenced({ key: 'notify:big', bytes: large, ttlMs: 60_000 }, { key: 'notify:big', token: 'ta' })).toBe(true);
    await wokenByLarge;

    expect(await a.lock.acquire('notify:k2', 'ta', 60_000)).toBe(true);
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
