import { PostgresSession } from './postgres.connection';
import { migrateSchema, tablesOf } from './postgres.schema';
import type { PostgresConnectionOptions } from './postgres.types';

// A file of its own: its declaration names only the structural connection options, so the public types
// never reach pg's (an optional peer).
/**
 * Creates or migrates the cold tier's tables, for a deploy step (with `postgres: { migrate: false }` in
 * the app): idempotent, and safe while instances run. Resolves with the schema version in place.
 *
 * ```ts
 * await migratePostgresSchema({ url: process.env.DATABASE_URL! });
 * ```
 */
export async function migratePostgresSchema(connection: PostgresConnectionOptions, table = 'strata_cache'): Promise<number> {
  const session = new PostgresSession(connection, { statementTimeout: 30_000, connectTimeout: 10_000, poolSize: 1 });
  try {
    return await migrateSchema(session, tablesOf(table, 'table'));
  } finally {
    await session.close();
  }
}
