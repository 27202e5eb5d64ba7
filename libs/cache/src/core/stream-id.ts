/** Orders log ids of the `ms-seq` form (Redis stream ids, and the memory adapters' own). */
export function compareIds(a: string, b: string): number {
  // No split: this runs for every bus message, own ones included (two arrays and four strings each).
  const ad = a.indexOf('-');
  const bd = b.indexOf('-');
  const ms = Number(ad < 0 ? a : a.slice(0, ad)) - Number(bd < 0 ? b : b.slice(0, bd));
  if (ms !== 0) return Math.sign(ms);
  return Math.sign((ad < 0 ? 0 : Number(a.slice(ad + 1))) - (bd < 0 ? 0 : Number(b.slice(bd + 1))));
}
