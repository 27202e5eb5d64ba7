import type { LoggerService } from '@nestjs/common';
import type { StoreRefusal } from '../ports/store-adapters';
import type { BreakerState } from '../resilience/circuit-breaker';
import type { TierWrite } from './tier';

/** What `L2Facade` is built with (see `cache.stack.ts`). */
export interface L2FacadeOptions {
  strict: boolean;
  failureThreshold: number;
  probeInterval: number;
  /** Deletes remembered while Redis is unreachable, replayed before it is used again. */
  pendingDeleteLimit: number;
  /** Every failed or refused call, with the (first) key it concerned when there is one: counted and reported. */
  onError?: (error: unknown, key: string | undefined) => void;
  /** The breaker opened or closed. */
  onStateChange?: (state: BreakerState, reason: string) => void;
  logger: LoggerService;
  /**
   * The most a caller waits for one L2 operation, whatever the client does underneath: ioredis starts
   * a command's timeout only when it sends it, and with auto-pipelining a command waits for the previous
   * pipeline to finish first (a paused Redis would cost two timeouts); a Cluster client retries through
   * a failover (`retryDelayOnFailover` × `maxRedirections`) for longer still. The command goes on; the
   * keys it writes stay in doubt until it settles.
   */
  deadline?: number;
  /** The namespaces to invalidate whole, with their times, when too many deletes were pending to list. */
  overflow?: () => ReadonlyMap<string, number>;
  /** Told what was replayed once the store answers again (the bus announces it to the other instances). */
  replayed?: (keys: string[], times: ReadonlyMap<string, number>) => void;
  /** Writes invalidation times (tags, namespaces) to the store; absent: they are not shared. */
  writeTimes?: (times: ReadonlyMap<string, number>) => Promise<void>;
  /**
   * Adds written keys to their tags' key indexes (the hard purge, `invalidation.purge`), sent with the
   * write itself, so it costs no extra round trip.
   */
  indexWrites?: (writes: readonly TierWrite[]) => Promise<unknown>;
  /**
   * The store runs calls in the order they are made, side stores included (`StoreAdapters.ordered`):
   * `set` and `delete` then tell their caller, through `sent`, that the write has been handed to it.
   */
  ordered?: boolean;
  /** Refusals of the store (`StoreAdapters.refusal`): logged once (`StoreRefusals`); readable ones not counted by the breaker. */
  refusal?: ((error: unknown) => StoreRefusal | undefined) | undefined;
}
