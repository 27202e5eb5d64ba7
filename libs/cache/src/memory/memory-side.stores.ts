import { compareIds } from '../core/stream-id';
import type { LeaseStore } from '../ports/lease-store';
import type { RegistryStore } from '../ports/registry-store';
import type { ScheduleStore } from '../ports/schedule-store';
import type { VectorLogStore } from '../ports/vector-log-store';
import type { MemoryBackend } from './memory-backend';

const FOREVER = Number.POSITIVE_INFINITY;

/** Scheduled invalidations in one sorted set of the backend. */
export class MemoryScheduleStore implements ScheduleStore {
  constructor(
    private readonly backend: MemoryBackend,
    private readonly key: string,
  ) {}

  async add(member: string, when: number): Promise<void> {
    this.backend.check();
    let set = this.backend.live(this.backend.sortedSets, this.key);
    if (set === undefined) this.backend.put(this.backend.sortedSets, this.key, (set = new Map()), FOREVER);
    set.set(member, when);
  }

  async due(now: number, limit: number): Promise<Array<readonly [string, number]>> {
    this.backend.check();
    const set = this.backend.live(this.backend.sortedSets, this.key);
    if (set === undefined) return [];
    return [...set].filter(([, when]) => when <= now).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  }

  async remove(member: string): Promise<void> {
    this.backend.check();
    this.backend.live(this.backend.sortedSets, this.key)?.delete(member);
  }
}

/** Leases in process: caches sharing a backend share them. */
export class MemoryLeaseStore implements LeaseStore {
  constructor(private readonly backend: MemoryBackend) {}

  async claim(name: string, owner: string, ttlMs: number): Promise<boolean> {
    this.backend.check();
    if (this.backend.live(this.backend.strings, name) !== undefined) return false;
    this.backend.put(this.backend.strings, name, owner, ttlMs);
    return true;
  }

  async extend(name: string, owner: string, ttlMs: number): Promise<boolean> {
    this.backend.check();
    if (this.backend.live(this.backend.strings, name) !== owner) return false;
    this.backend.put(this.backend.strings, name, owner, ttlMs);
    return true;
  }
}

/** Registries in process: a set and a map per key. */
export class MemoryRegistryStore implements RegistryStore {
  constructor(private readonly backend: MemoryBackend) {}

  async addMember(setKey: string, member: string): Promise<void> {
    this.backend.check();
    let set = this.backend.live(this.backend.sets, setKey);
    if (set === undefined) this.backend.put(this.backend.sets, setKey, (set = new Set()), FOREVER);
    set.add(member);
  }

  async members(setKey: string): Promise<string[]> {
    this.backend.check();
    return [...(this.backend.live(this.backend.sets, setKey) ?? [])];
  }

  async putField(mapKey: string, field: string, value: string, ttlMs: number): Promise<void> {
    this.backend.check();
    const map = this.backend.live(this.backend.hashes, mapKey) ?? new Map<string, string>();
    map.set(field, value);
    this.backend.put(this.backend.hashes, mapKey, map, ttlMs);
  }

  async fields(mapKey: string): Promise<Record<string, string>> {
    this.backend.check();
    return Object.fromEntries(this.backend.live(this.backend.hashes, mapKey) ?? []);
  }

  async deleteFields(mapKey: string, fields: readonly string[]): Promise<void> {
    this.backend.check();
    const map = this.backend.live(this.backend.hashes, mapKey);
    for (const field of fields) map?.delete(field);
  }
}

/** Vector logs in process: ids `ms-seq` on the backend's clock, entries older than `maxAgeMs` trimmed on append. */
export class MemoryVectorLogStore implements VectorLogStore {
  constructor(private readonly backend: MemoryBackend) {}

  async append(logKey: string, records: readonly Buffer[], maxAgeMs: number): Promise<void> {
    this.backend.check();
    let log = this.backend.live(this.backend.streams, logKey);
    if (log === undefined) this.backend.put(this.backend.streams, logKey, (log = { seq: 0, entries: [] }), maxAgeMs);
    else if (this.backend.pttl(this.backend.streams, logKey) < maxAgeMs) this.backend.put(this.backend.streams, logKey, log, maxAgeMs);
    const now = this.backend.now();
    const oldest = now - maxAgeMs;
    log.entries = log.entries.filter(([id]) => Number(id.split('-')[0]) >= oldest);
    for (const record of records) log.entries.push([`${now}-${++log.seq}`, record]);
  }

  async read(logKey: string, after: string, count: number): Promise<Array<readonly [string, Buffer]>> {
    this.backend.check();
    const log = this.backend.live(this.backend.streams, logKey);
    if (log === undefined) return [];
    return log.entries.filter(([id]) => compareIds(id, after) > 0).slice(0, count);
  }

  async drop(logKeys: readonly string[]): Promise<void> {
    this.backend.check();
    for (const key of logKeys) this.backend.streams.delete(key);
  }
}
