import type { L2Facade } from '../../tiers/l2.facade';
import { script } from '../../tiers/redis.tier';

export type LogEntry = readonly [id: string, record: Buffer];

/**
 * Where the vectors of a semantic scope are shared: an append-only log per scope that every instance
 * reads incrementally (each remembers the last id it has seen). On Redis it is a Stream.
 */
export interface VectorLog {
  /** Appends records; entries older than `maxAgeMs` are trimmed on the way (amortized O(1)). */
  append(logKey: string, records: readonly Buffer[], maxAgeMs: number): Promise<boolean>;
  /** Up to `count` entries after `after` (exclusive; `'0-0'` from the start); undefined when the log could not be read. */
  read(logKey: string, after: string, count: number): Promise<LogEntry[] | undefined>;
  drop(logKeys: readonly string[]): Promise<void>;
}

// XADD with MINID trimming by the server's clock (instances' clocks may differ), then the stream lives
// at least as long as its newest entry may. One script: one round trip, one slot (one key).
const APPEND_SCRIPT = script(`
local t = redis.call('TIME')
local age = tonumber(ARGV[1])
local minid = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - age) .. '-0'
for i = 2, #ARGV do redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', 'r', ARGV[i]) end
if redis.call('PTTL', KEYS[1]) < age then redis.call('PEXPIRE', KEYS[1], age) end
return 1`);

/** The scope logs in Redis Streams, every call behind the L2 breaker (a failure is a skipped append or read). */
export class RedisVectorLog implements VectorLog {
  constructor(private readonly l2: L2Facade) {}

  async append(logKey: string, records: readonly Buffer[], maxAgeMs: number): Promise<boolean> {
    if (records.length === 0) return true;
    const result = await this.l2.guard(() => this.l2.tier.runScript(APPEND_SCRIPT, logKey, Math.ceil(maxAgeMs), ...records), undefined);
    return result !== undefined;
  }

  async read(logKey: string, after: string, count: number): Promise<LogEntry[] | undefined> {
    const client = this.l2.tier.client;
    const start = after === '0-0' ? '-' : `(${after}`;
    const reply = await this.l2.guard(() => client.xrangeBuffer(logKey, start, '+', 'COUNT', count), undefined);
    if (reply === undefined) return undefined;
    const entries: LogEntry[] = [];
    for (const [id, fields] of reply) {
      // fields: ['r', record]
      if (fields.length >= 2) entries.push([id.toString(), fields[1]]);
    }
    return entries;
  }

  async drop(logKeys: readonly string[]): Promise<void> {
    if (logKeys.length > 0) await this.l2.delete(logKeys);
  }
}

/**
 * Memory only (no Redis, or a named cache kept in memory): the log of this process. Its one reader is
 * this process's index, so entries are kept only until they have been read.
 */
export class MemoryVectorLog implements VectorLog {
  private readonly logs = new Map<string, { next: number; entries: LogEntry[] }>();

  append(logKey: string, records: readonly Buffer[]): Promise<boolean> {
    let log = this.logs.get(logKey);
    if (log === undefined) this.logs.set(logKey, (log = { next: 1, entries: [] }));
    for (const record of records) log.entries.push([`${log.next++}-0`, record]);
    return Promise.resolve(true);
  }

  read(logKey: string, after: string, count: number): Promise<LogEntry[] | undefined> {
    const log = this.logs.get(logKey);
    if (log === undefined) return Promise.resolve([]);
    const seq = Number(after.split('-')[0]);
    const unread = log.entries.filter(([id]) => Number(id.split('-')[0]) > seq);
    const batch = unread.slice(0, count);
    // Everything up to what was just handed out has been read by the only reader there is.
    if (batch.length > 0) {
      const last = Number(batch[batch.length - 1][0].split('-')[0]);
      log.entries = log.entries.filter(([id]) => Number(id.split('-')[0]) > last);
    }
    return Promise.resolve(batch);
  }

  drop(logKeys: readonly string[]): Promise<void> {
    for (const key of logKeys) this.logs.delete(key);
    return Promise.resolve();
  }
}
