import type { L1Coherence } from '../invalidation/coherence';
import type { InvalidationTimes } from '../invalidation/invalidation-times';
import type { DistributedLock } from '../resilience/distributed-lock';
import type { L2Facade } from '../tiers/l2.facade';
import type { MemoryTier } from '../tiers/memory.tier';
import type { EngineMeter } from './engine.meter';

/** What every role of the engine shares: the tiers, the invalidation state, the meter and the clock. */
export interface EngineContext {
  readonly l1: MemoryTier | undefined;
  readonly l2: L2Facade | undefined;
  readonly times: InvalidationTimes;
  readonly coherence: L1Coherence;
  readonly meter: EngineMeter;
  readonly lock: DistributedLock | undefined;
  readonly now: () => number;
  readonly strict: boolean;
  /** Logs a condition the first time it happens, not on every call. */
  warnOnce(condition: string, message: string): void;
}
