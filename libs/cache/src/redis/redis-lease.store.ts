import type { LeaseStore } from '../ports/lease-store';
import type { RedisClient } from './redis.types';
import { runScript, script } from './redis.script';

// Extends a lease only while it is still this owner's.
const EXTEND_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);

/** Leases as plain keys: claimed with `SET NX PX`, extended by their owner only. */
export class RedisLeaseStore implements LeaseStore {
  constructor(private readonly client: RedisClient) {}

  async claim(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(name, owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async extend(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return Number(await runScript(this.client, EXTEND_SCRIPT, [name], [owner, ttlMs])) === 1;
  }
}
