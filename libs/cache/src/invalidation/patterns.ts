import type { LoggerService } from '@nestjs/common';
import type Redis from 'ioredis';
import { describeError } from '../resilience/circuit-breaker';
import type { L2Facade } from '../tiers/l2.facade';
import { type RedisClient, isCluster } from '../tiers/redis.connection';

export interface UnlinkMatchingOptions {
  /** SCAN COUNT: keys looked at per round trip, and the most unlinked per command. */
  count: number;
  /** A pause after each batch, so a long walk leaves the server room for other clients (like `redis-cli --scan -i`). */
  pause: number;
  /** Keys that match but must stay (counters, which are not entries). */
  keep?: (key: string) => boolean;
  /** Attempts per command: a slow moment (a command timeout) must not abandon a walk of a million keys. */
  attempts?: number;
}

/** Counts what a walk removed so far, also when it fails half-way. */
export interface UnlinkProgress {
  removed: number;
}

/** A pause that does not keep the process alive (between batches of a walk, before a retry). */
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** @internal (its client is typed by ioredis, an optional peer) */
/**
 * Removes every key matching `pattern` with `SCAN MATCH` in batches and `UNLINK`, on every master of a
 * Cluster. `KEYS` is never sent: each command is short, so other clients are never held up for long
 * (one SCAN of `count` slots, or one UNLINK of at most `count` keys, at a time). A failed command is
 * retried from the same cursor (both commands are idempotent). Keys written while it runs may or may
 * not be seen (SCAN guarantees only the keys that exist from start to end).
 */
export async function unlinkMatching(
  client: RedisClient,
  pattern: string,
  options: UnlinkMatchingOptions,
  progress: UnlinkProgress = { removed: 0 },
): Promise<number> {
  if (!isCluster(client)) await unlinkOnNode(client, pattern, options, false, progress);
  else await Promise.all(client.nodes('master').map((node) => unlinkOnNode(node, pattern, options, true, progress)));
  return progress.removed;
}

async function unlinkOnNode(node: Redis, pattern: string, options: UnlinkMatchingOptions, clustered: boolean, progress: UnlinkProgress): Promise<void> {
  const attempts = options.attempts ?? 5;
  const retry = async <T>(op: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (error) {
        if (attempt >= attempts) throw error;
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

/**
 * `invalidatePattern` as the engine runs it: the walk behind the circuit breaker, and a walk that could
 * not finish (Redis gone half-way) kept and run again in the background until it completes, the way
 * deletes made during an outage are replayed; `onCompleted` then tells the instances again.
 */
export class PatternInvalidation {
  private readonly pending = new Map<string, ((key: string) => boolean) | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private backoff = 0;
  private disposed = false;

  constructor(
    private readonly l2: L2Facade,
    private readonly options: Omit<UnlinkMatchingOptions, 'keep'>,
    private readonly logger: LoggerService,
    private readonly onCompleted: (pattern: string) => Promise<void>,
  ) {}

  /** Resolves with how many keys were removed; `complete: false` when the walk is left for later. */
  async run(pattern: string, keep?: (key: string) => boolean): Promise<{ removed: number; complete: boolean }> {
    const progress: UnlinkProgress = { removed: 0 };
    try {
      await this.l2.breaker.run(() => unlinkMatching(this.l2.tier.client, pattern, { ...this.options, keep }, progress));
      return { removed: progress.removed, complete: true };
    } catch (error) {
      this.logger.warn(
        `invalidatePattern(${pattern}) stopped after ${progress.removed} keys (${describeError(error)}); it will be run again until it completes`,
      );
      this.pending.set(pattern, keep);
      this.schedule();
      return { removed: progress.removed, complete: false };
    }
  }

  get waiting(): number {
    return this.pending.size;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.disposed) return;
    this.backoff = Math.min(Math.max(1000, this.backoff * 2), 30_000);
    this.timer = setTimeout(() => void this.retry(), this.backoff);
    this.timer.unref();
  }

  private async retry(): Promise<void> {
    this.timer = undefined;
    for (const [pattern, keep] of [...this.pending]) {
      if (this.disposed) return;
      if (!this.l2.available) break;
      try {
        await this.l2.breaker.run(() => unlinkMatching(this.l2.tier.client, pattern, { ...this.options, keep }));
      } catch {
        break;
      }
      this.pending.delete(pattern);
      await this.onCompleted(pattern);
    }
    if (this.pending.size > 0) this.schedule();
    else this.backoff = 0;
  }
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
