import type { EntryCodec } from '../codec/entry.codec';
import { isPromise } from '../core/promise';
import type { CacheEntry } from '../core/entry';
import { CorruptEntryError } from '../core/errors';
import type { EntryMeta, Fence, RemoteStore, StoredBytes } from '../ports/remote-store';
import type { CacheTier, TierWrite } from './tier';

/** What a self-checking store (L3) keeps beside the bytes: see `EntryMeta`. */
export function metaOf(write: TierWrite): EntryMeta {
  const { entry } = write;
  const ids = write.namespaceId === undefined ? entry.tags : [write.namespaceId, ...entry.tags];
  return { createdAt: entry.createdAt, expiresAt: entry.expiresAt, ids };
}

/** The physical TTL of a write: it lives until its stale copy is no longer of use (grace, fail-safe window). */
export function physicalTtl(write: TierWrite, now: number): number {
  return (write.keepUntil ?? write.entry.staleUntil) - now;
}

export interface RemoteTierOptions {
  codec: EntryCodec;
  now: () => number;
  /** Called for every entry that failed to decode; the tier has already scheduled its deletion. */
  onCorrupt?: (key: string, error: CorruptEntryError) => void;
}

/**
 * A remote store as a tier: entries encoded to bytes with the view's codec on the way in, decoded on the
 * way out, each living until its stale copy is of no more use. A corrupt entry is a miss, removed and
 * reported; the store only ever sees bytes.
 */
export class RemoteTier implements CacheTier {
  readonly kind = 'remote' as const;

  constructor(
    readonly store: RemoteStore,
    private readonly options: RemoteTierOptions,
  ) {}

  get(key: string): Promise<CacheEntry | undefined> {
    return this.store.get(key).then((bytes) => (bytes === undefined ? undefined : this.decode(key, bytes)));
  }

  async getMany(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    if (keys.length === 0) return [];
    const raw = await this.store.getMany(keys);
    return raw.map((bytes, i) => (bytes === undefined ? undefined : this.decode(keys[i], bytes)));
  }

  set(write: TierWrite, sent?: () => void): Promise<void> {
    const ttl = physicalTtl(write, this.options.now());
    return encoded(() => (ttl <= 0 ? EMPTY : this.encode(write)), (bytes) => handed(this.store.set(write.key, bytes, ttl, metaOf(write)), sent));
  }

  /** `sent`: as for `set`, once the store was handed all of them (at once when every encoding was synchronous). */
  setMany(writes: readonly TierWrite[], sent?: () => void): Promise<void> {
    if (writes.length === 0) return Promise.resolve();
    return encoded(
      () => {
        const encodings = writes.map((write) => this.encode(write));
        return encodings.some(isPromise) ? Promise.all(encodings) : (encodings as Buffer[]);
      },
      (bytes) => {
        const now = this.options.now();
        const items = writes.map((write, i): StoredBytes => ({ key: write.key, bytes: bytes[i], ttlMs: physicalTtl(write, now), meta: metaOf(write) }));
        return handed(this.store.setMany(items), sent);
      },
    );
  }

  async delete(keys: readonly string[], sent?: () => void): Promise<void> {
    await handed(this.unlink(keys), sent);
  }

  /** `delete`, resolving with how many of the keys existed. */
  unlink(keys: readonly string[]): Promise<number> {
    return keys.length === 0 ? Promise.resolve(0) : this.store.delete(keys);
  }

  /** Whether `setFenced` is atomic in this store (else the caller writes and releases the lock itself). */
  get fencing(): boolean {
    return this.store.capabilities.fencing && this.store.setFenced !== undefined;
  }

  /**
   * Writes the entry only if the fence's lock is still held by its token, and releases the lock; false
   * when the lock was lost (expired, taken over) and nothing was written. Only with `fencing`.
   */
  setFenced(write: TierWrite, fence: Fence): Promise<boolean> {
    // The TTL is taken once the bytes are ready, as the write leaves.
    return encoded(() => this.encode(write), (bytes) =>
      this.store.setFenced!({ key: write.key, bytes, ttlMs: Math.max(0, physicalTtl(write, this.options.now())), meta: metaOf(write) }, fence),
    );
  }

  increment(key: string, by: number, ttlMs: number): Promise<number> {
    return this.store.increment(key, by, ttlMs);
  }

  async close(): Promise<void> {
    // The owner of the store closes it; a tier only forgets it.
  }

  /** The entry in bytes read elsewhere (the lock's step), or undefined when they do not decode (then deleted, reported). */
  decode(key: string, bytes: Buffer): CacheEntry | undefined {
    try {
      return this.options.codec.decode(bytes, key);
    } catch (error) {
      const corrupt = error instanceof CorruptEntryError ? error : new CorruptEntryError(String(error), { cause: error });
      // A bad entry would fail every reader until it expires: remove it, and never let that fail the read.
      const store = this.store;
      const removal = store.deleteIfSame !== undefined ? store.deleteIfSame(key, bytes) : store.delete([key]);
      removal.catch(() => undefined);
      this.options.onCorrupt?.(key, corrupt);
      return undefined;
    }
  }

  private encode(write: TierWrite): Buffer | Promise<Buffer> {
    return (write.codec ?? this.options.codec).encodeAsync(write.entry, write.serialized, write.key);
  }
}

const EMPTY = Buffer.alloc(0);

/** A store call just made: `sent` told (synchronously, right after the call) before it is returned. */
function handed<T>(call: Promise<T>, sent: (() => void) | undefined): Promise<T> {
  sent?.();
  return call;
}

/** `send(bytes)` once the encoding is done: at once when it was synchronous (no promise layer for it). Never throws: rejects. */
function encoded<B, T>(encode: () => B | Promise<B>, send: (bytes: B) => Promise<T>): Promise<T> {
  try {
    const bytes = encode();
    return isPromise(bytes) ? bytes.then(send) : send(bytes);
  } catch (error) {
    return Promise.reject(error);
  }
}
