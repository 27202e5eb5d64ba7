import type { Fence, RemoteStore, RemoteStoreCapabilities, RemoteStoreState, StoredBytes } from '../ports/remote-store';
import { L2UnavailableError } from '../core/errors';
import { type RedisClient, isCluster } from './redis.types';
import { lockKeyOf, stageKeyOf, waitersKeyOf } from './redis-lock.store';
import { runScript, script } from './redis.script';
import { addressOf } from './redis.connection';
import { tickWrites } from './redis.tick-writes';

// Adds to a counter and sets its TTL only when this call created it, in one atomic step.
const INCREMENT_SCRIPT = script(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`);
// Removes a corrupt entry only if it is still the bytes we read, so a fresh write in between survives.
const DELETE_IF_SAME_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('UNLINK', KEYS[1]) end
return 0`);
// Writes the entry only while the token still holds the lock, and releases the lock in the same step:
// a holder whose lock expired (and was perhaps taken over) must not overwrite the newer holder's value.
// KEYS[2] is `<prefix>:{KEYS[1]}:lock` and KEYS[3] its waiters mark, in KEYS[1]'s Cluster slot (see
// lockKeyOf, waitersKeyOf). ARGV[4], when not empty, is the channel told of the release, when a waiter
// left its mark: waiters in other instances wake at once, and instances with none are not told. The lock
// and the mark go in one DEL (the lock exists, so 2 means a mark was there): one call fewer a miss.
const FENCED_SET_SCRIPT = script(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else redis.call('UNLINK', KEYS[1]) end
if redis.call('DEL', KEYS[2], KEYS[3]) == 2 and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], KEYS[1]) end
return 1`);

// FENCED_SET_SCRIPT for an entry sent ahead under a stage key (KEYS[3], in KEYS[1]'s slot, written in the
// same round trip with a short TTL of its own, so one whose script never ran does not linger): the script
// moves it into place and gives it the entry's TTL instead of taking the bytes as an argument, or drops it
// when the lock was lost. KEYS[4]: the waiters mark. ARGV: token, channel, ttl (ms).
const STAGED_SET_SCRIPT = script(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then redis.call('UNLINK', KEYS[3]) return 0 end
redis.call('RENAME', KEYS[3], KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('DEL', KEYS[2], KEYS[4]) == 2 and ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], KEYS[1]) end
return 1`);

/**
 * Fenced writes of at least this many bytes go through a stage key (STAGED_SET_SCRIPT). Bytes passed to
 * a script are copied into Lua and back, ~2.6 µs of Redis CPU per KiB; a stage key costs one more command
 * instead. Measured on raw ioredis (read-and-lock script, then the write; the same run): at 16 KiB,
 * 71 → 34 µs a miss at 16 in flight, 280 → 266 µs at 1; at 4 KiB about even (24 / 23 µs); at 1 KiB the
 * script alone is cheaper (16 / 20 µs).
 */
export const STAGED_WRITE_MIN_BYTES = 4 * 1024;
/** The most a stage key lives: its script runs right after it in the same round trip, or never. */
const STAGE_TTL_MS = 60_000;

/**
 * The remote store on ioredis. Standalone and Sentinel clients batch multi-key work into one round trip
 * (MGET, one pipeline); a Cluster client sends per-key commands, so keys in different slots never meet
 * in one command (auto-pipelining is off, see createRedisClient).
 */
export class RedisStore implements RemoteStore {
  readonly name = 'redis';
  readonly capabilities: RemoteStoreCapabilities;
  readonly clustered: boolean;
  /** Sends this tick's commands in one socket write (see tickWrites). */
  private readonly hold: () => void;

  /** `releasedChannel`: where a fenced write announces that the key's lock was released (see RedisLockStore). */
  constructor(
    readonly client: RedisClient,
    private readonly releasedChannel = '',
  ) {
    this.clustered = isCluster(client);
    this.hold = tickWrites(client);
    const options = (client as { options?: { enableAutoPipelining?: boolean; commandTimeout?: number } }).options;
    this.capabilities = {
      fencing: true,
      scripts: true,
      scan: true,
      lock: true,
      // A command written at once (no auto-pipelining, not a Cluster that redirects and retries) is bounded by commandTimeout.
      boundedCalls: !this.clustered && options?.enableAutoPipelining !== true && options?.commandTimeout !== undefined,
      shared: true,
    };
    // ioredis logs unhandled 'error' events; the engine reports state. The last one names the cause in `ping`.
    client.on('error', (error: unknown) => (this.lastError = error instanceof Error ? error.message : String(error)));
  }

  get state(): RemoteStoreState {
    return this.client.status === 'ready' ? 'ready' : 'down';
  }

  /**
   * Commands the client holds in memory now: waiting for a connection (the offline queue, kept empty by
   * `enableOfflineQueue: false`) and sent but not answered. Read by `CacheInspector.redisQueues()` (tests).
   */
  queued(): { offline: number; commands: number } {
    const offline = (this.client as unknown as { offlineQueue: { length: number } }).offlineQueue.length;
    const nodes = isCluster(this.client) ? this.client.nodes() : [this.client];
    return { offline, commands: nodes.reduce((sum, node) => sum + node.commandQueue.length, 0) };
  }

  get(key: string): Promise<Buffer | undefined> {
    this.hold();
    return this.client.getBuffer(key).then(orUndefined);
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return [];
    this.hold();
    const raw = this.clustered ? await Promise.all(keys.map((key) => this.client.getBuffer(key))) : await this.client.mgetBuffer(...keys);
    return raw.map(orUndefined);
  }

  async set(key: string, bytes: Buffer, ttlMs: number): Promise<void> {
    this.hold();
    if (ttlMs <= 0) await this.client.unlink(key);
    else await this.client.set(key, bytes, 'PX', ttlMs);
  }

  async setMany(items: readonly StoredBytes[]): Promise<void> {
    if (items.length === 0) return;
    if (this.clustered) {
      await Promise.all(items.map((item) => this.set(item.key, item.bytes, item.ttlMs)));
      return;
    }
    const pipeline = this.client.pipeline();
    for (const item of items) {
      if (item.ttlMs <= 0) pipeline.unlink(item.key);
      else pipeline.set(item.key, item.bytes, 'PX', item.ttlMs);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }

  async setFenced(item: StoredBytes, fence: Fence): Promise<boolean> {
    this.hold();
    if (item.ttlMs > 0 && item.bytes.length >= STAGED_WRITE_MIN_BYTES) {
      // One round trip: the stage key written, then the script (a failed stage write fails the script's RENAME too).
      const stage = stageKeyOf(item.key, fence.token);
      const [, moved] = await Promise.all([
        this.client.set(stage, item.bytes, 'PX', Math.min(item.ttlMs, STAGE_TTL_MS)),
        runScript(this.client, STAGED_SET_SCRIPT, [item.key, lockKeyOf(fence.key), stage, waitersKeyOf(fence.key)], [fence.token, this.releasedChannel, item.ttlMs]),
      ]);
      return Number(moved) === 1;
    }
    const reply = await runScript(this.client, FENCED_SET_SCRIPT, [item.key, lockKeyOf(fence.key), waitersKeyOf(fence.key)], [fence.token, item.bytes, Math.max(0, item.ttlMs), this.releasedChannel]);
    return Number(reply) === 1;
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    this.hold();
    if (!this.clustered) return this.client.unlink(...keys);
    // Keys of one batch span slots: one UNLINK a key, each routed to its master by the client.
    const removed = await Promise.all(keys.map((key) => this.client.unlink(key)));
    return removed.reduce((sum, n) => sum + n, 0);
  }

  async deleteIfSame(key: string, bytes: Buffer): Promise<void> {
    // Plain EVAL: rare, and a NOSCRIPT retry would let the next read see the bad bytes again.
    await this.client.eval(DELETE_IF_SAME_SCRIPT.body, 1, key, bytes);
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    return Number(await runScript(this.client, INCREMENT_SCRIPT, [key], [by, ttlMs]));
  }

  /** One PING; while the client is not connected, an error that names the address, its state and the last cause. */
  async ping(): Promise<void> {
    const client = this.client;
    if (!this.clustered && client.status !== 'ready') {
      const cause = this.lastError === undefined ? '' : `; last error: ${this.lastError}`;
      throw new L2UnavailableError(`not connected to ${this.address} (${client.status}${cause})`);
    }
    await client.ping();
  }

  lastError: string | undefined;

  get address(): string {
    return addressOf(this.client);
  }

  async whenReady(timeoutMs: number): Promise<boolean> {
    const client = this.client;
    if (client.status === 'ready') return true;
    // What failed (a certificate, WRONGPASS from the server or the Sentinels) is the log line's cause.
    const onError = (error: unknown) => (this.lastError = error instanceof Error ? error.message : String(error));
    client.on('error', onError);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      client.once('ready', onReady);
    });
  }

  onStateChange(listener: (state: RemoteStoreState, reason: string) => void): () => void {
    const onClose = () => listener('down', 'connection closed');
    const onReady = () => listener('ready', 'connection ready');
    this.client.on('close', onClose);
    this.client.on('ready', onReady);
    return () => {
      this.client.off('close', onClose);
      this.client.off('ready', onReady);
    };
  }

  async close(): Promise<void> {
    // The connection's owner closes the client (see RedisAdapters); a store only forgets it.
  }
}

function orUndefined(bytes: Buffer | null): Buffer | undefined {
  return bytes === null ? undefined : bytes;
}
