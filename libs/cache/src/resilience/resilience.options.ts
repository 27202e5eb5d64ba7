import { type Duration, describe, toMs } from '../core/durations';
import { InvalidOptionError } from '../core/errors';

/**
 * Serve a stale copy when the factory fails (or runs past its hard timeout), for at most `window`
 * after the copy's grace ended, and call the factory again at most once per `throttle` per key.
 */
export interface FailSafeOptions {
  /** How long past `staleUntil` (ttl + grace) a copy is kept and may be served when the factory fails. */
  window: Duration;
  /** After a failure, the factory of that key is not called again for this long. Default `'10s'`. */
  throttle?: Duration | undefined;
}

/** Factory timeouts (soft: a stale copy instead, with fail-safe; hard: the call fails and the factory is aborted). */
export interface FactoryTimeoutOptions {
  /**
   * With a stale copy at hand (fail-safe), return it when the factory takes longer than this; the
   * factory finishes in the background and updates the cache. Default: none.
   */
  soft?: Duration | undefined;
  /** Fail the call with `E_FACTORY_TIMEOUT` (or serve the stale copy, with fail-safe) after this long. Default: none. */
  hard?: Duration | undefined;
}

/** The distributed stampede lock (Redis `SET NX PX` with a random token, released by compare-and-delete). */
export interface LockOptions {
  /**
   * How long a lock lives, and so the most other instances wait for its holder's result before they
   * run the factory themselves. Default `'10s'`.
   */
  ttl?: Duration | undefined;
  /** The longest pause between two looks at the key while waiting (they start at 5 ms and grow). Default `'100ms'`. */
  pollInterval?: Duration | undefined;
}

export interface ResolvedFailSafe {
  window: number;
  throttle: number;
}

export interface ResolvedTimeouts {
  soft: number | undefined;
  hard: number | undefined;
}

export interface ResolvedLock {
  ttl: number;
  pollInterval: number;
}

export const NO_TIMEOUTS: ResolvedTimeouts = Object.freeze({ soft: undefined, hard: undefined });

export function resolveFailSafe(
  value: false | FailSafeOptions | undefined,
  option: string,
  fallback: ResolvedFailSafe | undefined,
): ResolvedFailSafe | undefined {
  if (value === undefined) return fallback;
  if (value === false) return undefined;
  if (typeof value !== 'object' || value === null || value.window === undefined) {
    throw new InvalidOptionError(`${option} must be false or { window, throttle? }, e.g. { window: '1h', throttle: '10s' }; got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'window' && key !== 'throttle') throw new InvalidOptionError(`unknown option '${option}.${key}'; ${option} takes window and throttle`);
  }
  return {
    window: toMs(value.window, `${option}.window`),
    throttle: toMs(value.throttle ?? '10s', `${option}.throttle`),
  };
}

export function resolveTimeouts(value: FactoryTimeoutOptions | undefined, option: string, fallback: ResolvedTimeouts): ResolvedTimeouts {
  if (value === undefined) return fallback;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(`${option} must be { soft?, hard? }, e.g. { soft: '200ms', hard: '5s' }; got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'soft' && key !== 'hard') throw new InvalidOptionError(`unknown option '${option}.${key}'; ${option} takes soft and hard`);
  }
  const soft = value.soft === undefined ? undefined : toMs(value.soft, `${option}.soft`);
  const hard = value.hard === undefined ? undefined : toMs(value.hard, `${option}.hard`);
  if (soft !== undefined && hard !== undefined && soft >= hard) {
    throw new InvalidOptionError(`${option}.soft (${soft} ms) must be shorter than ${option}.hard (${hard} ms): the soft timeout returns a stale copy early, the hard one gives up`);
  }
  return { soft, hard };
}

export function resolveJitter(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new InvalidOptionError(`${option} must be a fraction from 0 up to (not including) 1, e.g. 0.1 to shorten each ttl by up to 10%; got ${describe(value)}`);
  }
  return value;
}

/** `true` and leaving it out both mean the default lock; `false` turns it off. */
export function resolveLock(option: boolean | LockOptions | undefined, hasRedis: boolean): ResolvedLock | undefined {
  if (option === false || !hasRedis) return undefined;
  const value = option === true ? undefined : option;
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new InvalidOptionError(`lock must be true, false or { ttl?, pollInterval? }, e.g. { ttl: '10s' }; got ${describe(value)}`);
  }
  for (const key of Object.keys(value ?? {})) {
    if (key !== 'ttl' && key !== 'pollInterval') throw new InvalidOptionError(`unknown option 'lock.${key}'; lock takes ttl and pollInterval`);
  }
  const ttl = toMs(value?.ttl ?? '10s', 'lock.ttl');
  const pollInterval = toMs(value?.pollInterval ?? '100ms', 'lock.pollInterval');
  if (pollInterval >= ttl) {
    throw new InvalidOptionError(`lock.pollInterval (${pollInterval} ms) must be shorter than lock.ttl (${ttl} ms), or waiters would look only once`);
  }
  return { ttl, pollInterval };
}

/** Each write's ttl is shortened by a random fraction of up to `jitter`, so entries written together do not expire together. */
export function jittered(ttl: number, jitter: number, random: () => number = Math.random): number {
  if (jitter === 0) return ttl;
  return Math.max(1, Math.round(ttl * (1 - jitter * random())));
}
