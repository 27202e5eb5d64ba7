import type { CacheEntry } from '../core/entry';
import { L2UnavailableError } from '../core/errors';
import { type BreakerState, CircuitBreaker, describeError } from '../resilience/circuit-breaker';
import type { Fence, RemoteStoreState } from '../ports/remote-store';
import { BreakerLog } from './breaker-log';
import { CallDeadlines } from './call-deadlines';
import { StoreRefusals } from './store-refusals';
import type { L2FacadeOptions } from './l2.facade.options';
import type { RemoteTier } from './remote.tier';
import type { TierWrite } from './tier';

const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined);

/**
 * L2 as the engine sees it: every call behind the circuit breaker, failures counted and turned into
 * misses (or thrown with `strict`), the state logged once per change rather than once per call.
 *
 * Deletes and invalidations that cannot reach Redis are not dropped: they are replayed, in order, after
 * Redis answers again and before the circuit closes, so an entry deleted during an outage cannot come
 * back when Redis does. When more deletes pile up than `pendingDeleteLimit`, the facade stops listing
 * keys and asks the engine (through `overflow`) to invalidate whole namespaces instead.
 *
 * A write that failed is treated the same way: its key is "in doubt" (Redis may hold the previous
 * value, or the write may still land), so reads of it are misses and it is deleted once Redis answers
 * and the write has settled. Pending deletes are replayed before the circuit closes, and also while it
 * stays closed (a Cluster with one master failing over trips no breaker).
 */
export class L2Facade {
  readonly breaker: CircuitBreaker;
  private pendingDeletes = new Set<string>();
  private pendingTimes = new Map<string, number>();
  private overflowed = false;
  /** Writes still running underneath past their deadline, by key: their keys are not replayed before they settle. */
  private readonly inFlight = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private disposed = false;
  /**
   * Whether calls need the facade's own deadline: a command that is written at once (no auto-pipelining,
   * no offline queue, not a Cluster that redirects and retries) is bounded by the client's commandTimeout,
   * and a later command of the same connection (a replayed delete) lands after it.
   */
  private readonly boundCalls: boolean;
  /** Gives up waiting on calls past `options.deadline`; absent without one. */
  private readonly deadlines: CallDeadlines | undefined;
  private readonly stateListeners: Array<(state: BreakerState, reason: string) => void> = [];
  /** The store up but refusing (full, read-only, not permitted): logged once; readable refusals not counted by the breaker. */
  private readonly refusals: StoreRefusals | undefined;
  private readonly breakerLog: BreakerLog;

  private readonly stopWatching: () => void;

  constructor(
    readonly tier: RemoteTier,
    private readonly options: L2FacadeOptions,
  ) {
    const store = tier.store;
    this.deadlines = options.deadline === undefined ? undefined : new CallDeadlines(options.deadline);
    const refusal = options.refusal;
    this.refusals = refusal && new StoreRefusals(refusal, options.logger);
    this.breakerLog = new BreakerLog(options.logger, options.probeInterval);
    this.breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      probeInterval: options.probeInterval,
      probe: () => store.ping(),
      beforeClose: () => this.replay(),
      onStateChange: (state, reason) => this.logState(state, reason),
      answered: refusal && ((error) => refusal(error)?.readable === true),
    });
    if (options.onStateChange) this.stateListeners.push(options.onStateChange);
    this.boundCalls = !store.capabilities.boundedCalls;
    this.stopWatching = store.onStateChange((state, reason) => (state === 'down' ? this.breaker.trip(reason) : this.breaker.nudge()));
    if (store.state !== 'ready') this.breaker.startOpen('connection not ready');
  }

  /**
   * Waits (at most `timeoutMs`) for the connection and a successful probe, so the first calls after
   * startup can use the store. When it is not there (the breaker keeps probing), `cause` says why.
   */
  async connect(timeoutMs: number): Promise<{ connected: boolean; cause?: string }> {
    const store = this.tier.store;
    if (!(await store.whenReady(timeoutMs))) return { connected: false, cause: store.lastError ?? `no answer within ${timeoutMs} ms` };
    if (await this.breaker.probeNow()) return { connected: true };
    return { connected: false, cause: this.breaker.lastFailure ?? 'the first command failed' };
  }

  /** The store's connection is up now (whatever the breaker says). */
  get connected(): boolean {
    return this.tier.store.state === 'ready';
  }

  /** Calls `listener` when the store's connection goes down or comes back; returns the unsubscribe function. */
  watchConnection(listener: (state: RemoteStoreState) => void): () => void {
    return this.tier.store.onStateChange((state) => listener(state));
  }

  /** One round trip to the store, outside the breaker (health checks). */
  ping(): Promise<void> {
    return this.tier.store.ping();
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  get available(): boolean {
    return this.breaker.isClosed;
  }

  /** Available, and the last call succeeded: optional work (the stampede lock) is skipped otherwise. */
  get healthy(): boolean {
    return this.breaker.isHealthy;
  }

  /** Calls `listener` on every breaker state change (for metrics and health checks). */
  onStateChange(listener: (state: BreakerState, reason: string) => void): void {
    this.stateListeners.push(listener);
  }

  /** True while a failed write or delete of `key` has not been repaired: Redis may hold a value that must not be served. */
  inDoubt(key: string): boolean {
    return this.pendingDeletes.size > 0 && this.pendingDeletes.has(key);
  }

  /**
   * True while a change to `key` that may not have reached Redis waits to be replayed (and announced
   * then): a delete or failed write of it, or any delete once too many piled up to list (their
   * namespaces are then invalidated whole).
   */
  replays(key: string): boolean {
    return this.overflowed || this.inDoubt(key);
  }

  /** True while an invalidation time that could not be written waits to be replayed (and announced then). */
  timePending(id: string): boolean {
    return this.overflowed || this.pendingTimes.has(id);
  }

  /**
   * The hottest L2 call: `call` (one promise layer, the store's bytes decoded in it rather than in
   * `RemoteTier.get`: at tens of thousands of reads a second, each layer was a measurable share of a read).
   */
  get(key: string): Promise<CacheEntry | undefined> {
    if (this.inDoubt(key)) return RESOLVED_UNDEFINED;
    const tier = this.tier;
    return this.call(() => tier.store.get(key), undefined, key, (bytes) => (bytes === undefined ? undefined : tier.decode(key, bytes)));
  }

  async getMany(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    const entries = await this.guard(() => this.tier.getMany(keys), new Array<undefined>(keys.length), keys[0], keys.length);
    if (this.pendingDeletes.size > 0) keys.forEach((key, i) => this.inDoubt(key) && (entries[i] = undefined));
    return entries;
  }

  /**
   * `sent`: called synchronously once the store was handed the write, where it runs calls in order
   * (`options.ordered`): what the caller sends after that (the announcement) is run after the write.
   */
  async set(write: TierWrite, sent?: () => void): Promise<void> {
    const handed = this.inOrder(sent);
    await this.write([write.key], () => this.indexed([write], () => this.tier.set(write, handed)), undefined);
  }

  /** `sent` where the store runs calls in the order they are made (`options.ordered`), else nothing to tell. */
  private inOrder(sent: (() => void) | undefined): (() => void) | undefined {
    return this.options.ordered === true ? sent : undefined;
  }

  /**
   * Writes the entry only if the lease still holds its lock (and releases it): true when written, false
   * when the lock was lost (nothing written), undefined when Redis failed (the key is then in doubt).
   */
  async setFenced(write: TierWrite, fence: Fence): Promise<boolean | undefined> {
    // Indexed even when the lock turns out lost: the key then holds the newer holder's value, and a purge
    // that removes it costs one miss, nothing worse.
    return this.write([write.key], () => this.indexed([write], () => this.tier.setFenced(write, fence)), undefined);
  }

  /** `sent`: as for `set`. */
  async setMany(writes: readonly TierWrite[], sent?: () => void): Promise<void> {
    const handed = this.inOrder(sent);
    await this.write(
      writes.map((w) => w.key),
      () => this.indexed(writes, () => this.tier.setMany(writes, handed)),
      undefined,
    );
  }

  /** The write and its index entries, sent together (one round trip); a failure of either fails the write. */
  private indexed<T>(writes: readonly TierWrite[], op: () => Promise<T>): Promise<T> {
    const index = this.options.indexWrites;
    if (index === undefined) return op();
    return Promise.all([op(), index(writes)]).then(([result]) => result);
  }

  /** `sent`: as for `set`. */
  async delete(keys: readonly string[], sent?: () => void): Promise<void> {
    if (keys.length === 0) return;
    const handed = this.inOrder(sent);
    await this.write(keys, () => this.tier.delete(keys, handed), undefined);
  }

  /** A write whose failure leaves its keys in doubt: deleted (replayed) once Redis answers and the write settled. */
  private async write<T, F>(keys: readonly string[], op: () => Promise<T>, fallback: F): Promise<T | F> {
    try {
      // Open: refused at once. Closed: the breaker's bookkeeping inline (one promise layer fewer than
      // `breaker.run` on every write), and the facade's deadline only where the client does not bound the
      // command itself (see `boundCalls`: a write the client timed out still lands before any later
      // command of this connection, such as the replay's delete).
      if (!this.breaker.isClosed) return await this.breaker.run(op);
      const result = await (this.boundCalls ? this.bounded(op, keys) : op());
      this.breaker.succeeded();
      this.refusals?.accepted();
      return result;
    } catch (error) {
      this.breaker.failure(error);
      for (const key of keys) this.remember(key);
      this.flushSoon();
      this.failed(error, keys[0]);
      return fallback;
    }
  }

  /**
   * Gives up waiting after the deadline (see `CallDeadlines`); the command itself goes on, the keys it
   * writes counted in flight.
   */
  private bounded<T>(op: () => Promise<T>, keys?: readonly string[], size = keys?.length ?? 1): Promise<T> {
    if (this.deadlines === undefined) return op();
    const running = op();
    if (keys) {
      for (const key of keys) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
      const settle = () => {
        for (const key of keys) {
          const left = (this.inFlight.get(key) ?? 1) - 1;
          if (left > 0) this.inFlight.set(key, left);
          else this.inFlight.delete(key);
        }
        if (this.pendingDeletes.size > 0) this.flushSoon();
      };
      running.then(settle, settle);
    }
    return this.deadlines.wait(running, size);
  }

  /**
   * Invalidation times (tags, namespaces) that could not be written are replayed like deletes. `sent`:
   * as for `set` (the times store shares the connection).
   */
  async setTimes(times: ReadonlyMap<string, number>, sent?: () => void): Promise<void> {
    const write = this.options.writeTimes;
    if (write === undefined || times.size === 0) return;
    const handed = this.inOrder(sent);
    try {
      await this.breaker.run(() => {
        const writing = write(times);
        handed?.();
        return writing;
      });
    } catch (error) {
      if (!this.overflowed) {
        for (const [id, time] of times) this.pendingTimes.set(id, Math.max(time, this.pendingTimes.get(id) ?? 0));
        // Too many to list (deleting thousands of keys records a dependency time for each): whole
        // namespaces are invalidated instead, which covers every tag and dependency in them.
        if (this.pendingTimes.size > this.options.pendingDeleteLimit) this.overflow();
      }
      this.failed(error);
    }
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number | undefined> {
    return this.guard(() => this.tier.increment(key, by, ttlMs), undefined, key);
  }

  /**
   * `guard` for one command written at once (a read, the stampede lock's steps): the same breaker policy
   * and fallback in one promise layer, with the facade's deadline only where the client does not bound the
   * command (see `boundCalls`); `map` turns the result in that same layer. Rejects only with `strict`.
   */
  call<T, F, R = T>(op: () => Promise<T>, fallback: F, key?: string, map?: (value: T) => R): Promise<R | F> {
    // Open: refused at once, counted like any failure.
    if (!this.breaker.isClosed) return this.guard(op, fallback, key) as Promise<F>;
    let running: Promise<T>;
    try {
      running = this.boundCalls ? this.bounded(op) : op();
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      (value) => {
        this.breaker.succeeded();
        return map === undefined ? (value as unknown as R) : map(value);
      },
      (error: unknown) => {
        this.breaker.failure(error);
        this.failed(error, key);
        return fallback;
      },
    );
  }

  /** Runs any Redis work behind the breaker with the same failure policy (used by invalidation). */
  async guard<T, F>(op: () => Promise<T>, fallback: F, key?: string, size = 1): Promise<T | F> {
    try {
      return await this.breaker.run(() => this.bounded(op, undefined, size));
    } catch (error) {
      this.failed(error, key);
      return fallback;
    }
  }

  get pending(): number {
    return this.pendingDeletes.size + this.pendingTimes.size;
  }

  dispose(): void {
    this.disposed = true;
    this.stopWatching();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.deadlines?.dispose();
    this.breaker.dispose();
    this.breakerLog.dispose();
    this.refusals?.dispose();
  }

  /** Replays pending deletes soon while the circuit stays closed (an open circuit replays before it closes). */
  private flushSoon(): void {
    if (this.disposed || this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.breaker.isClosed || this.flushing || this.pending === 0) return;
      this.flushing = this.guard(() => this.replay(), undefined)
        .catch(() => undefined) // strict mode rethrows; nobody awaits this
        .finally(() => {
          this.flushing = undefined;
          if (this.pending > 0) this.flushSoon();
        });
    }, this.options.probeInterval);
    this.flushTimer.unref();
  }

  private failed(error: unknown, key?: string): void {
    this.options.onError?.(error, key);
    // A command this instance may not run (an ACL): it cannot record or announce what it invalidates, so it
    // stops reading Redis's entries at once, whatever succeeded in between (a count would never get there).
    const refusal = this.refusals?.seen(error);
    if (refusal !== undefined && !refusal.readable) this.breaker.trip(describeError(error));
    if (this.options.strict) {
      throw error instanceof L2UnavailableError ? error : new L2UnavailableError(describeError(error), { cause: error });
    }
  }

  private remember(key: string): void {
    if (this.overflowed) return;
    if (this.pendingDeletes.size >= this.options.pendingDeleteLimit) return this.overflow();
    this.pendingDeletes.add(key);
  }

  /** Stops listing what to replay: the namespaces in use are invalidated whole instead (`overflow`). */
  private overflow(): void {
    this.overflowed = true;
    this.pendingDeletes.clear();
    this.pendingTimes.clear();
  }

  private async replay(): Promise<void> {
    // A write still running underneath could land after our delete: its key waits until it settles.
    const keys = [...this.pendingDeletes].filter((key) => !this.inFlight.has(key));
    const times = new Map(this.pendingTimes);
    const overflowed = this.overflowed;
    // Deletes were lost from the list: what they removed can only be covered by invalidating whole namespaces.
    const overflow = this.options.overflow;
    if (overflowed && overflow) {
      for (const [id, time] of overflow()) times.set(id, Math.max(time, times.get(id) ?? 0));
    }
    // Straight to the tier: the breaker is half-open and would refuse. A failure keeps the circuit open.
    for (let i = 0; i < keys.length; i += 500) await this.tier.delete(keys.slice(i, i + 500));
    if (times.size > 0 && this.options.writeTimes) await this.options.writeTimes(times);
    for (const key of keys) this.pendingDeletes.delete(key);
    for (const [id, time] of times) if (this.pendingTimes.get(id) === time) this.pendingTimes.delete(id);
    if (overflowed) this.overflowed = false;
    // After the circuit has closed (this runs just before), so the announcement can use Redis.
    if (keys.length + times.size > 0) setImmediate(() => this.options.replayed?.(keys, times));
    // While the store refuses writes, the deletes of writes it refused are replayed every probe interval:
    // part of the refusal already logged, not news each time; nor in a reopening left out of the log. An
    // overflow (namespaces invalidated whole) is news whenever it happens.
    if (overflowed || (keys.length + times.size > 0 && this.refusals?.refusing !== true && !this.breakerLog.quiet)) {
      this.options.logger.log(
        `Redis tier: replayed ${keys.length} deletes and ${times.size} invalidations made while its writes failed` +
          (overflowed ? '; too many deletes were pending, so their namespaces were invalidated whole' : ''),
      );
    }
  }

  private logState(state: BreakerState, reason: string): void {
    for (const listener of this.stateListeners) listener(state, reason);
    if (state === 'open') this.breakerLog.opened(reason);
    else if (state === 'closed') this.breakerLog.closed();
  }
}
