/** The sample's tables. Rows are JSON documents keyed by (tenant, id); shared rows use the tenant ''. */
export type Table = 'templates' | 'users' | 'conversations' | 'documents';
export const TABLES: readonly Table[] = ['templates', 'users', 'conversations', 'documents'];

/**
 * Where the sample keeps its data: PostgreSQL when `DATABASE_URL` is set (one truth for every
 * instance), memory otherwise. The cache sits in front of it; it is never the source of truth.
 */
export abstract class SampleStore {
  /** Counts reads, so the routes and tests can show what the cache saved. */
  reads = 0;

  abstract get<T>(table: Table, tenant: string, id: string): Promise<T | undefined>;
  abstract put<T>(table: Table, tenant: string, id: string, row: T): Promise<void>;
  /** Inserts `row` unless a row with that id exists; returns the row that is stored. */
  abstract putIfAbsent<T>(table: Table, tenant: string, id: string, row: T): Promise<T>;
  /** Read-modify-write of one row, atomic across instances; undefined when there is no such row. */
  abstract update<T>(table: Table, tenant: string, id: string, change: (current: T) => T): Promise<T | undefined>;
  /** Removes a row; false when there was none. */
  abstract delete(table: Table, tenant: string, id: string): Promise<boolean>;
  /** The tenant's rows, optionally those whose top-level `field` equals `value`, ordered by id. */
  abstract list<T>(table: Table, tenant: string, where?: { field: string; equals: string }): Promise<T[]>;
  abstract readonly kind: 'memory' | 'postgres';
}
