import type { StoreRefusal } from '../ports/store-adapters';
import type { PostgresTables } from './postgres.schema';

/**
 * What an error PostgreSQL answered with means for an operator, when it says PostgreSQL is up but refuses
 * (`StoreAdapters.refusal`): a read-only connection, a full disk, no memory, no connection slot left, a
 * missing privilege, a server that accepts no connections yet. Matched on the SQLSTATE (`code` of pg's
 * error); undefined for anything else (a timeout, a closed socket, an administrator's shutdown or
 * termination, 57P01, which is an outage): those are the cold tier's breaker's business.
 *
 * Readable (the breaker does not count it; rows are still read): a read-only connection and a full disk
 * refuse writes and answer reads. Not readable (the breaker opens at once, probing every probeInterval): no
 * memory, no connection, a configuration limit, a missing privilege, a server not accepting connections,
 * where the cache backs off rather than press a database in trouble or misconfigured. Either way the cold
 * guard never reads a row a refused change concerns: a refused write or delete is remembered and that key
 * is not read, a refused invalidation time or pattern stops every cold read, until replayed (`ColdGuard`).
 */
export function postgresRefusals(tables: PostgresTables): (error: unknown) => StoreRefusal | undefined {
  const refusals = byCode(tables);
  return (error) => {
    if (!(error instanceof Error)) return undefined;
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && Object.hasOwn(refusals, code) ? refusals[code] : undefined;
  };
}

function byCode(t: PostgresTables): Readonly<Record<string, StoreRefusal>> {
  const connections: StoreRefusal = {
    why:
      "PostgreSQL refuses new connections: max_connections, or the CONNECTION LIMIT of the cache's role or database, is reached. " +
      'Raise that limit, or lower postgres.poolSize (each instance opens up to that many; a pool you pass is sized by you)',
    readable: false,
  };
  return {
    '25006': {
      why:
        "PostgreSQL refuses writes: the connection is read-only (a hot standby, or default_transaction_read_only on for the cache's role or database). " +
        "Point postgres.url at the primary, or turn it off for the cache's role (ALTER ROLE <role> SET default_transaction_read_only = off)",
      readable: true,
    },
    '53100': {
      why: 'PostgreSQL is out of disk space: free or grow the volume of its data directory (its log names the file)',
      readable: true,
    },
    '53200': {
      why:
        'PostgreSQL is out of memory: give the server more, or lower work_mem or max_connections ' +
        '(for "out of shared memory", raise max_locks_per_transaction as its hint says)',
      readable: false,
    },
    '53300': connections,
    '53400': {
      why: "a PostgreSQL configuration limit was reached (its message names it, e.g. temp_file_limit): raise that setting for the cache's role",
      readable: false,
    },
    '42501': {
      why:
        `the PostgreSQL role lacks a privilege the cache needs. GRANT SELECT, INSERT, UPDATE, DELETE ON ${t.entries}, ${t.times}, ${t.counters} ` +
        `and SELECT ON ${t.schema} to it, plus CREATE on the schema with postgres.migrate: true (or migrate at deploy); ` +
        "the README's GRANT lines under Cold tier on PostgreSQL list them",
      readable: false,
    },
    '57P03': {
      why:
        'PostgreSQL accepts no connections yet: it is starting up, shutting down or recovering. This passes once it is up; if it lasts, ' +
        'see its log (a standby with hot_standby = off never accepts them: point postgres.url at the primary)',
      readable: false,
    },
  };
}
