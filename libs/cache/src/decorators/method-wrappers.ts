import type { GetOrSetOptions } from '../cache.service';
import { type DecoratorFaults, type EvictPlan, type StorePlan, runEvict, writeOptions } from './cache-plan';

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Marks a wrapper, pointing at the method it wraps: a method is never wrapped twice. */
const WRAPPED = Symbol('strata:wrapped');

export function isWrapped(method: unknown): boolean {
  return typeof method === 'function' && WRAPPED in method;
}

/**
 * Gives the wrapper the identity of the method it replaces: its name, and every piece of metadata on it
 * (Nest's, ours, other libraries'), so that anything reading metadata later still finds it.
 */
export function adopt<W extends Method>(wrapper: W, original: Method): W {
  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapper);
  }
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, WRAPPED, { value: original });
  return wrapper;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Calls the original on a miss. A method that passed the startup check only by its declared return type
 * (`: Promise<…>`, not `async`) is checked here too: a plain value is still cached and handed back in a
 * promise (which is what the declared type promised), and the mismatch is logged once.
 */
function invoke(original: Method, self: unknown, args: unknown[], plan: StorePlan, faults: DecoratorFaults): unknown {
  const result = original.apply(self, args);
  if (!isThenable(result)) {
    faults.warnOnce(`${plan.where}:sync`, `${plan.where}: declared to return a Promise but returned a plain value; make it async`);
  }
  return result;
}

/** `@Cacheable`: `getOrSet` underneath, so concurrent calls with one key run the method once. */
export function cacheableMethod(original: Method, plan: StorePlan, faults: DecoratorFaults, checkResult: boolean): Method {
  const { cache, key: keyOf, condition } = plan;
  // The hit path allocates nothing it does not need: no options object when the cache's policy applies.
  const constant: GetOrSetOptions | undefined = plan.ttl === undefined && plan.grace === undefined ? undefined : { ttl: plan.ttl, grace: plan.grace };
  const simple = plan.unless === undefined && plan.tags.none;
  return adopt(function cached(this: unknown, ...args: unknown[]) {
    let hit: unknown;
    let key: string;
    let skip = false;
    try {
      skip = condition !== undefined && !condition(args);
      if (skip) key = '';
      else key = keyOf(args);
      // A fresh L1 hit is answered before anything is allocated for a miss (factory, options, write spec).
      // peek also rejects a key the cache cannot take (an empty one): the call then goes through.
      if (!skip) hit = cache.peek(key);
    } catch (error) {
      faults.report(plan.where, 'the key or condition threw, so the call went through uncached', error);
      skip = true;
      key = '';
    }
    if (skip) return original.apply(this, args);
    if (hit !== undefined) return Promise.resolve(hit);
    const self = this;
    const factory = checkResult ? () => invoke(original, self, args, plan, faults) : () => original.apply(self, args);
    return cache.getOrSet(key, factory, simple ? constant : writeOptions(plan, args, faults, constant));
  }, original);
}

/** `@CachePut`: always runs the method, then stores its result (unless `condition`/`unless` say no). */
export function cachePutMethod(original: Method, plan: StorePlan, faults: DecoratorFaults): Method {
  const { cache, key: keyOf, condition } = plan;
  return adopt(async function put(this: unknown, ...args: unknown[]) {
    let key: string | undefined;
    try {
      if (condition === undefined || condition(args)) key = keyOf(args);
    } catch (error) {
      faults.report(plan.where, 'the key or condition threw, so the result was not stored', error);
    }
    const result = await original.apply(this, args);
    if (key === undefined) return result;
    let tags: string[];
    try {
      if (plan.unless?.(result, args)) return result;
      tags = plan.tags.of(result, args);
    } catch (error) {
      faults.report(plan.where, 'unless or a tag function threw, so the result was not stored', error);
      return result;
    }
    await cache.set(key, result, { ttl: plan.ttl, grace: plan.grace, tags });
    return result;
  }, original);
}

/** `@CacheEvict` (one or several): evicts before the call, or after it succeeded. */
export function cacheEvictMethod(original: Method, plans: readonly EvictPlan[], faults: DecoratorFaults): Method {
  return adopt(async function evicting(this: unknown, ...args: unknown[]) {
    const active: EvictPlan[] = [];
    for (const plan of plans) {
      try {
        if (plan.condition === undefined || plan.condition(args)) active.push(plan);
      } catch (error) {
        // Evicting when unsure is the safe side: a spurious eviction costs a miss, a skipped one serves stale data.
        faults.report(plan.where, 'condition threw, so the eviction ran anyway', error);
        active.push(plan);
      }
    }
    await Promise.all(active.filter((plan) => plan.beforeInvocation).map((plan) => runEvict(plan, args, undefined, faults)));
    const result = await original.apply(this, args);
    await Promise.all(active.filter((plan) => !plan.beforeInvocation).map((plan) => runEvict(plan, args, result, faults)));
    return result;
  }, original);
}
