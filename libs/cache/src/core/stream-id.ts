/** Orders log ids of the `ms-seq` form (Redis stream ids, and the memory adapters' own). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  const ms = Number(am) - Number(bm);
  return ms !== 0 ? Math.sign(ms) : Math.sign(Number(as ?? 0) - Number(bs ?? 0));
}
