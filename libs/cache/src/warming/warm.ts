import { InvalidArgumentError } from '../core/errors';
import type { SetOptions } from '../cache-service.types';
import type { Factory } from '../engine/engine.types';

/** One key to warm: a factory to run, or a value to store, with the usual write options. */
export type WarmEntry<T = unknown> = SetOptions & { key: string } & ({ factory: Factory<T> } | { value: T });

/**
 * What `cache.warm` takes: an array, any iterable, or an async iterable (a database cursor, an async
 * generator). Entries are pulled one at a time as workers free up, so a large set is never all in memory.
 */
export type WarmEntries<T = unknown> = Iterable<WarmEntry<T>> | AsyncIterable<WarmEntry<T>>;

export interface WarmOptions {
  /** Factories run at once, at most. Default `4`. */
  concurrency?: number | undefined;
  /** Refresh keys that are already cached and fresh. Default `false` (they are left alone). */
  force?: boolean | undefined;
}

export interface WarmResult {
  /** Keys filled (factory run or value stored). */
  warmed: number;
  /** Keys left alone because they were cached and fresh. */
  fresh: number;
  /** Keys whose factory threw (or entries that were not `{ key, factory }` / `{ key, value }`); the others were warmed anyway. */
  failed: Array<{ key: string; error: unknown }>;
}

export interface WarmTarget {
  getOrSet<T>(key: string, factory: Factory<T>, options: SetOptions): Promise<T>;
  recompute<T>(key: string, factory: Factory<T>, options: SetOptions): Promise<T>;
}

const DONE = Symbol('done');

/**
 * `cache.warm(entries)`: a small worker pool over the entries, each through `getOrSet` (or a forced fill).
 * If the source itself throws (an async iterable whose query failed), the entries in flight finish and
 * the error is thrown.
 */
export async function warmEntries(entries: WarmEntries, options: WarmOptions | undefined, target: WarmTarget): Promise<WarmResult> {
  const concurrency = options?.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidArgumentError(`warm({ concurrency }) must be a whole number of at least 1; got ${String(concurrency)}`);
  }
  const result: WarmResult = { warmed: 0, fresh: 0, failed: [] };
  const pull = puller(entries);
  const worker = async (): Promise<void> => {
    for (let entry = await pull(); entry !== DONE; entry = await pull()) {
      let ran = false;
      try {
        const { key, source, write } = checked(entry);
        const factory: Factory<unknown> = (context) => {
          ran = true;
          return source(context);
        };
        if (options?.force) await target.recompute(key, factory, write);
        else await target.getOrSet(key, factory, write);
        if (ran) result.warmed += 1;
        else result.fresh += 1;
      } catch (error) {
        result.failed.push({ key: keyOf(entry), error });
      }
    }
  };
  const workers = Array.isArray(entries) ? Math.min(concurrency, entries.length) : concurrency;
  const ended = await Promise.allSettled(Array.from({ length: workers }, worker));
  const broken = ended.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (broken !== undefined) throw broken.reason;
  return result;
}

/**
 * Hands out the entries one at a time: an async iterator must not be asked for its next value while it
 * is still producing one. After the source ends or throws, every pull answers DONE (the throw goes to
 * the one pull that met it).
 */
function puller(entries: WarmEntries): () => Promise<unknown> {
  const iterator: Iterator<unknown> | AsyncIterator<unknown> =
    Symbol.asyncIterator in entries ? entries[Symbol.asyncIterator]() : entries[Symbol.iterator]();
  let finished = false;
  let queue: Promise<unknown> = Promise.resolve();
  return () => {
    const next = queue.then(async () => {
      if (finished) return DONE;
      try {
        const step = await iterator.next();
        if (step.done) finished = true;
        return step.done ? DONE : step.value;
      } catch (error) {
        finished = true;
        throw error;
      }
    });
    queue = next.catch(() => undefined);
    return next;
  };
}

function checked(entry: unknown): { key: string; source: Factory<unknown>; write: SetOptions } {
  if (typeof entry === 'object' && entry !== null && typeof (entry as { key?: unknown }).key === 'string') {
    const write = entry as WarmEntry;
    if ('factory' in write && typeof write.factory === 'function') return { key: write.key, source: write.factory, write };
    if ('value' in write) return { key: write.key, source: () => write.value, write };
  }
  throw new InvalidArgumentError(`a warm entry must be { key, factory } or { key, value } with a string key; got ${describeEntry(entry)}`);
}

function keyOf(entry: unknown): string {
  const key = typeof entry === 'object' && entry !== null ? (entry as { key?: unknown }).key : undefined;
  return typeof key === 'string' ? key : String(key);
}

function describeEntry(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return String(entry);
  return `an object with ${Object.keys(entry).join(', ') || 'no keys'}`;
}
