/**
 * A fixed-bucket latency histogram: `observe` is a short scan and two increments, cheap enough for every
 * Redis call and factory run. Bounds follow a 1-2.5-5 series from 1 µs to 30 s, the same bounds the
 * Prometheus exporter publishes, so percentiles here and in Prometheus agree.
 */
export const LATENCY_BOUNDS_SECONDS: readonly number[] = [
  0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
const BOUNDS_MS = LATENCY_BOUNDS_SECONDS.map((s) => s * 1000);

export class LatencyHistogram {
  /** Observations per bucket; the last slot counts those above the highest bound (+Inf). */
  readonly counts = new Float64Array(BOUNDS_MS.length + 1);
  count = 0;
  /** Sum of all observations, in milliseconds. */
  sumMs = 0;

  observe(ms: number): void {
    let i = 0;
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]) i++;
    this.counts[i] += 1;
    this.count += 1;
    this.sumMs += ms;
  }

  /** A copy, to compare against later (`since`). */
  snapshot(): LatencyHistogram {
    const copy = new LatencyHistogram();
    copy.counts.set(this.counts);
    copy.count = this.count;
    copy.sumMs = this.sumMs;
    return copy;
  }

  /** What was observed after `earlier` (a snapshot of this histogram). */
  since(earlier: LatencyHistogram | undefined): LatencyHistogram {
    const diff = this.snapshot();
    if (earlier === undefined) return diff;
    for (let i = 0; i < diff.counts.length; i++) diff.counts[i] -= earlier.counts[i];
    diff.count -= earlier.count;
    diff.sumMs -= earlier.sumMs;
    return diff;
  }

  add(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sumMs += other.sumMs;
  }

  /**
   * The q-quantile (0 < q ≤ 1) in milliseconds, interpolated inside its bucket; undefined with no data.
   * Above the highest bound it answers that bound: the histogram cannot say more.
   */
  percentile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const inBucket = this.counts[i];
      if (inBucket > 0 && seen + inBucket >= rank) {
        if (i === BOUNDS_MS.length) return BOUNDS_MS[BOUNDS_MS.length - 1];
        const lower = i === 0 ? 0 : BOUNDS_MS[i - 1];
        return lower + (BOUNDS_MS[i] - lower) * ((rank - seen) / inBucket);
      }
      seen += inBucket;
    }
    return BOUNDS_MS[BOUNDS_MS.length - 1];
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      meanMs: this.count === 0 ? undefined : this.sumMs / this.count,
      p50Ms: this.percentile(0.5),
      p95Ms: this.percentile(0.95),
      p99Ms: this.percentile(0.99),
    };
  }
}

/** Percentiles of one operation on one tier, in milliseconds (undefined until something was observed). */
export interface LatencySummary {
  count: number;
  meanMs: number | undefined;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  p99Ms: number | undefined;
}
