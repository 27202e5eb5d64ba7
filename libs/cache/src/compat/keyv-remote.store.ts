import { StoreError } from '../core/errors';
import type { RemoteStore, RemoteStoreCapabilities, RemoteStoreState, StoredBytes } from '../ports/remote-store';

/** The part of a Keyv instance this store uses (keyv 5). */
export interface KeyvClient {
  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: string[]): Promise<Array<T | undefined>>;
  getRaw<T>(key: string): Promise<{ value?: T; expires?: number | null } | undefined>;
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  delete(key: string | string[]): Promise<boolean>;
}

/**
 * A Keyv store as Strata's remote store: entry bytes travel as base64 text (any Keyv store keeps text),
 * each with its ttl. What Keyv cannot do is declared, not emulated: no scripts, so no fenced writes and
 * no cross-instance lock; no key listing, so no pattern walk. One thing is emulated, and only within
 * this process: `increment` is a read-modify-write queued per key, atomic among this process's callers
 * but not between two instances (Keyv has no atomic increment).
 */
export class KeyvRemoteStore implements RemoteStore {
  readonly name = 'keyv';
  readonly capabilities: RemoteStoreCapabilities;
  readonly state: RemoteStoreState = 'ready';
  private readonly counters = new Map<string, Promise<number>>();

  constructor(
    private readonly keyv: KeyvClient,
    options: { shared: boolean },
  ) {
    this.capabilities = { fencing: false, scripts: false, scan: false, lock: false, boundedCalls: false, shared: options.shared };
  }

  async get(key: string): Promise<Buffer | undefined> {
    return decode(await this.keyv.get<string>(key));
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.keyv.getMany<string>([...keys]);
    return Array.from(keys, (_key, i) => decode(values[i]));
  }

  async set(key: string, bytes: Buffer, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) {
      await this.keyv.delete(key);
      return;
    }
    if (!(await this.keyv.set(key, bytes.toString('base64'), ttlMs))) throw new StoreError(`the Keyv store did not write ${key}`);
  }

  async setMany(items: readonly StoredBytes[]): Promise<void> {
    await Promise.all(items.map((item) => this.set(item.key, item.bytes, item.ttlMs)));
  }

  async delete(keys: readonly string[]): Promise<number> {
    const removed = await Promise.all(keys.map((key) => this.keyv.delete(key)));
    return removed.filter(Boolean).length;
  }

  /** Atomic among this process's callers (one read-modify-write at a time per key), not across instances. */
  increment(key: string, by: number, ttlMs: number): Promise<number> {
    const previous = this.counters.get(key) ?? Promise.resolve(0);
    const next = previous
      .catch(() => 0)
      .then(async () => {
        const raw = await this.keyv.getRaw<number>(key);
        const now = Date.now();
        const live = raw !== undefined && typeof raw.value === 'number' && (raw.expires == null || raw.expires > now);
        const value = (live ? (raw.value as number) : 0) + by;
        // A counter lives `ttlMs` from the call that created it: later calls keep its expiry.
        const ttl = live && typeof raw.expires === 'number' ? raw.expires - now : ttlMs;
        if (!(await this.keyv.set(key, value, Math.max(1, ttl)))) throw new StoreError(`the Keyv store did not write ${key}`);
        return value;
      });
    this.counters.set(key, next);
    const forget = () => {
      if (this.counters.get(key) === next) this.counters.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  async ping(): Promise<void> {
    await this.keyv.get('strata:ping');
  }

  async whenReady(): Promise<boolean> {
    return true;
  }

  /** Keyv reports no connection state: calls that fail open the engine's circuit breaker instead. */
  onStateChange(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}
}

function decode(text: string | undefined): Buffer | undefined {
  return typeof text === 'string' ? Buffer.from(text, 'base64') : undefined;
}
