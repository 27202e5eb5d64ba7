/**
 * L1 hands the same object to every caller, so one caller must not be able to change it under another's
 * feet. Plain data (objects, arrays) is frozen once on write, which costs nothing on a hit. Maps, Sets,
 * Dates and typed arrays cannot be frozen (their contents stay mutable), so for those `deepFreeze`
 * reports false and L1 hands out a fresh copy on every hit instead.
 */
export function deepFreeze(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Object.isFrozen(value)) return isPlainData(value);
  if (value instanceof Map || value instanceof Set || value instanceof Date || ArrayBuffer.isView(value)) {
    return false;
  }
  let freezable = true;
  if (Array.isArray(value)) {
    for (const item of value) if (!deepFreeze(item)) freezable = false;
  } else {
    for (const key of Object.keys(value)) {
      if (!deepFreeze((value as Record<string, unknown>)[key])) freezable = false;
    }
  }
  Object.freeze(value);
  return freezable;
}

function isPlainData(value: object): boolean {
  if (value instanceof Map || value instanceof Set || value instanceof Date || ArrayBuffer.isView(value)) return false;
  const items = Array.isArray(value) ? value : Object.values(value);
  return items.every((item) => item === null || typeof item !== 'object' || isPlainData(item));
}
