import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../tiers/redis.connection';

/**
 * Removes every Redis key matching a SCAN MATCH pattern: SCAN in batches (never KEYS) and UNLINK, on
 * every master of a Cluster. Returns how many keys were removed. The pattern must already be escaped
 * (`KeySpace.pattern`), so caller input cannot widen it.
 */
export async function unlinkMatching(client: RedisClient, clustered: boolean, pattern: string, count = 500): Promise<number> {
  const nodes: Redis[] = clustered ? (client as Cluster).nodes('master') : [client as Redis];
  let removed = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length === 0) continue;
      // On a Cluster node the keys of one batch may sit in different slots: one UNLINK each, pipelined.
      if (clustered) await Promise.all(keys.map((key) => node.unlink(key)));
      else await node.unlink(...keys);
      removed += keys.length;
    } while (cursor !== '0');
  }
  return removed;
}

/** The same pattern as a RegExp, for L1 keys: only `*` and `?` are wildcards once the pattern is escaped. */
export function patternRegExp(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : '\\' + ch));
  return new RegExp(`^${source}$`, 's');
}
