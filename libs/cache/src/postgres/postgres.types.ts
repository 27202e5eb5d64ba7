import type { Pool, PoolConfig } from 'pg';

/**
 * How the cold tier reaches PostgreSQL: a connection string (the cache opens and closes its own pool),
 * or a `pg` Pool of the app's (used as is, never closed by the cache).
 */
export type PostgresConnectionOptions =
  | { readonly url: string; readonly pool?: undefined; readonly poolOptions?: Omit<PoolConfig, 'connectionString'> }
  | { readonly pool: Pool; readonly url?: undefined };

export type { Pool as PgPool } from 'pg';
