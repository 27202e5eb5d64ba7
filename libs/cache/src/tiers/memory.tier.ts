import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../core/entry';
import { deepFreeze } from '../core/freeze';
import type { TenantQuota } from '../tenancy/tenant-quota';
import type { CacheTier, SerializedValue, TierWrite } from './tier';

export interface MemoryTierOptions {
  /** Most entries held. */
  maxEntries: number;
  /** Most bytes held, measured as the serialized size of each entry. */
  maxBytes: number;
  /** Rebuilds a value from its serialized text: L1 keeps its own copy, never the caller's object. */
  parse: (serialized: SerializedValue) => unknown;
  onEvict?: (key: string) => void;
  /** Per-tenant byte quota: a tenant over its share loses its own oldest entries, nobody else's. */
  quota?: TenantQuota;
}

/**
 * An L1 item: the entry (with a frozen value) and what it takes to copy the value when it cannot be
 * frozen. L1's own copy of the value is made from its serialized text on the first read, not on the
 * write: a key written and never read here (a miss path that only fills the cache, an entry evicted or
 * invalidated first) never pays to parse and freeze it.
 */
interface L1Item extends CacheEntry {
  value: unknown;
  readonly size: number;
  /** The serialized value, until the first read parses it (`value` is undefined until then). */
  pending: SerializedValue | undefined;
  /** Set when the value holds Maps, Sets, Dates or typed arrays: each hit parses a fresh copy. */
  copyFrom: SerializedValue | undefined;
  /** The quota group (tenant) the entry is counted in. */
  readonly group?: string;
  /** The frozen value as a settled promise, made on the first hit that asks for one (see `resolvedValue`). */
  resolved: Promise<unknown> | undefined;
}

/**
 * `Promise.resolve(entry.value)` for an entry `MemoryTier.peek` returned, without a promise per hit: a
 * frozen value is the same object for every caller, so one settled promise per entry serves them all
 * (an L1 hit is cheap enough that allocating it was a fifth of its cost). A value L1 copies on each hit
 * gets a new promise of its new copy.
 */
export function resolvedValue(entry: CacheEntry): Promise<unknown> {
  const item = entry as L1Item;
  if (item.copyFrom !== undefined) return Promise.resolve(item.value);
  return (item.resolved ??= Promise.resolve(item.value));
}

const ENVELOPE_OVERHEAD = 64;

/**
 * L1: in-process, bounded by entries and by bytes (lru-cache `maxSize` with the serialized size).
 * Synchronous underneath; `peek` is the engine's hot path, the async methods serve the tier interface.
 */
export class MemoryTier implements CacheTier {
  readonly kind = 'memory' as const;
  private readonly lru: LRUCache<string, L1Item>;
  private readonly counters = new Map<string, { value: number; expiresAt: number }>();

  constructor(private readonly options: MemoryTierOptions) {
    const { onEvict, quota } = options;
    let dispose: LRUCache.Disposer<string, L1Item> | undefined;
    if (quota) {
      dispose = (item, key, reason) => {
        if (item.group !== undefined) quota.removed(item.group, key);
        if (reason === 'evict') onEvict?.(key);
      };
    } else if (onEvict) {
      dispose = (_item, key, reason) => reason === 'evict' && onEvict(key);
    }
    this.lru = new LRUCache<string, L1Item>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (item) => item.size,
      dispose,
    });
  }

  /** The entry as stored, or undefined. The value is either frozen or a fresh copy. */
  peek(key: string): CacheEntry | undefined {
    const item = this.lru.get(key);
    if (item === undefined) return undefined;
    if (item.pending !== undefined) this.ownCopy(item);
    if (item.copyFrom === undefined) return item;
    const copy: L1Item = { ...item, value: this.options.parse(item.copyFrom), resolved: undefined };
    return copy;
  }

  /** The first read: the value parsed from its text and frozen, or kept as text to copy on each hit. */
  private ownCopy(item: L1Item): void {
    const serialized = item.pending!;
    item.pending = undefined;
    const value = this.options.parse(serialized);
    if (deepFreeze(value)) item.value = value;
    else item.copyFrom = serialized;
  }

  /** When the entry under `key` was created, without touching its recency or copying its value. */
  createdAtOf(key: string): number | undefined {
    return this.lru.peek(key)?.createdAt;
  }

  store(write: TierWrite): void {
    const { key, entry, serialized } = write;
    const size = serialized.text.length * 2 + ENVELOPE_OVERHEAD + tagBytes(entry.tags);
    const quota = this.options.quota;
    const group = quota?.groupOf(key);
    if (size > this.options.maxBytes || (group !== undefined && size > quota!.maxBytes)) {
      this.lru.delete(key);
      return;
    }
    const item: L1Item = {
      value: undefined,
      createdAt: entry.createdAt,
      expiresAt: entry.expiresAt,
      staleUntil: entry.staleUntil,
      tags: Object.freeze([...entry.tags]),
      size,
      pending: serialized,
      copyFrom: undefined,
      group,
      resolved: undefined,
    };
    this.lru.set(key, item);
    if (group === undefined || !this.lru.has(key)) return;
    for (const victim of quota!.added(group, key, size)) {
      this.lru.delete(victim);
      this.options.onEvict?.(victim);
    }
  }

  /** L1 bytes held by one tenant's entries (its escaped key segment), when quotas are on. */
  groupBytes(group: string): number {
    return this.options.quota?.bytesOf(group) ?? 0;
  }

  remove(key: string): void {
    this.lru.delete(key);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    return this.peek(key);
  }

  async getMany(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    return keys.map((key) => this.peek(key));
  }

  async set(write: TierWrite): Promise<void> {
    this.store(write);
  }

  async setMany(writes: readonly TierWrite[]): Promise<void> {
    for (const write of writes) this.store(write);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.lru.delete(key);
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    return this.incrementSync(key, by, ttlMs, Date.now());
  }

  incrementSync(key: string, by: number, ttlMs: number, now: number): number {
    const current = this.counters.get(key);
    if (current === undefined || current.expiresAt <= now) {
      if (this.counters.size >= this.options.maxEntries) this.sweepCounters(now);
      this.counters.set(key, { value: by, expiresAt: now + ttlMs });
      return by;
    }
    current.value += by;
    return current.value;
  }

  /** Drops everything (used when L1 can no longer be trusted, e.g. after a lost bus message). */
  clear(): void {
    this.lru.clear();
  }

  keys(): IterableIterator<string> {
    return this.lru.keys();
  }

  get entries(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  async close(): Promise<void> {
    this.lru.clear();
    this.counters.clear();
  }

  private sweepCounters(now: number): void {
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
    // Still full of live counters: drop the oldest rather than grow without bound.
    if (this.counters.size >= this.options.maxEntries) {
      const oldest = this.counters.keys().next();
      if (!oldest.done) this.counters.delete(oldest.value);
    }
  }
}

function tagBytes(tags: readonly string[]): number {
  let bytes = 0;
  for (const tag of tags) bytes += tag.length * 2;
  return bytes;
}
