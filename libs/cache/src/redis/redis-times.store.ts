import type { InvalidationTimesStore } from '../ports/invalidation-times-store';
import { type RedisClient, isCluster } from './redis.types';
import { runScript, script } from './redis.script';
import { tickWrites } from './redis.tick-writes';

// A dependency record: created with time 0, its TTL only ever extended (it must outlive every dependent).
const TRACK_SCRIPT = script(`
if redis.call('SET', KEYS[1], '0', 'NX', 'PX', ARGV[1]) then return 1 end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`);
// Like MAX_SCRIPT, but only where a dependency record exists; keeps its TTL.
const MAX_IF_TRACKED_SCRIPT = script(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if tonumber(ARGV[1]) > tonumber(cur) then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
return 1`);
// MAX_SCRIPT over several keys (one slot: standalone or Sentinel). ARGV[1] the retention, then a time per key.
const MAX_MANY_SCRIPT = script(`
for i, key in ipairs(KEYS) do
  local cur = tonumber(redis.call('GET', key) or '0')
  if tonumber(ARGV[i + 1]) > cur then redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1]) end
end
return 1`);
const MAX_SCRIPT = script(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`);

/** Invalidation times as Redis strings, `{prefix}:__inv:{id}`, so every instance and a restarted one see them. */
export class RedisTimesStore implements InvalidationTimesStore {
  private readonly clustered: boolean;
  /** The reads of this tick, sent as one MGET at its end (see `get`). */
  private reads: { keys: string[]; callers: Array<{ from: number; count: number; resolve(values: (string | null)[]): void; reject(error: unknown): void }> } | undefined;
  /** Sends this tick's commands in one socket write (see tickWrites): a write's dependency check leaves with it. */
  private readonly hold: () => void;

  constructor(
    private readonly client: RedisClient,
    /** `{prefix}:__inv:` */
    private readonly keyPrefix: string,
  ) {
    this.clustered = isCluster(client);
    this.hold = tickWrites(client);
  }

  async read(ids: readonly string[]): Promise<number[]> {
    const raw = await this.get(ids);
    return raw.map((value) => Number(value ?? 0) || 0);
  }

  /**
   * Many times at once (a replay after an outage) go 500 to a script call, so they take a few round
   * trips, not thousands of commands that would outlast the command timeout; a Cluster's keys are in
   * different slots, so there it is one call per id, 100 at a time.
   */
  async writeMax(times: ReadonlyMap<string, number>, retentionMs: number): Promise<void> {
    const all = [...times];
    if (this.clustered) {
      for (let i = 0; i < all.length; i += 100) {
        await Promise.all(all.slice(i, i + 100).map(([id, time]) => runScript(this.client, MAX_SCRIPT, [this.keyOf(id)], [time, retentionMs])));
      }
      return;
    }
    for (let i = 0; i < all.length; i += 500) {
      const chunk = all.slice(i, i + 500);
      await runScript(this.client, MAX_MANY_SCRIPT, chunk.map(([id]) => this.keyOf(id)), [retentionMs, ...chunk.map(([, time]) => time)]);
    }
  }

  async track(ids: readonly string[], ttlMs: number): Promise<void> {
    await Promise.all(ids.map((id) => runScript(this.client, TRACK_SCRIPT, [this.keyOf(id)], [Math.ceil(ttlMs)])));
  }

  /**
   * One MGET finds the few ids that are tracked; only those get the script. Safe against a dependent
   * that tracks an id just after the MGET: it tracks before its factory runs, and by then the key is
   * already deleted or holds its new value, so that dependent cannot have read the old one.
   */
  async raiseTracked(ids: readonly string[], time: number): Promise<boolean[]> {
    const existing = await this.get(ids);
    const results = await Promise.all(
      ids.map((id, i) => (existing[i] === null ? 0 : runScript(this.client, MAX_IF_TRACKED_SCRIPT, [this.keyOf(id)], [time]))),
    );
    return results.map((result) => Number(result) === 1);
  }

  private keyOf(id: string): string {
    return this.keyPrefix + id;
  }

  /**
   * On a Cluster, a GET per key (their slots differ). Otherwise the reads of one tick go as one MGET at
   * its end: every `set` and `delete` looks for its key's dependency record (`raiseTracked`), so writes
   * in flight together (their replies came back together) check in one command instead of one each.
   */
  private get(ids: readonly string[]): Promise<(string | null)[]> {
    const keys = ids.map((id) => this.keyOf(id));
    if (keys.length === 0) return Promise.resolve([]);
    if (this.clustered) return Promise.all(keys.map((key) => this.client.get(key)));
    return new Promise((resolve, reject) => {
      let batch = this.reads;
      if (batch === undefined) {
        batch = this.reads = { keys: [], callers: [] };
        process.nextTick(() => this.readBatch());
      }
      batch.callers.push({ from: batch.keys.length, count: keys.length, resolve, reject });
      for (const key of keys) batch.keys.push(key);
    });
  }

  private readBatch(): void {
    const batch = this.reads!;
    this.reads = undefined;
    this.hold();
    this.client.mget(...batch.keys).then(
      (values) => {
        for (const caller of batch.callers) caller.resolve(values.slice(caller.from, caller.from + caller.count));
      },
      (error: unknown) => {
        for (const caller of batch.callers) caller.reject(error);
      },
    );
  }
}
