import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { SampleStore, TABLES, type Table } from './sample.store';

/**
 * The sample's data in PostgreSQL: one table per kind, rows as JSONB keyed by (tenant, id). Tables are
 * created at startup if missing (idempotent, safe when several instances start at once).
 */
export class PostgresStore extends SampleStore {
  readonly kind = 'postgres';
  private readonly logger = new Logger('PostgresStore');

  private constructor(private readonly pool: Pool) {
    super();
  }

  static async connect(url: string): Promise<PostgresStore> {
    const pool = new Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
    // An idle client whose server went away emits 'error' on the pool: log it, the next query reconnects.
    const store = new PostgresStore(pool);
    pool.on('error', (error) => store.logger.warn(`idle connection lost: ${error.message}`));
    try {
      // Two instances starting together both run CREATE TABLE IF NOT EXISTS; the advisory lock orders them.
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(7261)');
        for (const table of TABLES) {
          await client.query(`CREATE TABLE IF NOT EXISTS sample_${table} (tenant text NOT NULL, id text NOT NULL, row jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant, id))`);
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock(7261)').catch(() => undefined);
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new Error(`DATABASE_URL: could not prepare the sample's tables (${(error as Error).message}); check that the database is reachable and the user may create tables`);
    }
    return store;
  }

  async get<T>(table: Table, tenant: string, id: string): Promise<T | undefined> {
    this.reads += 1;
    const result = await this.pool.query<{ row: T }>(`SELECT row FROM sample_${table} WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return result.rows[0]?.row;
  }

  async put<T>(table: Table, tenant: string, id: string, row: T): Promise<void> {
    await this.pool.query(
      `INSERT INTO sample_${table} (tenant, id, row) VALUES ($1, $2, $3) ON CONFLICT (tenant, id) DO UPDATE SET row = EXCLUDED.row, updated_at = now()`,
      [tenant, id, JSON.stringify(row)],
    );
  }

  async putIfAbsent<T>(table: Table, tenant: string, id: string, row: T): Promise<T> {
    await this.pool.query(`INSERT INTO sample_${table} (tenant, id, row) VALUES ($1, $2, $3) ON CONFLICT (tenant, id) DO NOTHING`, [tenant, id, JSON.stringify(row)]);
    return (await this.get<T>(table, tenant, id)) as T;
  }

  async update<T>(table: Table, tenant: string, id: string, change: (current: T) => T): Promise<T | undefined> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const found = await client.query<{ row: T }>(`SELECT row FROM sample_${table} WHERE tenant = $1 AND id = $2 FOR UPDATE`, [tenant, id]);
      if (found.rows.length === 0) {
        await client.query('ROLLBACK');
        return undefined;
      }
      const next = change(found.rows[0].row);
      await client.query(`UPDATE sample_${table} SET row = $3, updated_at = now() WHERE tenant = $1 AND id = $2`, [tenant, id, JSON.stringify(next)]);
      await client.query('COMMIT');
      return next;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async delete(table: Table, tenant: string, id: string): Promise<boolean> {
    const result = await this.pool.query(`DELETE FROM sample_${table} WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return (result.rowCount ?? 0) > 0;
  }

  async list<T>(table: Table, tenant: string, where?: { field: string; equals: string }): Promise<T[]> {
    this.reads += 1;
    const filter = where === undefined ? '' : ' AND row ->> $2 = $3';
    const params = where === undefined ? [tenant] : [tenant, where.field, where.equals];
    const result = await this.pool.query<{ row: T }>(`SELECT row FROM sample_${table} WHERE tenant = $1${filter} ORDER BY id`, params);
    return result.rows.map((r) => r.row);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
