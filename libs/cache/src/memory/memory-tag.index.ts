import { randomUUID } from 'node:crypto';
import type { TagIndex, TagIndexGroup } from '../ports/key-scanner';
import type { MemoryBackend } from './memory-backend';

/** Tag indexes in process: a sorted set per tag (member a key, score when it expires), like the Redis ones. */
export class MemoryTagIndex implements TagIndex {
  constructor(
    private readonly backend: MemoryBackend,
    private readonly prefix: string,
  ) {}

  async add(groups: readonly TagIndexGroup[]): Promise<void> {
    this.backend.check();
    const now = this.backend.now();
    const sets = this.backend.sortedSets;
    for (const { ids, indexTtlMs, keys } of groups) {
      for (const id of ids) {
        const name = this.indexKey(id);
        let index = this.backend.live(sets, name);
        if (index === undefined) {
          index = new Map();
          this.backend.put(sets, name, index, indexTtlMs);
        } else if (this.backend.pttl(sets, name) < indexTtlMs) {
          this.backend.put(sets, name, index, indexTtlMs);
        }
        for (const [member, expiresAt] of index) if (expiresAt <= now) index.delete(member);
        for (const { key, ttlMs } of keys) index.set(key, now + ttlMs);
      }
    }
  }

  async detach(id: string): Promise<string | undefined> {
    this.backend.check();
    const name = this.indexKey(id);
    if (this.backend.live(this.backend.sortedSets, name) === undefined) return undefined;
    const snapshot = `${name}:purging:${randomUUID()}`;
    this.backend.sortedSets.set(snapshot, this.backend.sortedSets.get(name)!);
    this.backend.sortedSets.delete(name);
    return snapshot;
  }

  async pop(snapshot: string, count: number): Promise<string[]> {
    this.backend.check();
    const index = this.backend.live(this.backend.sortedSets, snapshot);
    if (index === undefined) return [];
    const popped = [...index].sort((a, b) => a[1] - b[1]).slice(0, count).map(([key]) => key);
    for (const key of popped) index.delete(key);
    if (index.size === 0) this.backend.sortedSets.delete(snapshot);
    return popped;
  }

  private indexKey(id: string): string {
    return `${this.prefix}:__tagkeys:{${id}}`;
  }
}
