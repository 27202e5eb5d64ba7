import { createHash } from 'node:crypto';
import type { EntryCodec } from '../codec/entry.codec';
import type { CacheEntry } from '../core/entry';
import { CorruptEntryError } from '../core/errors';
import { type RedisClient, isCluster } from './redis.connection';
import type { CacheTier, TierWrite } from './tier';

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
// KEYS[2] is `{KEYS[1]}:lock`, in KEYS[1]'s Cluster slot (see DistributedLock.lockKey).
const FENCED_SET_SCRIPT = script(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else redis.call('UNLINK', KEYS[1]) end
redis.call('DEL', KEYS[2])
return 1`);

export interface LuaScript {
  body: string;
  sha: string;
}

export function script(body: string): LuaScript {
  return { body, sha: createHash('sha1').update(body).digest('hex') };
}

/** The physical TTL of a write: it lives until its stale copy is no longer of use (grace, fail-safe window). */
export function physicalTtl(write: TierWrite, now: number): number {
  return (write.keepUntil ?? write.entry.staleUntil) - now;
}

export interface RedisTierOptions {
  codec: EntryCodec;
  now: () => number;
  /** Called for every entry that failed to decode; the tier has already scheduled its deletion. */
  onCorrupt?: (key: string, error: CorruptEntryError) => void;
}

/**
 * L2 on ioredis. Standalone and Sentinel clients batch multi-key work into one round trip (MGET, one
 * pipeline); a Cluster client sends per-key commands, so keys in different slots never meet in one
 * command (auto-pipelining is off, see createRedisClient).
 */
export class RedisTier implements CacheTier {
  readonly kind = 'redis' as const;
  readonly clustered: boolean;

  /** @internal The client's type is ioredis's, an optional peer: kept out of the published declarations. */
  constructor(
    /** @internal */
    readonly client: RedisClient,
    private readonly options: RedisTierOptions,
  ) {
    this.clustered = isCluster(client);
  }

  get(key: string): Promise<CacheEntry | undefined> {
    return this.client.getBuffer(key).then((bytes) => (bytes === null ? undefined : this.decode(key, bytes)));
  }

  async getMany(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    if (keys.length === 0) return [];
    const raw = this.clustered
      ? await Promise.all(keys.map((key) => this.client.getBuffer(key)))
      : await this.client.mgetBuffer(...keys);
    return raw.map((bytes, i) => (bytes === null ? undefined : this.decode(keys[i], bytes)));
  }

  async set(write: TierWrite): Promise<void> {
    const ttl = physicalTtl(write, this.options.now());
    if (ttl <= 0) {
      await this.client.unlink(write.key);
      return;
    }
    await this.client.set(write.key, await this.encode(write), 'PX', ttl);
  }

  async setMany(writes: readonly TierWrite[]): Promise<void> {
    if (writes.length === 0) return;
    if (this.clustered) {
      await Promise.all(writes.map((write) => this.set(write)));
      return;
    }
    const encoded = await Promise.all(writes.map((write) => this.encode(write)));
    const now = this.options.now();
    const pipeline = this.client.pipeline();
    writes.forEach((write, i) => {
      const ttl = physicalTtl(write, now);
      if (ttl <= 0) pipeline.unlink(write.key);
      else pipeline.set(write.key, encoded[i], 'PX', ttl);
    });
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }

  async delete(keys: readonly string[]): Promise<void> {
    await this.unlink(keys);
  }

  /** `delete`, resolving with how many of the keys existed. */
  async unlink(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (!this.clustered) return this.client.unlink(...keys);
    // Keys of one batch span slots: one UNLINK a key, each routed to its master by the client.
    const removed = await Promise.all(keys.map((key) => this.client.unlink(key)));
    return removed.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Writes the entry only if `lockKey` still holds `token`, and releases the lock; false when the lock
   * was lost (expired, taken over) and nothing was written.
   */
  async setFenced(write: TierWrite, lockKey: string, token: string): Promise<boolean> {
    const bytes = await this.encode(write);
    const ttl = Math.max(0, physicalTtl(write, this.options.now()));
    return Number(await this.evalKeys(FENCED_SET_SCRIPT, [write.key, lockKey], [token, bytes, ttl])) === 1;
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    return Number(await this.runScript(INCREMENT_SCRIPT, key, by, ttlMs));
  }

  async close(): Promise<void> {
    // The owner of the client closes it (see CacheStack); a tier only forgets it.
  }

  private encode(write: TierWrite): Promise<Buffer> {
    return (write.codec ?? this.options.codec).encodeAsync(write.entry, write.serialized, write.key);
  }

  /** EVALSHA with a fallback to EVAL when the server does not know the script yet (restart, failover). */
  async runScript(lua: LuaScript, key: string, ...args: (string | number | Buffer)[]): Promise<unknown> {
    return this.evalKeys(lua, [key], args);
  }

  /**
   * `runScript` with several keys; on a Cluster they must share one slot (a `{hash tag}`). `binary`:
   * bulk replies come back as Buffers (entry bytes), not strings.
   */
  async evalKeys(lua: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>, binary = false): Promise<unknown> {
    const call = (command: 'EVALSHA' | 'EVAL', script: string) =>
      binary ? this.client.callBuffer(command, script, keys.length, ...keys, ...args) : this.client.call(command, script, keys.length, ...keys, ...args);
    try {
      return await call('EVALSHA', lua.sha);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      return call('EVAL', lua.body);
    }
  }

  /** The entry in bytes read by a script, or undefined when they do not decode (then deleted, reported). */
  decodeEntry(key: string, bytes: Buffer): CacheEntry | undefined {
    return this.decode(key, bytes);
  }

  private decode(key: string, bytes: Buffer): CacheEntry | undefined {
    try {
      return this.options.codec.decode(bytes, key);
    } catch (error) {
      const corrupt = error instanceof CorruptEntryError ? error : new CorruptEntryError(String(error), { cause: error });
      // A bad entry would fail every reader until it expires: remove it, and never let that fail the read.
      // Plain EVAL: rare, and a NOSCRIPT retry would let the next read see the bad bytes again.
      this.client.eval(DELETE_IF_SAME_SCRIPT.body, 1, key, bytes).catch(() => undefined);
      this.options.onCorrupt?.(key, corrupt);
      return undefined;
    }
  }
}

