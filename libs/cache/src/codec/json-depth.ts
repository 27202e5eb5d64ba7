/**
 * How deeply values may nest, in both directions. JSON.parse takes any depth, but JSON.stringify (the
 * HTTP layer's, ours when L1 keeps a copy) throws past a few thousand levels: a deeper value read from
 * Redis would fail whoever serializes it next, on every read until it expires.
 */
export const MAX_VALUE_DEPTH = 1000;

/**
 * True when JSON text nests more than `max` arrays or objects deep. Text shorter than `2 * max + 2`
 * cannot (each level takes an opening and a closing bracket), so the common small value costs one
 * comparison; nor can text with no more than `max` opening brackets in all (strings included), which
 * indexOf counts for a tenth of a character-by-character pass; only text with more of them takes that
 * pass, strings skipped with indexOf.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  return mayNestDeeperThan(text, max) && scan(text, max);
}

/**
 * False when JSON text certainly nests no more than `max` deep: it is too short, or holds no more than
 * `max` opening brackets anywhere. True means it may (then ask `nestsDeeperThan` or `valueNestsDeeperThan`).
 */
export function mayNestDeeperThan(text: string, max: number): boolean {
  if (text.length < 2 * max + 2) return false;
  let opening = 0;
  for (let at = text.indexOf('{'); at !== -1; at = text.indexOf('{', at + 1)) if (++opening > max) return true;
  for (let at = text.indexOf('['); at !== -1; at = text.indexOf('[', at + 1)) if (++opening > max) return true;
  return false;
}

/**
 * True when a value JSON.parse returned (plain objects and arrays only, no reviver) nests more than `max`
 * deep: the same answer as `nestsDeeperThan` on its text, from a walk of its objects that stops at the
 * bound (no deeper recursion than that), several times cheaper than a pass over the characters.
 */
export function valueNestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (valueNestsDeeperThan(value[i], max - 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) if (valueNestsDeeperThan(record[keys[i]], max - 1)) return true;
  return false;
}

function scan(text: string, max: number): boolean {
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = closingQuote(text, i);
      if (i < 0) return false; // unterminated: the parser refuses it anyway
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** The index of the quote closing the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
