import type { StoreRefusal } from '../ports/store-adapters';

/**
 * What an error Redis answered with means for an operator, when it says Redis is up but refuses the
 * command (`StoreAdapters.refusal`): a full Redis that evicts nothing, a read-only replica, an ACL
 * denial, writes stopped after a failed snapshot. Undefined for anything else (a timeout, a closed
 * connection, a script bug): those are the breaker's business. Matched on the error code Redis puts
 * first in the reply, which it keeps when the command ran inside a script.
 *
 * Readable (the breaker does not count it): a full Redis and one whose snapshots fail still run PUBLISH,
 * so the bus carries invalidations while their times cannot be written; a replica gets the primary's
 * writes and messages. Not readable: an ACL denial (of a script, the bus: invalidations this instance
 * cannot record or announce), which opens the breaker.
 */
export function redisRefusal(error: unknown): StoreRefusal | undefined {
  if (!(error instanceof Error)) return undefined;
  const message = error.message;
  // An ACL denial inside a script comes back as ERR (Redis 7.0: "The user executing the script can't run
  // this command…"; 7.2: "ACL failure in script: … no permissions to run …").
  if (message.startsWith('ERR ') && (message.includes("can't run this command") || message.includes('no permissions to run'))) return REFUSALS.NOPERM;
  return REFUSALS[message.slice(0, message.indexOf(' '))];
}

const REFUSALS: Readonly<Record<string, StoreRefusal>> = {
  OOM: {
    why: "Redis is full: it reached maxmemory and its maxmemory-policy evicts nothing, so it refuses writes. Set maxmemory-policy to volatile-lru or volatile-lfu (every key the cache writes has a ttl) or raise maxmemory",
    readable: true,
  },
  READONLY: {
    why: 'Redis refuses writes: the connection is to a read-only replica. During a Sentinel failover this lasts until the client follows the new primary; otherwise point redis at the primary, or give the sentinels, which follow failovers',
    readable: true,
  },
  NOPERM: {
    why: "the Redis user lacks a permission the cache needs. Grant it (the README's ACL SETUSER line lists every command and key pattern the cache uses)",
    readable: false,
  },
  MISCONF: {
    why: 'Redis refuses writes because its last snapshot (BGSAVE) failed. Fix its disk or directory (see its log), or set stop-writes-on-bgsave-error no if this Redis holds only the cache',
    readable: true,
  },
};
