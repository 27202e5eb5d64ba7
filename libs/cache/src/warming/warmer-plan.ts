import type { CacheService } from '../cache.service';
import { DEFAULT_CACHE_NAME } from '../cache.options';
import { describe, toMs } from '../core/durations';
import type { CacheWarmerOptions } from '../decorators/cache-options.types';
import { decoratorError, duration, named } from '../decorators/cache-plan';

/** `@CacheWarmer` options, checked and resolved at startup. */
export interface WarmerPlan {
  /** `Class.method`. */
  readonly name: string;
  readonly cache: CacheService;
  /** The named cache the entries go to (for logs and events). */
  readonly cacheName: string;
  readonly onBootstrap: boolean;
  /** Milliseconds between interval runs; undefined: bootstrap only. */
  readonly every: number | undefined;
  readonly concurrency: number;
  readonly force: { readonly bootstrap: boolean; readonly interval: boolean };
  readonly blocking: boolean;
  readonly exclusive: boolean;
}

const OPTIONS: ReadonlyArray<keyof CacheWarmerOptions> = ['onBootstrap', 'every', 'name', 'concurrency', 'force', 'blocking', 'exclusive'];
/** setInterval's longest delay (a longer one fires at once, every millisecond). */
const MAX_EVERY = 2 ** 31 - 1;

/** Every mistake throws here, naming `@CacheWarmer on Class.method` and the fix, so a wrong warmer fails the boot. */
export function warmerPlan(name: string, options: unknown, cache: CacheService): WarmerPlan {
  const at = (message: string) => decoratorError(`@CacheWarmer on ${name}`, message);
  if (typeof options !== 'object' || options === null) throw at(`takes an options object, e.g. { every: '10m' }; got ${describe(options)}`);
  const o = options as CacheWarmerOptions;
  for (const key of Object.keys(o)) {
    if (!(OPTIONS as readonly string[]).includes(key)) throw at(`unknown option '${key}'; it takes ${OPTIONS.join(', ')}`);
  }
  const flag = (key: 'onBootstrap' | 'force' | 'blocking' | 'exclusive'): boolean | undefined => {
    const value = o[key];
    if (value !== undefined && typeof value !== 'boolean') throw at(`${key} must be true or false; got ${describe(value)}`);
    return value;
  };
  const onBootstrap = flag('onBootstrap') ?? true;
  const force = flag('force');
  const blocking = flag('blocking') ?? false;
  const exclusive = flag('exclusive');
  const every = o.every === undefined ? undefined : duration(() => toMs(o.every, 'every'), at);
  if (every !== undefined && every > MAX_EVERY) throw at(`every must be at most ${MAX_EVERY} ms (about 24 days, the longest timer Node.js keeps); got ${every} ms`);
  if (!onBootstrap && every === undefined) throw at(`never runs: onBootstrap is false and there is no interval; set every (e.g. every: '10m'), or drop onBootstrap: false`);
  if (blocking && !onBootstrap) throw at(`blocking makes startup wait for the bootstrap run, but onBootstrap is false; drop blocking: true`);
  if (exclusive !== undefined && every === undefined) {
    throw at(`exclusive applies to interval runs (bootstrap runs are per instance), and there is no interval; set every, or drop exclusive`);
  }
  const concurrency = o.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw at(`concurrency must be a whole number of at least 1, e.g. 4; got ${describe(concurrency)}`);
  const view = named(cache, o.name, at);
  return {
    name,
    cache: view,
    cacheName: o.name ?? DEFAULT_CACHE_NAME,
    onBootstrap,
    every,
    concurrency,
    force: { bootstrap: force ?? false, interval: force ?? true },
    blocking,
    exclusive: every !== undefined && (exclusive ?? true),
  };
}
