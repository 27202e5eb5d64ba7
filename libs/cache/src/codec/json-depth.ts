/**
 * How deeply values may nest, in both directions. JSON.parse takes any depth, but JSON.stringify (the
 * HTTP layer's, ours when L1 keeps a copy) throws past a few thousand levels: a deeper value read from
 * Redis would fail whoever serializes it next, on every read until it expires.
 */
export const MAX_VALUE_DEPTH = 1000;

/**
 * True when JSON text nests more than `max` arrays or objects deep. Text shorter than `2 * max + 2`
 * cannot (each level takes an opening and a closing bracket), so the common small value costs one
 * comparison; longer text costs one pass, strings skipped with indexOf.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  if (text.length < 2 * max + 2) return false;
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
