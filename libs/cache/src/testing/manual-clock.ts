import { type Duration, toMs } from '../core/durations';

/**
 * A clock a test moves by hand, so TTL, stale and grace windows are crossed without waiting:
 * `Test.createTestingModule(...).overrideProvider(CACHE_CLOCK).useValue(clock.read)`.
 */
export class ManualClock {
  constructor(private current: number = Date.now()) {}

  /** The `() => number` the cache reads (bound, so it can be passed around on its own). */
  readonly read = (): number => this.current;

  get now(): number {
    return this.current;
  }

  /** Moves time forward: `clock.advance('5m')`. */
  advance(by: Duration): void {
    this.current += toMs(by, 'ManualClock.advance', { allowZero: true });
  }
}
