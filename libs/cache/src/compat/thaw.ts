/**
 * A mutable deep copy of what Strata's L1 hands out. L1 freezes plain data (objects, arrays) so that
 * every reader can share it; cache-manager callers expect a value of their own they may change.
 * L1 freezes a value whole or not at all: values it cannot freeze (holding a Map, Set, Date, typed
 * array) already come out as a fresh copy per read and are returned as they are, so only a frozen root
 * is copied, and below it only plain objects and arrays (anything else is already the reader's own).
 */
export function thaw<T>(value: T): T {
  return value !== null && typeof value === 'object' && Object.isFrozen(value) ? (copyPlain(value) as T) : value;
}

function copyPlain(value: object): unknown {
  if (Array.isArray(value)) {
    const length = value.length;
    const copy = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      const item: unknown = value[i];
      copy[i] = item !== null && typeof item === 'object' ? copyPlain(item) : item;
    }
    return copy;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = proto === null ? Object.create(null) : {};
  // for…in over a plain object sees its own enumerable keys only (Object.prototype has none).
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    copy[key] = item !== null && typeof item === 'object' ? copyPlain(item) : item;
  }
  return copy;
}
