import { randomUUID } from 'node:crypto';
import type { TagIndex, TagIndexGroup } from '../ports/key-scanner';
import { type RedisClient, isCluster } from './redis.types';
import { runScript, script } from './redis.script';

/** Keys per index call (Lua's `unpack` has a limit; `setMany` may bring thousands for one tag). */
const INDEX_CHUNK = 500;

// A tag's index is a sorted set: member an entry's key, score when that key expires (server clock, so
// instances' clocks never disagree). Each call first drops a bounded number of members already expired,
// so an index never invalidated stays about the size of its live keys; its TTL is only ever extended.
// KEYS: the indexes of one tag list (one on a Cluster: they live in different slots); ARGV[1] their TTL;
// then pairs, the same for every index: a key's TTL (ms), the key.
const INDEX_SCRIPT = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local add = {}
for i = 2, #ARGV, 2 do
  add[#add + 1] = now + tonumber(ARGV[i])
  add[#add + 1] = ARGV[i + 1]
end
for _, index in ipairs(KEYS) do
  local gone = redis.call('ZRANGEBYSCORE', index, '-inf', now, 'LIMIT', 0, 64 + #add / 2)
  if #gone > 0 then redis.call('ZREM', index, unpack(gone)) end
  redis.call('ZADD', index, unpack(add))
  if redis.call('PTTL', index) < ttl then redis.call('PEXPIRE', index, ttl) end
end
return 1`);
// Moves an index aside (keeping its TTL) in one step: writes from then on start a fresh one. KEYS[2]
// shares KEYS[1]'s `{hash tag}`, so both are in one Cluster slot.
const SNAPSHOT_SCRIPT = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1`);

/** Tag indexes as sorted sets, `{prefix}:__tagkeys:{<id>}` (see `TagPurge`). */
export class RedisTagIndex implements TagIndex {
  private readonly clustered: boolean;

  constructor(
    private readonly client: RedisClient,
    /** The escaped key prefix. */
    private readonly prefix: string,
  ) {
    this.clustered = isCluster(client);
  }

  /** The Redis key of an invalidation id's index (tags and `dep:` ids are already scoped by prefix and tenant). */
  indexKey(id: string): string {
    return `${this.prefix}:__tagkeys:{${id}}`;
  }

  /** One script call per tag list (per 500 keys), or on a Cluster per tag. */
  async add(groups: readonly TagIndexGroup[]): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (const { ids, indexTtlMs, keys: members } of groups) {
      const keys = ids.map((id) => this.indexKey(id));
      for (let i = 0; i < members.length; i += INDEX_CHUNK) {
        const chunk: Array<string | number> = [indexTtlMs];
        for (const member of members.slice(i, i + INDEX_CHUNK)) chunk.push(member.ttlMs, member.key);
        if (!this.clustered) calls.push(runScript(this.client, INDEX_SCRIPT, keys, chunk));
        else for (const key of keys) calls.push(runScript(this.client, INDEX_SCRIPT, [key], chunk));
      }
    }
    await Promise.all(calls);
  }

  async detach(id: string): Promise<string | undefined> {
    const index = this.indexKey(id);
    const snapshot = `${index}:purging:${randomUUID()}`;
    const moved = await runScript(this.client, SNAPSHOT_SCRIPT, [index, snapshot], []);
    return Number(moved) === 1 ? snapshot : undefined;
  }

  async pop(snapshot: string, count: number): Promise<string[]> {
    const popped = await this.client.zpopmin(snapshot, count);
    return popped.filter((_, i) => i % 2 === 0);
  }
}
