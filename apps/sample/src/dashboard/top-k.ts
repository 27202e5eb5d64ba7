/**
 * The heaviest keys of a stream in bounded memory (Space-Saving, Metwally et al. 2005): at most
 * `capacity` counters; a new key takes over the smallest counter and inherits its count, so a count
 * may be over-estimated by at most that inherited part (`error`), never under-estimated.
 */
export class TopK {
  private readonly counts = new Map<string, { count: number; error: number }>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer; got ${capacity}`);
  }

  add(key: string, weight = 1): void {
    const found = this.counts.get(key);
    if (found !== undefined) {
      found.count += weight;
      return;
    }
    if (this.counts.size < this.capacity) {
      this.counts.set(key, { count: weight, error: 0 });
      return;
    }
    let minKey = '';
    let min = Number.POSITIVE_INFINITY;
    for (const [k, v] of this.counts) {
      if (v.count < min) {
        min = v.count;
        minKey = k;
      }
    }
    this.counts.delete(minKey);
    this.counts.set(key, { count: min + weight, error: min });
  }

  top(n: number): Array<{ key: string; count: number; error: number }> {
    return [...this.counts]
      .map(([key, v]) => ({ key, count: v.count, error: v.error }))
      .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
      .slice(0, n);
  }

  get size(): number {
    return this.counts.size;
  }
}
