import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { loadPeer } from '../core/optional-peer';
import type { RemoteStoreState } from '../ports/remote-store';
import type { PostgresConnectionOptions } from './postgres.types';

export interface PostgresSessionSettings {
  /** Server-side `statement_timeout`, and the client-side query timeout (a frozen server never answers). */
  statementTimeout: number;
  /** Most time spent getting a connection (opening one, or waiting for a free one in the pool). */
  connectTimeout: number;
  /** Connections of a pool the cache opens. */
  poolSize: number;
}

/**
 * The pool and every query of the PostgreSQL adapters. Each query is bounded: `connectTimeout` to get a
 * connection, then `statementTimeout` for the statement (enforced by the server, and by the client for a
 * server that stopped answering). A connection whose query failed at the connection level is destroyed,
 * never handed to the next caller with a late reply still on its way. `pg` is loaded here, only when the
 * cold tier is configured.
 */
export class PostgresSession {
  readonly pool: Pool;
  private readonly owned: boolean;
  private current: RemoteStoreState = 'down';
  private readonly listeners = new Set<(state: RemoteStoreState, reason: string) => void>();
  private readonly watched = new WeakSet<PoolClient>();

  constructor(
    connection: PostgresConnectionOptions,
    readonly settings: PostgresSessionSettings,
  ) {
    if (connection.pool !== undefined) {
      // Structurally typed in the public options (no pg types needed there); it is a pg Pool.
      this.pool = connection.pool as unknown as Pool;
      this.owned = false;
    } else {
      const pg = loadPeer<typeof import('pg')>('pg', "the 'postgres' option (the L3 cold tier)");
      this.pool = new pg.Pool({
        max: settings.poolSize,
        idleTimeoutMillis: 30_000,
        ...connection.poolOptions,
        connectionString: connection.url,
        connectionTimeoutMillis: settings.connectTimeout,
        statement_timeout: settings.statementTimeout,
        query_timeout: settings.statementTimeout,
        application_name: 'strata-cache',
      });
      this.owned = true;
    }
    // An idle connection that dies (server restart) emits 'error' on the pool; unhandled, it would crash the app.
    this.pool.on('error', this.onPoolError);
  }

  get state(): RemoteStoreState {
    return this.current;
  }

  /** One statement on a pooled connection, bounded as described above. */
  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    const client = await this.connect();
    try {
      const result = await client.query<R>(timed(text, values, this.settings.statementTimeout));
      client.release();
      this.setState('ready', 'query answered');
      return result;
    } catch (error) {
      this.fail(client, error);
      throw error;
    }
  }

  /** Statements on one connection inside a transaction (`BEGIN` … `COMMIT`, rolled back on failure). */
  async transaction<T>(work: (query: <R extends QueryResultRow>(text: string, values?: unknown[]) => Promise<QueryResult<R>>) => Promise<T>, timeoutMs = this.settings.statementTimeout): Promise<T> {
    const client = await this.connect();
    const run = <R extends QueryResultRow>(text: string, values?: unknown[]) => client.query<R>(timed(text, values, timeoutMs));
    try {
      await run('BEGIN');
      if (timeoutMs !== this.settings.statementTimeout) await run(`SET LOCAL statement_timeout = ${Math.round(timeoutMs)}`);
      const result = await work(run);
      await run('COMMIT');
      client.release();
      this.setState('ready', 'query answered');
      return result;
    } catch (error) {
      if (isConnectionError(error)) this.fail(client, error);
      else {
        await run('ROLLBACK').then(
          () => client.release(),
          (rollbackError: unknown) => this.fail(client, rollbackError),
        );
      }
      throw error;
    }
  }

  onStateChange(listener: (state: RemoteStoreState, reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    // A pool we opened keeps our listener: a connection still closing when the server goes away emits later.
    if (!this.owned) return void this.pool.off('error', this.onPoolError);
    // `end` waits for checked-out connections; a frozen server could hold one for a statement timeout.
    await Promise.race([this.pool.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, this.settings.statementTimeout + 100).unref())]);
  }

  private async connect(): Promise<PoolClient> {
    try {
      const client = await this.pool.connect();
      // The pool listens for errors only while a connection is idle: one checked out between two
      // statements (a server shutting down sends FATAL then) would otherwise emit an unhandled 'error'.
      if (!this.watched.has(client)) {
        this.watched.add(client);
        client.on('error', this.onPoolError);
      }
      return client;
    } catch (error) {
      this.setState('down', describePgError(error));
      throw error;
    }
  }

  /** A statement error (a constraint, bad SQL) leaves the connection usable; anything else destroys it. */
  private fail(client: PoolClient, error: unknown): void {
    if (isConnectionError(error)) {
      client.release(error instanceof Error ? error : new Error(String(error)));
      this.setState('down', describePgError(error));
    } else {
      client.release();
    }
  }

  private readonly onPoolError = (error: Error) => this.setState('down', describePgError(error));

  private setState(state: RemoteStoreState, reason: string): void {
    if (state === this.current) return;
    this.current = state;
    for (const listener of this.listeners) listener(state, reason);
  }
}

/** A statement with pg's client-side read timeout (also set on pools the app passes in). */
function timed(text: string, values: unknown[] | undefined, timeoutMs: number): QueryConfig {
  const config: QueryConfig & { query_timeout: number } = { text, values, query_timeout: timeoutMs };
  return config;
}

/**
 * True for failures of the connection rather than of the statement: no SQLSTATE (socket closed, client
 * timeout), or a server-side cancel/shutdown class (57: operator intervention, 08: connection exception).
 */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('57');
}

export function describePgError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  return typeof e.code === 'string' ? `${e.code} ${message}` : message;
}
