import type Redis from 'ioredis';
import type { KeyScanner, ScanOptions, ScanProgress } from '../ports/key-scanner';
import { delay } from '../core/durations';
import { type RedisClient, isCluster } from './redis.types';

/**
 * Removes every key matching a pattern with `SCAN MATCH` in batches and `UNLINK`, on every master of a
 * Cluster. `KEYS` is never sent: each command is short, so other clients are never held up for long
 * (one SCAN of `count` slots, or one UNLINK of at most `count` keys, at a time). A failed command is
 * retried from the same cursor (both commands are idempotent), `attempts` times: a slow moment (a
 * command timeout) must not abandon a walk of a million keys.
 */
export class RedisKeyScanner implements KeyScanner {
  constructor(
    private readonly client: RedisClient,
    private readonly attempts = 5,
  ) {}

  async deleteMatching(pattern: string, options: ScanOptions, progress: ScanProgress): Promise<void> {
    const client = this.client;
    if (!isCluster(client)) await this.walk(client, pattern, options, false, progress);
    else await Promise.all(client.nodes('master').map((node) => this.walk(node, pattern, options, true, progress)));
  }

  private async walk(node: Redis, pattern: string, options: ScanOptions, clustered: boolean, progress: ScanProgress): Promise<void> {
    const retry = async <T>(op: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await op();
        } catch (error) {
          if (attempt >= this.attempts) throw error;
          await delay(50 * 2 ** attempt);
        }
      }
    };
    let cursor = '0';
    do {
      const [next, found] = await retry(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', options.count));
      cursor = next;
      const keys = options.keep ? found.filter((key) => !options.keep!(key)) : found;
      if (keys.length > 0) {
        if (clustered) {
          // A node owns many slots, and a multi-key UNLINK must stay in one: one UNLINK a key, pipelined.
          const results = await retry(async () => (await node.pipeline(keys.map((key) => ['unlink', key])).exec()) ?? []);
          for (const [error, n] of results) if (error === null) progress.removed += Number(n);
        } else {
          progress.removed += await retry(() => node.unlink(...keys));
        }
      }
      if (options.pause > 0 && cursor !== '0') await delay(options.pause);
    } while (cursor !== '0');
  }
}
