import { randomUUID } from 'node:crypto';
import type { LockStore } from '../ports/lock-store';
import type { EntryMeta, Fence, RemoteStore, RemoteStoreCapabilities, RemoteStoreState, StoredBytes } from '../ports/remote-store';
import type { ColdGuard } from './cold.guard';
import { WriteBehindQueue, type WriteBehindSettings } from './write-behind.queue';

/** The cold store as the chain needs it: a remote store that also says how long a row may still live. */
export interface ColdStore extends RemoteStore {
  readLive(keys: readonly string[]): Promise<({ readonly bytes: Buffer; readonly ttlMs: number } | undefined)[]>;
}

/** The hot store's side of promotions (see `RedisPromoter`). */
export interface HotPromoter {
  promote(item: StoredBytes, fence: Fence): Promise<boolean>;
  deleteWithLocks(keys: readonly string[]): Promise<number>;
}

/** What the chain reports about the cold tier, per key (the cache name is found from it). */
export interface ColdTelemetry {
  read(key: string, found: boolean, ms: number): void;
  wrote(key: string, ms: number): void;
  promoted(key: string): void;
}

export interface ChainedStoreOptions {
  /** True for keys of the named caches that list 'postgres' in their tiers. */
  isCold(key: string): boolean;
  /** How long Redis keeps a cold key's entry at most (ms): a write or a promotion keeps the shorter of this and its own life. */
  hotTtl(key: string): number;
  /** The lock a promotion holds while it reads the cold store and writes Redis. */
  promotionLockTtl: number;
  /** True for keys of caches that write to PostgreSQL behind Redis (`writeBehind`), with the queue's settings. */
  writeBehind?: { isBehind(key: string): boolean; settings: WriteBehindSettings };
  telemetry: ColdTelemetry;
}

/**
 * Redis (L2) and PostgreSQL (L3) as one remote store, for the keys of the caches that opt in; every
 * other key goes to Redis alone. The engine sees one L2 (its breaker guards Redis); the cold tier has
 * its own breaker, deadline and replay (`ColdGuard`), and a cold failure is never a Redis failure.
 *
 * - get: Redis; on a miss, PostgreSQL (whose read refuses invalidated rows by itself), and the row is
 *   promoted to Redis under the key's stampede lock, only if the key is still empty and the lock still
 *   ours, so a delete or a newer write made meanwhile always wins. Busy lock: served, not promoted.
 * - set: Redis and PostgreSQL together (write-through); a cold write that fails is remembered as a
 *   delete of that row (`ColdGuard`), reported, and the row is not read until it is replayed.
 * - delete: PostgreSQL first, then Redis with the keys' locks. Whatever the interleaving with a write or
 *   a promotion, PostgreSQL never ends up holding a value a finished delete removed.
 */
export class ChainedStore implements RemoteStore {
  readonly name: string;
  readonly capabilities: RemoteStoreCapabilities;
  /** Cold writes acknowledged from Redis, waiting to be sent (caches with `writeBehind`). */
  readonly behind: WriteBehindQueue | undefined;

  constructor(
    private readonly hot: RemoteStore,
    private readonly promoter: HotPromoter,
    private readonly lock: LockStore,
    private readonly cold: ColdStore,
    readonly guard: ColdGuard,
    private readonly options: ChainedStoreOptions,
  ) {
    this.name = `${hot.name}+${cold.name}`;
    this.capabilities = hot.capabilities;
    if (options.writeBehind !== undefined) this.behind = new WriteBehindQueue((items) => this.sendCold(items), options.writeBehind.settings);
  }

  /** Sends the writes waiting behind Redis now (shutdown drains them). */
  flushWrites(): Promise<void> {
    return this.behind?.flush() ?? Promise.resolve();
  }

  get state(): RemoteStoreState {
    return this.hot.state;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const bytes = await this.hot.get(key);
    if (bytes !== undefined || !this.options.isCold(key)) return bytes;
    return this.fromCold(key);
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    const found = await this.hot.getMany(keys);
    await Promise.all(found.map(async (bytes, i) => (bytes === undefined && this.options.isCold(keys[i]) ? (found[i] = await this.fromCold(keys[i])) : undefined)));
    return found;
  }

  async set(key: string, bytes: Buffer, ttlMs: number, meta?: EntryMeta): Promise<void> {
    if (!this.options.isCold(key)) return this.hot.set(key, bytes, ttlMs, meta);
    if (ttlMs <= 0) return void (await this.delete([key]));
    await Promise.all([this.hot.set(key, bytes, this.hotTtl(key, ttlMs), meta), this.writeCold([{ key, bytes, ttlMs, meta }])]);
  }

  async setMany(items: readonly StoredBytes[]): Promise<void> {
    const cold = items.filter((item) => this.options.isCold(item.key));
    if (cold.length === 0) return this.hot.setMany(items);
    const gone = cold.filter((item) => item.ttlMs <= 0).map((item) => item.key);
    if (gone.length > 0) await this.deleteCold(gone);
    const hot = items.map((item) => (this.options.isCold(item.key) ? { ...item, ttlMs: this.hotTtl(item.key, item.ttlMs) } : item));
    await Promise.all([this.hot.setMany(hot), this.writeCold(cold.filter((item) => item.ttlMs > 0))]);
  }

  /**
   * The lock holder's write: Redis fenced, PostgreSQL beside it; when the fence refuses (the lock was
   * lost), the cold row is taken back unless something newer replaced it meanwhile.
   */
  async setFenced(item: StoredBytes, fence: Fence): Promise<boolean> {
    const hot = this.hot.setFenced!({ ...item, ttlMs: this.isColdItem(item) ? this.hotTtl(item.key, item.ttlMs) : item.ttlMs }, fence);
    if (!this.isColdItem(item) || item.ttlMs <= 0) return hot;
    const [written] = await Promise.all([hot, this.writeCold([item])]);
    if (!written) {
      await this.behind?.cancel([item.key]);
      await this.guard.change(() => this.cold.deleteIfSame!(item.key, item.bytes), () => this.guard.rememberDeletes([item.key]), item.key);
    }
    return written;
  }

  async delete(keys: readonly string[]): Promise<number> {
    const cold = keys.filter((key) => this.options.isCold(key));
    if (cold.length === 0) return this.hot.delete(keys);
    await this.deleteCold(cold);
    const hot = keys.filter((key) => !this.options.isCold(key));
    const [a, b] = await Promise.all([this.promoter.deleteWithLocks(cold), hot.length === 0 ? 0 : this.hot.delete(hot)]);
    return a + b;
  }

  async deleteIfSame(key: string, bytes: Buffer): Promise<void> {
    const hot = this.hot.deleteIfSame ? this.hot.deleteIfSame(key, bytes) : this.hot.delete([key]).then(() => undefined);
    if (this.options.isCold(key)) {
      await this.guard.change(() => this.cold.deleteIfSame!(key, bytes), () => this.guard.rememberDeletes([key]), key);
    }
    await hot;
  }

  increment(key: string, by: number, ttlMs: number): Promise<number> {
    return this.hot.increment(key, by, ttlMs);
  }

  ping(): Promise<void> {
    return this.hot.ping();
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    return this.hot.whenReady(timeoutMs);
  }

  onStateChange(listener: (state: RemoteStoreState, reason: string) => void): () => void {
    return this.hot.onStateChange(listener);
  }

  async close(): Promise<void> {
    // The adapters' owner closes both stores.
  }

  private isColdItem(item: StoredBytes): boolean {
    return this.options.isCold(item.key);
  }

  private hotTtl(key: string, ttlMs: number): number {
    return Math.min(ttlMs, this.options.hotTtl(key));
  }

  /** A Redis miss of a cold key: the cold row, promoted under the key's lock when the lock is free. */
  private async fromCold(key: string): Promise<Buffer | undefined> {
    // A write acknowledged here but not yet in PostgreSQL is newer than any row there.
    const waiting = this.behind?.peek(key);
    if (waiting !== undefined) return waiting;
    if (!this.guard.readable(key)) return undefined;
    const token = randomUUID();
    const held = await this.lock.acquire(key, token, this.options.promotionLockTtl);
    const started = performance.now();
    const [found] = await this.guard.call(() => this.cold.readLive([key]), [undefined], key);
    this.options.telemetry.read(key, found !== undefined, performance.now() - started);
    if (found === undefined || found.ttlMs <= 0) {
      if (held) await this.lock.release(key, token);
      return undefined;
    }
    if (held) {
      const promoted = await this.promoter.promote({ key, bytes: found.bytes, ttlMs: this.hotTtl(key, found.ttlMs) }, { key, token }).catch(() => false);
      if (promoted) this.options.telemetry.promoted(key);
    }
    return found.bytes;
  }

  private async writeCold(items: readonly StoredBytes[]): Promise<void> {
    if (items.length === 0) return;
    const behind = this.options.writeBehind;
    if (behind === undefined || this.behind === undefined) return this.sendCold(items);
    const later = items.filter((item) => behind.isBehind(item.key));
    if (later.length > 0) this.behind.add(later);
    if (later.length < items.length) await this.sendCold(items.filter((item) => !behind.isBehind(item.key)));
  }

  private async sendCold(items: readonly StoredBytes[]): Promise<void> {
    const keys = items.map((item) => item.key);
    const started = performance.now();
    const done = await this.guard.change(() => this.cold.setMany(items), () => this.guard.rememberDeletes(keys), keys[0]);
    if (done) this.options.telemetry.wrote(keys[0], performance.now() - started);
  }

  private async deleteCold(keys: readonly string[]): Promise<void> {
    // A queued write must not land after this delete.
    await this.behind?.cancel(keys);
    await this.guard.change(() => this.cold.delete(keys), () => this.guard.rememberDeletes(keys), keys[0]);
  }
}
