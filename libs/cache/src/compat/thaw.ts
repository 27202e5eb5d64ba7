/**
 * A mutable deep copy of what Strata's L1 hands out. L1 freezes plain data (objects, arrays) so that
 * every reader can share it; cache-manager callers expect a value of their own they may change.
 * Values L1 cannot freeze (Map, Set, Date, typed arrays, or data holding one) already come out as a
 * fresh copy per read, and are returned as they are: only frozen parts are copied.
 */
export function thaw<T>(value: T): T {
  if (value === null || typeof value !== 'object' || !Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = thaw(value[i]);
    return copy as T;
  }
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
  for (const key of Object.keys(value)) copy[key] = thaw((value as Record<string, unknown>)[key]);
  return copy as T;
}
