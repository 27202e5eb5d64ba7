import type { InvalidationTimesStore } from '../ports/invalidation-times-store';
import type { MemoryBackend } from './memory-backend';

/** Invalidation times in process, under `{prefix}__inv:{id}` like the Redis ones (one backend may serve several prefixes). */
export class MemoryTimesStore implements InvalidationTimesStore {
  constructor(
    private readonly backend: MemoryBackend,
    private readonly keyPrefix: string,
  ) {}

  async read(ids: readonly string[]): Promise<number[]> {
    this.backend.check();
    return ids.map((id) => Number(this.backend.live(this.backend.strings, this.keyPrefix + id) ?? 0) || 0);
  }

  async writeMax(times: ReadonlyMap<string, number>, retentionMs: number): Promise<void> {
    this.backend.check();
    for (const [id, time] of times) {
      const key = this.keyPrefix + id;
      if (time > Number(this.backend.live(this.backend.strings, key) ?? 0)) this.backend.put(this.backend.strings, key, String(time), retentionMs);
    }
  }

  async track(ids: readonly string[], ttlMs: number): Promise<void> {
    this.backend.check();
    for (const id of ids) {
      const key = this.keyPrefix + id;
      const current = this.backend.live(this.backend.strings, key);
      if (current === undefined) this.backend.put(this.backend.strings, key, '0', Math.ceil(ttlMs));
      else if (this.backend.pttl(this.backend.strings, key) < ttlMs) this.backend.put(this.backend.strings, key, current, Math.ceil(ttlMs));
    }
  }

  async raiseTracked(ids: readonly string[], time: number): Promise<boolean[]> {
    this.backend.check();
    return ids.map((id) => {
      const key = this.keyPrefix + id;
      const current = this.backend.live(this.backend.strings, key);
      if (current === undefined) return false;
      if (time > Number(current)) this.backend.strings.get(key)!.value = String(time);
      return true;
    });
  }
}
