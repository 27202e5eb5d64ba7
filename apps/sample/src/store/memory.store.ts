import { SampleStore, type Table } from './sample.store';

/** Per-process maps: fine for one instance (`npm start`), wrong for several (each has its own truth). */
export class MemoryStore extends SampleStore {
  readonly kind = 'memory';
  private readonly rows = new Map<string, unknown>();

  private static keyOf(table: Table, tenant: string, id: string): string {
    return `${table}\u0000${tenant}\u0000${id}`;
  }

  async get<T>(table: Table, tenant: string, id: string): Promise<T | undefined> {
    this.reads += 1;
    const row = this.rows.get(MemoryStore.keyOf(table, tenant, id));
    return row === undefined ? undefined : (structuredClone(row) as T);
  }

  async put<T>(table: Table, tenant: string, id: string, row: T): Promise<void> {
    this.rows.set(MemoryStore.keyOf(table, tenant, id), structuredClone(row));
  }

  async putIfAbsent<T>(table: Table, tenant: string, id: string, row: T): Promise<T> {
    const key = MemoryStore.keyOf(table, tenant, id);
    if (!this.rows.has(key)) this.rows.set(key, structuredClone(row));
    return structuredClone(this.rows.get(key)) as T;
  }

  async update<T>(table: Table, tenant: string, id: string, change: (current: T) => T): Promise<T | undefined> {
    const key = MemoryStore.keyOf(table, tenant, id);
    const current = this.rows.get(key);
    if (current === undefined) return undefined;
    const next = change(structuredClone(current) as T);
    this.rows.set(key, structuredClone(next));
    return next;
  }

  async delete(table: Table, tenant: string, id: string): Promise<boolean> {
    return this.rows.delete(MemoryStore.keyOf(table, tenant, id));
  }

  async list<T>(table: Table, tenant: string, where?: { field: string; equals: string }): Promise<T[]> {
    this.reads += 1;
    const prefix = `${table}\u0000${tenant}\u0000`;
    return [...this.rows]
      .filter(([key, row]) => key.startsWith(prefix) && (where === undefined || (row as Record<string, unknown>)[where.field] === where.equals))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, row]) => structuredClone(row) as T);
  }
}
