import type { LockStep, LockStepOptions, LockStore } from '../ports/lock-store';
import type { RedisClient } from './redis.types';
import { runScript, script } from './redis.script';

// Compare-and-delete: only the holder's token releases the lock, never a lock someone else took over.
const RELEASE_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);
// One step of waiting in one round trip: the entry's bytes (another holder's result?), the lock taken
// if free, and its remaining TTL. KEYS: entry, lock (one slot). ARGV: token, ttl (ms), '1' to take the
// lock only when the entry is missing (then a hit returns the bytes alone: no lock, no PTTL).
const STEP_SCRIPT = script(`
local value = redis.call('GET', KEYS[1])
if value and ARGV[3] == '1' then return {value, 0, -3} end
local taken = redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0
return {value, taken, redis.call('PTTL', KEYS[2])}`);

/**
 * The lock of an entry key: `<prefix>:{<entry key>}:lock`. Under the prefix, like every key the cache
 * writes (an ACL user limited to `~<prefix>:*` can take it); the entry key is the hash tag, so on a
 * Cluster the lock lives in the entry's slot and one script can check the lock and write the entry
 * (`RedisStore.setFenced`). Entry keys never contain braces (`segment()` escapes them), so the tag is
 * the whole key.
 */
export function lockKeyOf(key: string): string {
  const end = key.indexOf(':');
  return end < 0 ? `{${key}}:lock` : `${key.slice(0, end)}:{${key}}:lock`;
}

/** The stampede lock in Redis: `SET <prefix>:{<key>}:lock <token> NX PX ttl`, released by compare-and-delete. */
export class RedisLockStore implements LockStore {
  constructor(private readonly client: RedisClient) {}

  async acquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(lockKeyOf(key), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async step(key: string, token: string, ttlMs: number, options?: LockStepOptions): Promise<LockStep> {
    const args = [token, ttlMs, options?.onlyIfMissing === true ? '1' : '0'];
    const [bytes, taken, remaining] = (await runScript(this.client, STEP_SCRIPT, [key, lockKeyOf(key)], args, true)) as [
      Buffer | null,
      number,
      number,
    ];
    return { bytes: bytes ?? undefined, taken: Number(taken) === 1, remainingMs: Number(remaining) };
  }

  async release(key: string, token: string): Promise<boolean> {
    return Number(await runScript(this.client, RELEASE_SCRIPT, [lockKeyOf(key)], [token])) === 1;
  }
}
