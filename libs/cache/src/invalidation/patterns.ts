import type Redis from 'ioredis';
import { type RedisClient, isCluster } from '../tiers/redis.connection';

export interface UnlinkMatchingOptions {
  /** SCAN COUNT: keys looked at per round trip, and the most unlinked per command. */
  count: number;
  /** Keys that match but must stay (counters, which are not entries). */
  keep?: (key: string) => boolean;
}

/**
 * Removes every key matching `pattern` with `SCAN MATCH` in batches and `UNLINK`, on every master of a
 * Cluster. `KEYS` is never sent: each command is short, so other clients are never held up for long
 * (one SCAN of `count` slots, or one UNLINK of at most `count` keys, at a time). Returns how many keys
 * were removed. Keys written while it runs may or may not be seen (SCAN guarantees only the keys that
 * exist from start to end).
 */
export async function unlinkMatching(client: RedisClient, pattern: string, options: UnlinkMatchingOptions): Promise<number> {
  if (!isCluster(client)) return unlinkOnNode(client, pattern, options, false);
  const counts = await Promise.all(client.nodes('master').map((node) => unlinkOnNode(node, pattern, options, true)));
  return counts.reduce((sum, n) => sum + n, 0);
}

async function unlinkOnNode(node: Redis, pattern: string, options: UnlinkMatchingOptions, clustered: boolean): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', options.count);
    cursor = next;
    const keys = options.keep ? found.filter((key) => !options.keep!(key)) : found;
    if (keys.length === 0) continue;
    if (clustered) {
      // A node owns many slots, and a multi-key UNLINK must stay in one: one UNLINK a key, pipelined.
      const results = (await node.pipeline(keys.map((key) => ['unlink', key])).exec()) ?? [];
      for (const [error, n] of results) if (error === null) removed += Number(n);
    } else {
      removed += await node.unlink(...keys);
    }
  } while (cursor !== '0');
  return removed;
}

/**
 * A matcher with Redis glob semantics for the patterns Strata builds (`KeySpace.pattern`): `*` and `?`
 * are wildcards, every other character is literal (caller input is percent-escaped, so `[`, `]` and `\`
 * never reach a pattern unescaped). Matching is on UTF-8 bytes, as Redis does, so `?` is one byte: an L1
 * key is dropped exactly when its Redis copy would have been removed.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const bytes = Buffer.from(pattern, 'utf8').toString('latin1');
  let source = '^';
  for (const ch of bytes) {
    if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else source += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  const regex = new RegExp(source + '$');
  return (key) => regex.test(Buffer.from(key, 'utf8').toString('latin1'));
}
