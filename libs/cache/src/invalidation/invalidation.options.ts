import type { Duration } from '../core/durations';
import { describe, toMs } from '../core/durations';
import { InvalidOptionError } from '../core/errors';
import { group } from '../core/option-checks';

/** The invalidation bus (Redis pub/sub) that keeps every instance's L1 coherent. */
export interface BusOptions {
  /** How often the subscriber connection is pinged. Default `'1s'`. */
  pingInterval?: Duration;
  /** A PING unanswered this long means the subscriber socket is dead: it is reconnected. Default `'1s'`. */
  pingTimeout?: Duration;
  /**
   * Messages kept in the bus log (a Redis stream capped at about this many), so an instance that missed
   * some (its subscription dropped) reads them back instead of clearing its L1; a gap longer than the
   * log clears L1. `0`: no log. Default `1000` (at 200 messages a second, a gap of 5 s).
   */
  logSize?: number;
}

export interface InvalidationOptions {
  /** SCAN COUNT of `invalidatePattern`: keys looked at (and at most unlinked) per command. Default `100`. */
  scanCount?: number;
  /** A pause after each batch of `invalidatePattern`, leaving the server room for other clients. Default `0`. */
  scanPause?: Duration;
  /** How often every instance looks for due `expireAt` invalidations. Default `'1s'`. */
  pollInterval?: Duration;
  /**
   * Hard purge (Redis only): after a tag is invalidated, its keys are also removed from Redis in the
   * background (batches of `scanCount`, `scanPause` apart), to give the memory back before their TTL.
   * Costs every write of an entry with tags one small script call per tag (same round trip) and an index
   * member per key and tag. For memory only: invalidation is exact without it. Default `false`.
   */
  purge?: boolean;
}

/** The bus as the stack runs it; false without one. */
export type ResolvedBus = false | { pingInterval: number; pingTimeout: number; logSize: number };

/** The keys of `BusOptions`, derived from the type so a new option cannot be forgotten here. */
const KNOWN_BUS = Object.keys({ pingInterval: true, pingTimeout: true, logSize: true } satisfies Record<keyof BusOptions, true>);

export function resolveBus(input: false | BusOptions | undefined, hasRedis: boolean): ResolvedBus {
  const bus = group<BusOptions>(input, 'bus', KNOWN_BUS, true);
  if (input === false || !hasRedis) return false;
  const logSize = bus?.logSize ?? 1000;
  if (!Number.isInteger(logSize) || logSize < 0) {
    throw new InvalidOptionError(`bus.logSize must be a whole number of messages (0 for no log); got ${describe(logSize)}`);
  }
  return {
    pingInterval: toMs(bus?.pingInterval ?? '1s', 'bus.pingInterval'),
    pingTimeout: toMs(bus?.pingTimeout ?? '1s', 'bus.pingTimeout'),
    logSize,
  };
}
