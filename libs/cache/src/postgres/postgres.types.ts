/**
 * A `pg` Pool of the app's, described structurally so these public types load in an app without `pg`
 * (an optional peer): any `new Pool()` from 'pg' fits. The cache casts it back to pg's own type inside.
 */
export interface PgPool {
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** pg `PoolConfig` (less `connectionString`), handed to pg unchanged; `object` so the types need no `pg`. */
export type PgPoolOptions = object;

/**
 * How the cold tier reaches PostgreSQL: a connection string (the cache opens and closes its own pool),
 * or a `pg` Pool of the app's (used as is, never closed by the cache).
 */
export type PostgresConnectionOptions =
  | { readonly url: string; readonly pool?: undefined; readonly poolOptions?: PgPoolOptions }
  | { readonly pool: PgPool; readonly url?: undefined };
