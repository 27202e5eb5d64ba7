import type { SetOptions } from '../cache.service';
import type { Factory } from '../core/tiered-cache';

/** One key to warm: a factory to run, or a value to store, with the usual write options. */
export type WarmEntry<T = unknown> = SetOptions & { key: string } & ({ factory: Factory<T> } | { value: T });

export interface WarmOptions {
  /** Factories run at once, at most. Default `4`. */
  concurrency?: number;
  /** Refresh keys that are already cached and fresh. Default `false` (they are left alone). */
  force?: boolean;
}

export interface WarmResult {
  /** Keys filled (factory run or value stored). */
  warmed: number;
  /** Keys left alone because they were cached and fresh. */
  fresh: number;
  /** Keys whose factory threw; the others were warmed anyway. */
  failed: Array<{ key: string; error: unknown }>;
}

export interface WarmTarget {
  getOrSet<T>(key: string, factory: Factory<T>, options: SetOptions): Promise<T>;
  recompute<T>(key: string, factory: Factory<T>, options: SetOptions): Promise<T>;
}

/** `cache.warm(entries)`: a small worker pool over the entries, each through `getOrSet` (or a forced fill). */
export async function warmEntries(entries: ReadonlyArray<WarmEntry>, options: WarmOptions | undefined, target: WarmTarget): Promise<WarmResult> {
  const concurrency = options?.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(`Strata cache: warm({ concurrency }) must be a whole number of at least 1; got ${String(concurrency)}`);
  }
  const result: WarmResult = { warmed: 0, fresh: 0, failed: [] };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const entry = entries[next++];
      let ran = false;
      const source = 'factory' in entry ? entry.factory : () => (entry as { value: unknown }).value;
      const factory: Factory<unknown> = (context) => {
        ran = true;
        return source(context);
      };
      try {
        if (options?.force) await target.recompute(entry.key, factory, entry);
        else await target.getOrSet(entry.key, factory, entry);
        if (ran) result.warmed += 1;
        else result.fresh += 1;
      } catch (error) {
        result.failed.push({ key: entry.key, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  return result;
}
