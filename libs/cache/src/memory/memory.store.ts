import type { Fence, RemoteStore, RemoteStoreCapabilities, RemoteStoreState, StoredBytes } from '../ports/remote-store';
import type { MemoryBackend } from './memory-backend';

/**
 * The remote store in process: a real L2-shaped tier without a server (a single-node app, or the
 * engine's unit tests). Every call answers asynchronously, like a network store, and fails while the
 * backend is down. Fencing and the lock use the backend's lock table, so they are as atomic as Redis's
 * scripts (one event-loop turn).
 */
export class MemoryStore implements RemoteStore {
  readonly name = 'memory';
  readonly capabilities: RemoteStoreCapabilities = { fencing: true, scripts: false, scan: true, lock: true, boundedCalls: true, shared: false };

  constructor(readonly backend: MemoryBackend) {}

  get state(): RemoteStoreState {
    return this.backend.state;
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.backend.check();
    return this.backend.live(this.backend.bytes, key);
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    this.backend.check();
    return keys.map((key) => this.backend.live(this.backend.bytes, key));
  }

  async set(key: string, bytes: Buffer, ttlMs: number): Promise<void> {
    this.backend.check();
    this.write(key, bytes, ttlMs);
  }

  async setMany(items: readonly StoredBytes[]): Promise<void> {
    this.backend.check();
    for (const item of items) this.write(item.key, item.bytes, item.ttlMs);
  }

  async setFenced(item: StoredBytes, fence: Fence): Promise<boolean> {
    this.backend.check();
    if (this.backend.live(this.backend.locks, fence.key) !== fence.token) return false;
    this.write(item.key, item.bytes, item.ttlMs);
    this.backend.locks.delete(fence.key);
    return true;
  }

  async delete(keys: readonly string[]): Promise<number> {
    this.backend.check();
    let removed = 0;
    for (const key of keys) {
      for (const map of this.backend.keyspaces) {
        if (this.backend.live(map, key) === undefined) continue;
        map.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  async deleteIfSame(key: string, bytes: Buffer): Promise<void> {
    this.backend.check();
    if (this.backend.live(this.backend.bytes, key)?.equals(bytes)) this.backend.bytes.delete(key);
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    this.backend.check();
    const current = this.backend.live(this.backend.counters, key);
    if (current === undefined) {
      this.backend.put(this.backend.counters, key, by, ttlMs);
      return by;
    }
    this.backend.counters.get(key)!.value = current + by;
    return current + by;
  }

  async ping(): Promise<void> {
    this.backend.check();
  }

  async whenReady(timeoutMs: number): Promise<boolean> {
    if (this.backend.state === 'ready') return true;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        stop();
        resolve(ok);
      };
      const stop = this.backend.onStateChange((state) => state === 'ready' && done(true));
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
    });
  }

  onStateChange(listener: (state: RemoteStoreState, reason: string) => void): () => void {
    return this.backend.onStateChange(listener);
  }

  async close(): Promise<void> {
    // The backend may be shared with other caches; it holds no connection.
  }

  private write(key: string, bytes: Buffer, ttlMs: number): void {
    if (ttlMs <= 0) this.backend.bytes.delete(key);
    else this.backend.put(this.backend.bytes, key, bytes, ttlMs);
  }
}
