import type { CacheService, GetOrSetOptions } from '../cache.service';
import type { CacheStack } from '../cache.stack';
import { toMs } from '../core/durations';
import { StrataError, InvalidArgumentError } from '../core/errors';
import { argsKey } from '../core/keys';
import type { CacheEvictOptions, CacheKeySource, CacheTagSource, CacheableOptions, CachePutOptions } from './cache-options.types';
import { compileTemplate, isTemplate } from './key-template';
import { NO_CACHE } from '../observability/telemetry';

type Args = readonly unknown[];
type AnyFn = (...args: unknown[]) => unknown;

/**
 * Decorator options compiled once, at startup (templates parsed, durations in ms, the named cache
 * resolved), shared by the method wrappers and `CacheInterceptor`. Every mistake throws here, naming
 * `Class.method`, so a wrong decorator fails the boot rather than a request.
 */
export interface TagPlan {
  /** True when there are no tags at all. */
  readonly none: boolean;
  of(result: unknown, args: Args): string[];
}

export interface StorePlan {
  readonly where: string;
  readonly cache: CacheService;
  readonly key: (args: Args) => string;
  readonly condition: ((args: Args) => boolean) | undefined;
  readonly unless: ((result: unknown, args: Args) => boolean) | undefined;
  readonly tags: TagPlan;
  readonly ttl: number | undefined;
  readonly grace: number | undefined;
}

export interface EvictPlan {
  readonly where: string;
  readonly cache: CacheService;
  readonly keys: ((args: Args) => string[]) | undefined;
  readonly tags: TagPlan;
  readonly pattern: ((args: Args) => string) | undefined;
  readonly all: boolean;
  readonly beforeInvocation: boolean;
  readonly condition: ((args: Args) => boolean) | undefined;
}

export function decoratorError(where: string, message: string): StrataError {
  // Messages of nested option errors (a bad duration) carry the prefix already.
  return new StrataError('E_INVALID_DECORATOR', `Strata cache: ${where}: ${message.replace(/^Strata cache: /, '')}`);
}

/** `where` is `@Cacheable on Class.method`; `defaultKey` the prefix of the default key (`Class.method`). */
export function storePlan(
  where: string,
  options: CacheableOptions | CachePutOptions,
  extraTags: readonly CacheTagSource[],
  cache: CacheService,
  defaultKey: string | undefined,
): StorePlan {
  const at = (message: string) => decoratorError(where, message);
  if (typeof options !== 'object' || options === null) throw at(`takes an options object, e.g. { ttl: '10m' }`);
  const view = named(cache, options.name, at);
  let key: (args: Args) => string;
  if (options.key !== undefined) key = compileKey(options.key, at);
  else if (defaultKey !== undefined) key = (args) => `${defaultKey}:${argsKey(args)}`;
  else throw at(`needs a key, e.g. { key: '{0}' } (the key of the @Cacheable whose entry it refreshes)`);
  return {
    where,
    cache: view,
    key,
    condition: predicate(options.condition, 'condition', at),
    unless: options.unless === undefined ? undefined : resultPredicate(callable(options.unless, 'unless', at)),
    tags: tagPlan([...list(options.tags), ...extraTags], at),
    ttl: options.ttl === undefined ? undefined : duration(() => toMs(options.ttl!, 'ttl'), at),
    grace: options.grace === undefined ? undefined : duration(() => toMs(options.grace!, 'grace', { allowZero: true }), at),
  };
}

export function evictPlan(where: string, options: CacheEvictOptions, cache: CacheService): EvictPlan {
  const at = (message: string) => decoratorError(where, message);
  if (typeof options !== 'object' || options === null) throw at(`takes an options object, e.g. { tags: ['templates'] }`);
  const keySources = options.keys === undefined ? [] : Array.isArray(options.keys) ? options.keys : [options.keys];
  const keyFns = keySources.map((source: CacheKeySource | ((...args: never[]) => readonly string[])) => compileKeys(source, at));
  const tags = tagPlan(list(options.tags), at);
  if (keyFns.length === 0 && tags.none && options.pattern === undefined && options.all !== true) {
    throw at(`has nothing to evict: give keys, tags, pattern or all: true`);
  }
  return {
    where,
    cache: named(cache, options.name, at),
    keys: keyFns.length === 0 ? undefined : (args) => keyFns.flatMap((fn) => fn(args)),
    tags,
    pattern: options.pattern === undefined ? undefined : compileKey(options.pattern, at, true),
    all: options.all === true,
    beforeInvocation: options.beforeInvocation === true,
    condition: predicate(options.condition, 'condition', at),
  };
}

/**
 * Runs one eviction. Keys, tags and the pattern are computed first: if one of those functions throws,
 * nothing can be evicted precisely, so the fault is reported (counted, logged) and the eviction skipped.
 */
export async function runEvict(plan: EvictPlan, args: Args, result: unknown, faults: DecoratorFaults): Promise<void> {
  let keys: string[] | undefined;
  let tags: string[];
  let pattern: string | undefined;
  try {
    keys = plan.keys?.(args);
    tags = plan.tags.of(result, args);
    pattern = plan.pattern?.(args);
  } catch (error) {
    faults.report(plan.where, 'its keys, tags or pattern could not be computed, so nothing was evicted', error, 'error');
    return;
  }
  const cache = plan.cache;
  const work: Promise<unknown>[] = [];
  if (keys !== undefined && keys.length > 0) work.push(cache.delete(keys));
  if (tags.length > 0) work.push(cache.invalidateTags(tags));
  if (pattern !== undefined) work.push(cache.invalidatePattern(pattern));
  if (plan.all) work.push(cache.clear());
  await Promise.all(work);
}

/**
 * The options handed to `getOrSet`/`set` for one call. Tags are computed only when the result is stored
 * (never on a hit), inside `unless`, so that a throwing tag function means "do not store" rather than a
 * failed call.
 */
export function writeOptions(plan: StorePlan, args: Args, faults: DecoratorFaults, constant: GetOrSetOptions | undefined): GetOrSetOptions | undefined {
  if (plan.unless === undefined && plan.tags.none) return constant;
  let tags: string[] = [];
  return {
    ttl: plan.ttl,
    grace: plan.grace,
    unless: (result) => {
      try {
        if (plan.unless?.(result, args)) return true;
        tags = plan.tags.of(result, args);
        return false;
      } catch (error) {
        faults.report(plan.where, 'unless or a tag function threw, so the result was not cached', error);
        return true;
      }
    },
    tagsOf: () => tags,
  };
}

/** Faults of user functions (key, tags, condition): counted in `stats().keyErrors`, logged once per method. */
export class DecoratorFaults {
  private readonly logged = new Set<string>();

  constructor(private readonly stack: CacheStack) {}

  report(where: string, what: string, error: unknown, level: 'warn' | 'error' = 'warn'): void {
    this.stack.telemetry.counters(NO_CACHE).keyErrors += 1;
    const once = `${where}:${what}`;
    if (this.logged.has(once)) return;
    if (this.logged.size > 1000) this.logged.clear();
    this.logged.add(once);
    const message = `${where}: ${what}: ${error instanceof Error ? error.message : String(error)}`;
    if (level === 'error') this.stack.logger.error(message);
    else this.stack.logger.warn(message);
  }

  warnOnce(once: string, message: string): void {
    if (this.logged.has(once)) return;
    this.logged.add(once);
    this.stack.logger.warn(message);
  }
}

export function named(cache: CacheService, name: string | undefined, at: (message: string) => StrataError): CacheService {
  if (name === undefined) return cache;
  if (typeof name !== 'string' || name.length === 0) throw at(`name must be the name of a cache declared in caches; got ${String(name)}`);
  try {
    return cache.cache(name);
  } catch (error) {
    throw at(error instanceof Error ? error.message : String(error));
  }
}

function compileKey(source: unknown, at: (message: string) => StrataError, literal = false): (args: Args) => string {
  if (typeof source === 'function') {
    const fn = source as AnyFn;
    return (args) => {
      const key = fn(...args);
      if (typeof key !== 'string') throw new InvalidArgumentError(`the key function returned ${typeof key}, not a string; return the key as a string`);
      return key;
    };
  }
  if (typeof source !== 'string' || source.length === 0) throw at(`key must be a template like '{0}:{1.id}', a literal key or a function; got ${String(source)}`);
  try {
    return compileTemplate(source, literal);
  } catch (error) {
    throw at(error instanceof Error ? error.message : String(error));
  }
}

function compileKeys(source: unknown, at: (message: string) => StrataError): (args: Args) => string[] {
  if (typeof source === 'function') {
    const fn = source as AnyFn;
    return (args) => {
      const keys = fn(...args);
      if (typeof keys === 'string') return [keys];
      if (Array.isArray(keys) && keys.every((key) => typeof key === 'string')) return keys as string[];
      throw new InvalidArgumentError(`the keys function must return a string or an array of strings`);
    };
  }
  const one = compileKey(source, at);
  return (args) => [one(args)];
}

function tagPlan(sources: readonly CacheTagSource[], at: (message: string) => StrataError): TagPlan {
  const fixed: string[] = [];
  const fromArgs: Array<(args: Args) => unknown> = [];
  const fromResult: AnyFn[] = [];
  for (const source of sources) {
    if (typeof source === 'string' && source.length > 0) {
      if (isTemplate(source)) fromArgs.push(compileKey(source, at));
      else fixed.push(source);
    } else if (typeof source === 'function') {
      const fn = source as AnyFn;
      fromArgs.push((args) => fn(...args));
    } else if (typeof source === 'object' && source !== null && typeof source.fromResult === 'function') {
      fromResult.push(source.fromResult as AnyFn);
    } else {
      throw at(`a tag must be a non-empty string, a function of the arguments, or { fromResult }; got ${String(source)}`);
    }
  }
  if (fromArgs.length === 0 && fromResult.length === 0) {
    return { none: fixed.length === 0, of: () => fixed };
  }
  return {
    none: false,
    of(result, args) {
      const tags = [...fixed];
      for (const fn of fromArgs) add(tags, fn(args));
      for (const fn of fromResult) add(tags, fn(result, ...args));
      return tags;
    },
  };
}

function add(tags: string[], produced: unknown): void {
  if (typeof produced === 'string') tags.push(produced);
  else if (Array.isArray(produced) && produced.every((tag) => typeof tag === 'string')) tags.push(...(produced as string[]));
  else throw new InvalidArgumentError(`a tag function must return a string or an array of strings`);
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function predicate(fn: unknown, option: string, at: (message: string) => StrataError): ((args: Args) => boolean) | undefined {
  if (fn === undefined) return undefined;
  const call = callable(fn, option, at);
  return (args) => Boolean(call(...args));
}

function resultPredicate(fn: AnyFn): (result: unknown, args: Args) => boolean {
  return (result, args) => Boolean(fn(result, ...args));
}

function callable(fn: unknown, option: string, at: (message: string) => StrataError): AnyFn {
  if (typeof fn !== 'function') throw at(`${option} must be a function; got ${String(fn)}`);
  return fn as AnyFn;
}

export function duration(read: () => number, at: (message: string) => StrataError): number {
  try {
    return read();
  } catch (error) {
    throw at(error instanceof Error ? error.message : String(error));
  }
}
