/** What the advisor can say (`CacheService.stats().advice`). */
export type AdviceCode = 'low-hit-rate' | 'l1-near-capacity' | 'high-eviction-rate' | 'slow-l2' | 'slow-factory';

/** One thing that looks wrong, with the figure and the threshold (and the option that sets it) that tripped. */
export interface Advice {
  code: AdviceCode;
  /** The cache name it concerns; absent for stack-wide advice (L1). */
  cache?: string;
  value: number;
  threshold: number;
  /** The option that sets the threshold, e.g. `advice.hitRate`. */
  option: string;
  message: string;
}
