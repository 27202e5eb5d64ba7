import type { InvalidationTimesStore } from '../ports/invalidation-times-store';
import type { KeyvClient } from './keyv-remote.store';

/** A dependency record: `t` is its invalidation time (0 until raised). */
interface TimeRecord {
  t: number;
  tracked?: true;
}

/**
 * Invalidation times in a Keyv store, so a tag or namespace invalidated on one instance is seen by the
 * others when they read the entry from the store. Keyv has no compare-and-set: `writeMax` reads then
 * writes, so two instances invalidating the same id within the same few milliseconds may keep the
 * earlier of their two times (entries created between the two can survive the later invalidation).
 */
export class KeyvTimesStore implements InvalidationTimesStore {
  constructor(private readonly keyv: KeyvClient) {}

  async read(ids: readonly string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const records = await this.keyv.getMany<TimeRecord>([...ids]);
    return Array.from(ids, (_id, i) => records[i]?.t ?? 0);
  }

  async writeMax(times: ReadonlyMap<string, number>, retentionMs: number): Promise<void> {
    const ids = [...times.keys()];
    const current = await this.keyv.getMany<TimeRecord>(ids);
    await Promise.all(
      ids.map((id, i) => {
        const time = times.get(id)!;
        const record = current[i];
        if (record !== undefined && record.t >= time) return undefined;
        return this.keyv.set(id, { ...record, t: time }, retentionMs);
      }),
    );
  }

  async track(ids: readonly string[], ttlMs: number): Promise<void> {
    if (ids.length === 0) return;
    const current = await this.keyv.getMany<TimeRecord>([...ids]);
    await Promise.all(ids.map((id, i) => this.keyv.set(id, { t: current[i]?.t ?? 0, tracked: true }, ttlMs)));
  }

  async raiseTracked(ids: readonly string[], time: number): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const current = await this.keyv.getMany<TimeRecord>([...ids]);
    return Promise.all(
      ids.map(async (id, i) => {
        const record = current[i];
        if (record?.tracked !== true) return false;
        if (record.t < time) {
          const raw = await this.keyv.getRaw<TimeRecord>(id);
          const left = typeof raw?.expires === 'number' ? raw.expires - Date.now() : undefined;
          await this.keyv.set(id, { t: time, tracked: true }, left === undefined ? undefined : Math.max(1, left));
        }
        return true;
      }),
    );
  }
}
