import { inspect } from 'node:util';

/** Options shared by {@link waitFor} and {@link waitForValue}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds (default 30 000: generous, a busy machine must not fail a test). */
  timeoutMs?: number;
  /** Pause between two attempts, in milliseconds (default 25). */
  intervalMs?: number;
  /** What was being waited for, in the error thrown on timeout; a function is called only then (for live details). */
  message?: string | (() => string);
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_INTERVAL_MS = 25;

/** Thrown by {@link waitFor} / {@link waitForValue} when the deadline passes. */
export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';
  constructor(
    message: string,
    /** The error the last attempt threw, if it threw. */
    readonly lastError?: unknown,
  ) {
    super(message);
  }
}

type Attempt<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'timeout' };

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs one attempt, but never waits past the deadline: an attempt that hangs (say, a command to a
 * paused server) counts as a timeout. The hung promise is left to settle on its own.
 */
async function attempt<T>(fn: () => T | Promise<T>, remainingMs: number): Promise<Attempt<T>> {
  let timer: NodeJS.Timeout | undefined;
  const run = (async (): Promise<Attempt<T>> => {
    try {
      return { kind: 'value', value: await fn() };
    } catch (error: unknown) {
      return { kind: 'error', error };
    }
  })();
  const deadline = new Promise<Attempt<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), Math.max(0, remainingMs));
  });
  try {
    return await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : inspect(error);
}

/**
 * Polls `fn` until `predicate` accepts what it returned, and returns that value.
 * An attempt that throws counts as "not yet"; the last error (or value) is in the timeout message.
 * With a type-guard predicate the result is narrowed: `waitForValue(find, (x): x is string => x !== undefined)`.
 */
export async function waitForValue<T, S extends T>(
  fn: () => T | Promise<T>,
  predicate: (value: T) => value is S,
  opts?: WaitForOptions,
): Promise<S>;
export async function waitForValue<T>(
  fn: () => T | Promise<T>,
  predicate: (value: T) => boolean,
  opts?: WaitForOptions,
): Promise<T>;
export async function waitForValue<T>(
  fn: () => T | Promise<T>,
  predicate: (value: T) => boolean,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last: Attempt<T> | undefined;
  let attempts = 0;

  for (;;) {
    attempts += 1;
    const result = await attempt(fn, deadline - Date.now());
    if (result.kind === 'value' && predicate(result.value)) {
      return result.value;
    }
    if (result.kind !== 'timeout') {
      last = result;
    }
    const remaining = deadline - Date.now();
    if (result.kind === 'timeout' || remaining <= 0) {
      break;
    }
    await delay(Math.min(intervalMs, remaining));
  }

  const what = typeof opts.message === 'function' ? opts.message() : (opts.message ?? 'condition');
  let detail: string;
  if (last === undefined) {
    detail = 'the first attempt did not finish in time';
  } else if (last.kind === 'error') {
    detail = `last attempt threw ${describeError(last.error)}`;
  } else if (last.kind === 'value') {
    detail = `last value was ${inspect(last.value, { depth: 4, breakLength: Infinity })}`;
  } else {
    detail = 'the last attempt did not finish in time';
  }
  throw new WaitForTimeoutError(
    `Timed out after ${Date.now() - started} ms (limit ${timeoutMs} ms, ${attempts} attempts) waiting for ${what}: ${detail}`,
    last?.kind === 'error' ? last.error : undefined,
  );
}

/** Polls `condition` until it returns (or resolves to) true; throws {@link WaitForTimeoutError} on timeout. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  opts: WaitForOptions = {},
): Promise<void> {
  await waitForValue(condition, (ok) => ok === true, opts);
}
