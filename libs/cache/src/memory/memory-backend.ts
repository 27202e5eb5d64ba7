import { L2UnavailableError } from '../core/errors';
import type { RemoteStoreState } from '../ports/remote-store';

interface Expiring<T> {
  value: T;
  /** Epoch ms; Infinity: no expiry. */
  expiresAt: number;
}

/** One bus channel: its log (with an epoch, like the Redis stream) and who listens. */
export interface MemoryChannel {
  epoch: string | undefined;
  log: Array<[id: string, text: string]>;
  /** Entries ever added since the epoch began (to tell a trimmed log from an intact one). */
  added: number;
  lastId: string;
  listeners: Set<(text: string) => void>;
}

/**
 * The in-process stand-in for a Redis server, shared by the memory adapters of one or several caches
 * in one process (two `CacheModule`s on one backend behave like two instances on one Redis). Keys
 * expire on the injected clock. `fail()` and `recover()` make every adapter on it unreachable and back,
 * for fault tests without a server; `restart()` loses everything, as a restarted Redis without
 * persistence does.
 */
export class MemoryBackend {
  readonly bytes = new Map<string, Expiring<Buffer>>();
  readonly counters = new Map<string, Expiring<number>>();
  readonly locks = new Map<string, Expiring<string>>();
  readonly strings = new Map<string, Expiring<string>>();
  readonly sortedSets = new Map<string, Expiring<Map<string, number>>>();
  readonly sets = new Map<string, Expiring<Set<string>>>();
  readonly hashes = new Map<string, Expiring<Map<string, string>>>();
  readonly streams = new Map<string, Expiring<{ seq: number; entries: Array<[string, Buffer]> }>>();
  readonly channels = new Map<string, MemoryChannel>();
  private startedAt: number;
  private down: string | undefined;
  private readonly stateListeners = new Set<(state: RemoteStoreState, reason: string) => void>();
  private sequence = 0;

  constructor(readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  get state(): RemoteStoreState {
    return this.down === undefined ? 'ready' : 'down';
  }

  /** Seconds since the backend started (or last restarted), as Redis reports its uptime. */
  get uptime(): number {
    return Math.floor((this.now() - this.startedAt) / 1000);
  }

  /** Every call fails from now on with `reason`, until `recover()`. */
  fail(reason = 'memory backend down'): void {
    if (this.down !== undefined) return;
    this.down = reason;
    for (const listener of [...this.stateListeners]) listener('down', reason);
  }

  recover(): void {
    if (this.down === undefined) return;
    this.down = undefined;
    for (const listener of [...this.stateListeners]) listener('ready', 'memory backend ready');
  }

  /** Loses every key, log and epoch (a restart without persistence); the uptime starts over. */
  restart(): void {
    for (const map of [this.bytes, this.counters, this.locks, this.strings, this.sortedSets, this.sets, this.hashes, this.streams]) map.clear();
    for (const channel of this.channels.values()) Object.assign(channel, { epoch: undefined, log: [], added: 0, lastId: '0-0' });
    this.startedAt = this.now();
  }

  onStateChange(listener: (state: RemoteStoreState, reason: string) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Throws while the backend is down; every adapter call starts with it. */
  check(): void {
    if (this.down !== undefined) throw new L2UnavailableError(this.down);
  }

  /** The live value of `key` in `map`, dropping it when it has expired. */
  live<T>(map: Map<string, Expiring<T>>, key: string): T | undefined {
    const item = map.get(key);
    if (item === undefined) return undefined;
    if (item.expiresAt <= this.now()) {
      map.delete(key);
      return undefined;
    }
    return item.value;
  }

  /** Milliseconds `key` has left in `map`: -2 when absent, -1 without expiry (as Redis's PTTL). */
  pttl<T>(map: Map<string, Expiring<T>>, key: string): number {
    if (this.live(map, key) === undefined) return -2;
    const expiresAt = map.get(key)!.expiresAt;
    return expiresAt === Number.POSITIVE_INFINITY ? -1 : expiresAt - this.now();
  }

  put<T>(map: Map<string, Expiring<T>>, key: string, value: T, ttlMs: number): void {
    map.set(key, { value, expiresAt: ttlMs === Number.POSITIVE_INFINITY ? ttlMs : this.now() + ttlMs });
  }

  /** Every data map, for scans and deletes that span kinds (as one Redis keyspace does). */
  get keyspaces(): Array<Map<string, Expiring<unknown>>> {
    return [this.bytes, this.counters, this.locks, this.strings, this.sortedSets, this.sets, this.hashes, this.streams];
  }

  /** A new id in the `ms-seq` form Redis streams use, increasing within this backend. */
  nextId(): string {
    this.sequence += 1;
    return `${this.now()}-${this.sequence}`;
  }

  channel(name: string): MemoryChannel {
    let channel = this.channels.get(name);
    if (channel === undefined) {
      channel = { epoch: undefined, log: [], added: 0, lastId: '0-0', listeners: new Set() };
      this.channels.set(name, channel);
    }
    return channel;
  }
}
