import type { LockStep, LockStepOptions, LockStore } from '../ports/lock-store';
import type { MemoryBackend } from './memory-backend';

/** The stampede lock in process: caches sharing one backend share its locks, like instances on one Redis. */
export class MemoryLockStore implements LockStore {
  constructor(private readonly backend: MemoryBackend) {}

  async acquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    this.backend.check();
    return this.take(key, token, ttlMs);
  }

  async step(key: string, token: string, ttlMs: number, options?: LockStepOptions): Promise<LockStep> {
    this.backend.check();
    const bytes = this.backend.live(this.backend.bytes, key);
    if (bytes !== undefined && options?.onlyIfMissing === true) return { bytes, taken: false, remainingMs: -3 };
    const taken = this.take(key, token, ttlMs);
    return { bytes, taken, remainingMs: this.backend.pttl(this.backend.locks, key) };
  }

  async release(key: string, token: string): Promise<boolean> {
    this.backend.check();
    if (this.backend.live(this.backend.locks, key) !== token) return false;
    this.backend.locks.delete(key);
    return true;
  }

  private take(key: string, token: string, ttlMs: number): boolean {
    if (this.backend.live(this.backend.locks, key) !== undefined) return false;
    this.backend.put(this.backend.locks, key, token, ttlMs);
    return true;
  }
}
