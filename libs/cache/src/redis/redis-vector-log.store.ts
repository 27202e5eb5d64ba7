import type { VectorLogStore } from '../ports/vector-log-store';
import type { RedisClient } from './redis.types';
import { runScript, script } from './redis.script';

// XADD with MINID trimming by the server's clock (instances' clocks may differ), then the stream lives
// at least as long as its newest entry may. One script: one round trip, one slot (one key).
const APPEND_SCRIPT = script(`
local t = redis.call('TIME')
local age = tonumber(ARGV[1])
local minid = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - age) .. '-0'
for i = 2, #ARGV do redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', 'r', ARGV[i]) end
if redis.call('PTTL', KEYS[1]) < age then redis.call('PEXPIRE', KEYS[1], age) end
return 1`);

/** Vector logs as Redis Streams, one per semantic scope. */
export class RedisVectorLogStore implements VectorLogStore {
  constructor(private readonly client: RedisClient) {}

  async append(logKey: string, records: readonly Buffer[], maxAgeMs: number): Promise<void> {
    await runScript(this.client, APPEND_SCRIPT, [logKey], [Math.ceil(maxAgeMs), ...records]);
  }

  async read(logKey: string, after: string, count: number): Promise<Array<readonly [string, Buffer]>> {
    const start = after === '0-0' ? '-' : `(${after}`;
    const reply = await this.client.xrangeBuffer(logKey, start, '+', 'COUNT', count);
    const entries: Array<readonly [string, Buffer]> = [];
    // fields: ['r', record]
    for (const [id, fields] of reply) if (fields.length >= 2) entries.push([id.toString(), fields[1]]);
    return entries;
  }

  async drop(logKeys: readonly string[]): Promise<void> {
    if (logKeys.length === 0) return;
    if (logKeys.length === 1) await this.client.unlink(logKeys[0]);
    else await Promise.all(logKeys.map((key) => this.client.unlink(key)));
  }
}
