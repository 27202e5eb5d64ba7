import type { BusTransport } from './bus-transport';
import type { InvalidationTimesStore } from './invalidation-times-store';
import type { KeyScanner, TagIndex } from './key-scanner';
import type { LeaseStore } from './lease-store';
import type { LockStore } from './lock-store';
import type { RegistryStore } from './registry-store';
import type { RemoteStore } from './remote-store';
import type { ScheduleStore } from './schedule-store';
import type { VectorLogStore } from './vector-log-store';

/**
 * One backend's adapters, as the cache is wired with them: the remote store, and the side stores that
 * share its connection. A part left out is a capability the backend lacks: the feature that needs it
 * degrades (no cross-instance lock, no pattern walk in the store, no hard purge, no bus), it is never
 * emulated behind the engine's back. The side stores a feature cannot do without (times, schedule,
 * leases, registry, vector logs) fall back to in-process ones when absent.
 */
export interface StoreAdapters {
  readonly remote: RemoteStore;
  readonly times?: InvalidationTimesStore | undefined;
  /** Only when `remote.capabilities.lock`; fenced writes need `remote.capabilities.fencing` too. */
  readonly lock?: LockStore | undefined;
  /** Only when `remote.capabilities.scan`. */
  readonly scanner?: KeyScanner | undefined;
  readonly tagIndex?: TagIndex | undefined;
  readonly bus?: BusTransport | undefined;
  readonly schedule?: ScheduleStore | undefined;
  readonly leases?: LeaseStore | undefined;
  readonly registry?: RegistryStore | undefined;
  readonly vectorLogs?: VectorLogStore | undefined;
  /**
   * The most a caller waits for one remote call (ms), whatever the client does underneath (queues,
   * redirects, retries through a failover); the call goes on, and the keys it writes stay in doubt
   * until it settles. Absent: no deadline beyond the store's own timeouts.
   */
  readonly deadline?: number | undefined;
  /**
   * The remote store, the times store and the bus transport hand their calls to one connection, at once
   * and in call order, and the server runs them in that order: a call made after a write is run after it.
   * The engine then sends a write's announcement and dependency check right behind the write, in the
   * same round trip, instead of after its reply. Absent: false.
   */
  readonly ordered?: boolean | undefined;
  /**
   * For an error the store answered with: whether it says the store is up but refuses the call (full,
   * read-only, not permitted), and then what an operator must change. Logged once until a write succeeds.
   * Absent: every error is only counted as a failure.
   */
  readonly refusal?: ((error: unknown) => StoreRefusal | undefined) | undefined;
  /** Releases what the adapters opened (connections); never what the user passed in. */
  close(): Promise<void>;
}

export const StoreAdapters = Symbol('StoreAdapters');

/** A store that is up but refuses a call (see `StoreAdapters.refusal`). */
export interface StoreRefusal {
  /** What an operator must change, in a sentence. */
  readonly why: string;
  /**
   * Only writes are refused, and what keeps reads right still works (the bus, for Redis): the breaker
   * does not count it, so entries are still read from the store. False (a command the user may not run):
   * it opens the breaker at once, since invalidations this instance cannot record or announce would leave
   * the store's entries unchecked.
   */
  readonly readable: boolean;
}
