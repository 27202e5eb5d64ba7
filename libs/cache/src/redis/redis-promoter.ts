import type { Fence, StoredBytes } from '../ports/remote-store';
import { lockKeyOf } from './redis-lock.store';
import { type RedisClient, isCluster } from './redis.types';
import { runScript, script } from './redis.script';

// A promotion from the cold tier: written only while the promoter's token still holds the key's lock
// (a delete removes the lock, so a value read before a delete cannot come back) and only if the key is
// empty (a write made meanwhile is newer than what the cold tier held). Releases the lock either way.
const PROMOTE_SCRIPT = script(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`);

/**
 * The Redis side of the cold tier's chain (see `ChainedStore`): promotions fenced by the stampede lock,
 * and deletes that also remove the keys' locks, so a promotion in flight cannot write back a deleted value.
 */
export class RedisPromoter {
  constructor(private readonly client: RedisClient) {}

  /** Writes `item` if `fence` still holds its lock and the key is empty; releases the lock; true when written. */
  async promote(item: StoredBytes, fence: Fence): Promise<boolean> {
    const reply = await runScript(this.client, PROMOTE_SCRIPT, [item.key, lockKeyOf(fence.key)], [fence.token, item.bytes, Math.max(1, Math.ceil(item.ttlMs))]);
    return Number(reply) === 1;
  }

  /** Removes the keys and their locks; resolves with how many keys existed. */
  async deleteWithLocks(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const locks = keys.map(lockKeyOf);
    if (!isCluster(this.client)) {
      const [removed] = await Promise.all([this.client.unlink(...keys), this.client.unlink(...locks)]);
      return removed;
    }
    const removed = await Promise.all(keys.map((key, i) => Promise.all([this.client.unlink(key), this.client.unlink(locks[i])]).then(([n]) => n)));
    return removed.reduce((sum, n) => sum + n, 0);
  }
}
