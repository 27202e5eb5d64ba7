import { L2UnavailableError, describeError } from '../core/errors';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** While open, how often a probe is sent to see whether the remote is back. */
  probeInterval: number;
  /** Sends one cheap request (PING); resolves when the remote answers. */
  probe: () => Promise<unknown>;
  /** Runs after a successful probe and before the circuit closes (e.g. replay deletes that could not be sent). */
  beforeClose?: () => Promise<void>;
  onStateChange?: (state: BreakerState, reason: string) => void;
  /** An error the remote answered with, saying it is up but refuses the call: not counted toward opening. */
  answered?: (error: unknown) => boolean;
}

/**
 * Stops sending to a dead Redis and probes it back. States:
 * - `closed`: calls go through; `failureThreshold` consecutive failures (or `trip()`) open it.
 * - `open`: calls fail at once with `L2UnavailableError` (no network, no waiting); a probe runs every
 *   `probeInterval` (and at once on `nudge()`, e.g. when the client reconnects).
 * - `half-open`: a probe is in flight; calls still fail fast. Success runs `beforeClose` then closes;
 *   failure re-opens.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private closedForGood = false;
  private lastReason = '';

  /** Why the breaker last opened or a probe last failed; undefined before any failure. */
  get lastFailure(): string | undefined {
    return this.lastReason === '' ? undefined : this.lastReason;
  }
  private probing: Promise<void> | undefined;

  constructor(private readonly options: CircuitBreakerOptions) {}

  get state(): BreakerState {
    return this.current;
  }

  get isClosed(): boolean {
    return this.current === 'closed';
  }

  /** Closed, and the last call succeeded: worth an optional round trip (such as a lock). */
  get isHealthy(): boolean {
    return this.current === 'closed' && this.failures === 0;
  }

  /** Runs `op` when the circuit is closed; counts its outcome. */
  async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.current !== 'closed') throw new L2UnavailableError(`circuit ${this.current} (${this.lastReason})`);
    try {
      const result = await op();
      this.failures = 0;
      return result;
    } catch (error) {
      this.failure(error);
      throw error;
    }
  }

  /** Counts a success seen outside `run` (the facade's fast read path). */
  succeeded(): void {
    this.failures = 0;
  }

  /** Counts a failure seen outside `run` (e.g. a command whose result is not awaited). */
  failure(error: unknown): void {
    if (this.current !== 'closed') return;
    if (this.options.answered?.(error) === true) return;
    this.failures += 1;
    if (this.failures >= this.options.failureThreshold) this.trip(describeError(error));
  }

  /** Opens the circuit at once, e.g. when the connection closed. */
  trip(reason: string): void {
    // Only from closed: while open or probing, the state (and its one log line) is already right.
    if (this.closedForGood || this.current !== 'closed') return;
    this.lastReason = reason;
    this.transition('open', reason);
    this.schedule();
  }

  /** Starts open without reporting a change (the connection is still being made at startup). */
  startOpen(reason: string): void {
    if (this.current !== 'closed') return;
    this.current = 'open';
    this.lastReason = reason;
    this.schedule();
  }

  /** Probes now instead of waiting for the next interval (the client says it reconnected). */
  nudge(): void {
    if (this.current === 'open') void this.attemptProbe();
  }

  /** Probes now and resolves once the outcome is known: true when the circuit is closed. */
  async probeNow(): Promise<boolean> {
    if (this.current === 'open') await this.attemptProbe();
    else if (this.current === 'half-open') await this.probing;
    return this.current === 'closed';
  }

  /** Stops probing for good (application shutdown). */
  dispose(): void {
    this.closedForGood = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.closedForGood) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.attemptProbe(), this.options.probeInterval);
    this.timer.unref();
  }

  private attemptProbe(): Promise<void> {
    if (this.current !== 'open' || this.closedForGood) return this.probing ?? Promise.resolve();
    this.probing = this.runProbe().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private async runProbe(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.current = 'half-open';
    try {
      // A refusal is an answer: the remote is up (a Redis that stopped writes after a failed snapshot refuses PING too).
      await this.options.probe().catch((error: unknown) => {
        if (this.options.answered?.(error) !== true) throw error;
      });
      await this.options.beforeClose?.();
      if (this.closedForGood) return;
      this.failures = 0;
      this.transition('closed', 'probe succeeded');
    } catch (error) {
      if (this.closedForGood) return;
      this.current = 'open';
      this.lastReason = describeError(error);
      this.schedule();
    }
  }

  private transition(state: BreakerState, reason: string): void {
    this.current = state;
    this.options.onStateChange?.(state, reason);
  }
}

/** Kept here too: callers of the breaker describe what it reports. */
export { describeError };
