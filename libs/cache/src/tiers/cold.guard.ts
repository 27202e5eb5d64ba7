import type { LoggerService } from '@nestjs/common';
import { StrataError } from '../core/errors';
import type { StoreRefusal } from '../ports/store-adapters';
import { type BreakerState, CircuitBreaker, describeError } from '../resilience/circuit-breaker';
import { type RefusalWording, StoreRefusals } from './store-refusals';

/** What the guard replays into the cold store once it answers again: changes it missed, in this order. */
export interface ColdReplay {
  times(times: ReadonlyMap<string, number>, retentionMs: number): Promise<void>;
  track(ids: readonly string[], ttlMs: number): Promise<void>;
  patterns(pattern: string): Promise<void>;
  deletes(keys: readonly string[]): Promise<void>;
}

export interface ColdGuardOptions {
  failureThreshold: number;
  probeInterval: number;
  /** The most a caller waits for one cold call (the statement timeout plus getting a connection). */
  deadline: number;
  /** A round trip that also makes the schema ready (see `PostgresAdapters.ready`). */
  probe: () => Promise<void>;
  replay: ColdReplay;
  logger: LoggerService;
  /** PostgreSQL up but refusing (read-only, full, not permitted…): `postgresRefusals`. Absent: every error is a failure. */
  refusal?: ((error: unknown) => StoreRefusal | undefined) | undefined;
  onError?: (error: unknown, key: string | undefined) => void;
  onStateChange?: (state: BreakerState, reason: string) => void;
  /** The clock of the refusals' repeat window (tests). */
  now?: () => number;
}

/** Raised (inside the guard only) when a cold call outlives its deadline; the caller has already moved on. */
class ColdTimeoutError extends StrataError {
  constructor(ms: number) {
    super('E_L2_UNAVAILABLE', `PostgreSQL cold tier: no answer within ${ms} ms; check the database, or raise postgres.statementTimeout`);
    this.name = 'ColdTimeoutError';
  }
}

/** The cold tier's refusals as the log tells them (`StoreRefusals`). */
function coldWording(probeInterval: number): RefusalWording {
  return {
    tier: 'PostgreSQL cold tier',
    store: 'PostgreSQL',
    meanwhile: (refusal) =>
      refusal.readable
        ? 'Meanwhile its writes are skipped, counted as L3 errors and remembered until a replay lands (tried every probeInterval); ' +
          'rows are still read while its breaker is closed, except for a key whose change was refused, and for any key while a refused invalidation or ' +
          'dependency update waits (a cold set or delete makes one): answers come from L1, Redis, those reads and factories'
        : `Meanwhile each refusal opens its breaker (probing every ${probeInterval} ms), and answers come from L1, Redis and factories`,
    // The SQLSTATE first, as the breaker's lines give it.
    describe: (error) => {
      const code = (error as { code?: unknown }).code;
      return typeof code === 'string' ? `${code} ${describeError(error)}` : describeError(error);
    },
  };
}

/**
 * The cold tier's own circuit breaker and memory of what it missed. A cold call never fails the
 * caller: it is bounded by `deadline`, and a failure (or an open circuit) turns into its fallback.
 *
 * A change that could not reach the cold store (a write, a delete, an invalidation time, a dependency
 * record, a pattern) is remembered and replayed, in that order of kinds, before the circuit closes
 * again. Until then the cold store is not read: for a key whose delete is pending, and for every key
 * while a time, a record or a pattern is pending (any entry there could be one they invalidate). A
 * failed write is remembered as a delete: the row may hold an older value, so it is removed.
 * What is pending lives in this process: an instance that dies during a PostgreSQL outage loses its
 * list (the log says how much was pending); documented in the README's guarantees.
 *
 * A refusal (PostgreSQL up but read-only, full, not permitted; `options.refusal`) is logged once per kind
 * with what to change, and its end once, when a change lands again. A readable one is not counted by the
 * breaker (reads go on, under the rule above); any other opens it at once, without the outage's lines.
 */
export class ColdGuard {
  readonly breaker: CircuitBreaker;
  private readonly deletes = new Set<string>();
  private readonly times = new Map<string, number>();
  private timesRetention = 0;
  private readonly tracks = new Map<string, number>();
  private readonly patterns = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private disposed = false;
  private everConnected = false;
  private readonly refusals: StoreRefusals | undefined;
  /** The breaker was opened by a refusal and has not closed since: its lines are the refusal's. */
  private refused = false;

  constructor(private readonly options: ColdGuardOptions) {
    this.refusals = options.refusal && new StoreRefusals(options.refusal, options.logger, coldWording(options.probeInterval), options.now);
    // A refusal while probing or replaying keeps the circuit open (the schema may need a write, and a refused
    // replay leaves rows unchecked), but it is told: at startup nothing else would say why.
    const told = <T>(work: Promise<T>) => work.catch((error: unknown) => (this.refusals?.seen(error), Promise.reject(error)));
    this.breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      probeInterval: options.probeInterval,
      probe: () => told(this.bounded(options.probe)),
      beforeClose: () => told(this.replay()),
      onStateChange: (state, reason) => this.logState(state, reason),
    });
    this.breaker.startOpen('not connected yet');
  }

  /** Waits (at most `timeoutMs`) for a first successful probe; false when PostgreSQL is not there yet. */
  async connect(timeoutMs: number): Promise<boolean> {
    const probing = this.breaker.probeNow();
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    return Promise.race([probing, timer]);
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  /** Changes waiting to be replayed into the cold store. */
  get pending(): number {
    return this.deletes.size + this.times.size + this.tracks.size + this.patterns.size;
  }

  /** The cold store may be read for `key` now. */
  readable(key: string): boolean {
    return this.breaker.isClosed && this.times.size === 0 && this.tracks.size === 0 && this.patterns.size === 0 && !this.deletes.has(key);
  }

  /** Runs `op` behind the breaker and the deadline; its fallback when refused or failed (counted, never thrown). */
  async call<T, F>(op: () => Promise<T>, fallback: F, key?: string): Promise<T | F> {
    if (!this.breaker.isClosed) return fallback;
    try {
      const result = await this.bounded(op);
      this.breaker.succeeded();
      return result;
    } catch (error) {
      this.failed(error, key);
      return fallback;
    }
  }

  /** A change: run now, or remembered (by `remember`) for the replay when refused or failed. True when it ran. */
  async change(op: () => Promise<unknown>, remember: () => void, key?: string): Promise<boolean> {
    const done = await this.call(async () => (await op(), true), false, key);
    if (done) this.refusals?.accepted();
    else {
      remember();
      this.flushSoon();
    }
    return done;
  }

  /**
   * A change too important to skip while the circuit is open (an invalidation time, a dependency
   * record): another instance whose circuit is closed may read the rows it covers meanwhile. Tried even
   * then (bounded by the deadline, so at most that long during an outage), remembered when it fails.
   */
  async force(op: () => Promise<unknown>, remember: () => void, key?: string): Promise<boolean> {
    try {
      await this.bounded(op);
      this.breaker.succeeded();
      // Run even while the circuit is open: one table taking writes does not end a refusal that keeps it
      // open (a role granted the times table only); the replay that closes it tells the end.
      if (this.breaker.isClosed) this.refusals?.accepted();
      return true;
    } catch (error) {
      this.failed(error, key);
      remember();
      this.flushSoon();
      return false;
    }
  }

  rememberDeletes(keys: readonly string[]): void {
    for (const key of keys) this.deletes.add(key);
  }

  rememberTimes(times: ReadonlyMap<string, number>, retentionMs: number): void {
    for (const [id, time] of times) this.times.set(id, Math.max(time, this.times.get(id) ?? 0));
    this.timesRetention = Math.max(this.timesRetention, retentionMs);
  }

  rememberTracks(ids: readonly string[], ttlMs: number): void {
    for (const id of ids) this.tracks.set(id, Math.max(ttlMs, this.tracks.get(id) ?? 0));
  }

  rememberPattern(pattern: string): void {
    this.patterns.add(pattern);
  }

  dispose(): void {
    this.disposed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.breaker.dispose();
    this.refusals?.dispose();
    if (this.pending > 0) {
      this.options.logger.warn(`PostgreSQL cold tier: closing with ${this.pending} changes that never reached it (the rows they concern may be stale)`);
    }
  }

  /** A failed call: counted by the breaker, unless it is a refusal (readable: not counted; else open at once). */
  private failed(error: unknown, key: string | undefined): void {
    const refusal = this.refusals?.seen(error);
    if (refusal === undefined) this.breaker.failure(error);
    else if (!refusal.readable && this.breaker.isClosed) {
      this.refused = true;
      this.breaker.trip(describeError(error));
    }
    this.options.onError?.(error, key);
  }

  private bounded<T>(op: () => Promise<T>): Promise<T> {
    const ms = this.options.deadline;
    let timer: NodeJS.Timeout | undefined;
    const running = op();
    running.catch(() => undefined); // past the deadline nobody awaits it
    return Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ColdTimeoutError(ms)), ms);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Replays while the circuit stays closed (a closed circuit with a few failures never probes). */
  private flushSoon(): void {
    if (this.disposed || this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.breaker.isClosed || this.flushing || this.pending === 0) return;
      this.flushing = this.call(() => this.replay(), undefined).finally(() => {
        this.flushing = undefined;
        if (this.pending > 0) this.flushSoon();
      });
    }, this.options.probeInterval);
    this.flushTimer.unref();
  }

  private async replay(): Promise<void> {
    const replay = this.options.replay;
    const refusing = this.refusals?.refusing === true;
    const times = new Map(this.times);
    if (times.size > 0) await replay.times(times, this.timesRetention);
    for (const [id, time] of times) if (this.times.get(id) === time) this.times.delete(id);
    // One statement for all: each record kept the longest any of them asked for (longer is harmless).
    const tracks = [...this.tracks];
    if (tracks.length > 0) await replay.track(tracks.map(([id]) => id), Math.max(...tracks.map(([, ttl]) => ttl)));
    for (const [id, ttl] of tracks) if (this.tracks.get(id) === ttl) this.tracks.delete(id);
    const patterns = [...this.patterns];
    for (const pattern of patterns) {
      await replay.patterns(pattern);
      this.patterns.delete(pattern);
    }
    const keys = [...this.deletes];
    for (let i = 0; i < keys.length; i += 500) await replay.deletes(keys.slice(i, i + 500));
    for (const key of keys) this.deletes.delete(key);
    const total = times.size + tracks.length + patterns.length + keys.length;
    if (total === 0) return;
    this.refusals?.accepted();
    // Left out while refusals flap: the end of the refusal, once it lasts, is told instead.
    if (this.refusals?.refusing === true) return;
    this.options.logger.log(`PostgreSQL cold tier: replayed ${total} changes made while it was ${refusing ? 'refusing them' : 'unreachable'}`);
  }

  private logState(state: BreakerState, reason: string): void {
    this.options.onStateChange?.(state, reason);
    // Opened by a refusal, which its line told, as 'takes writes again' tells its end.
    if (this.refused) {
      if (state === 'closed') {
        this.refused = false;
        // Probe and replay went through (perhaps with nothing to replay): the refusal is over, and the
        // next one of its kind must be told again.
        this.refusals?.accepted();
      }
      return;
    }
    if (state === 'open') {
      this.options.logger.warn(`PostgreSQL cold tier unavailable (${reason}): serving from L1, Redis and factories; probing every ${this.options.probeInterval} ms`);
    } else if (state === 'closed') {
      this.options.logger.log(this.everConnected ? 'PostgreSQL cold tier available again' : 'PostgreSQL cold tier connected');
      this.everConnected = true;
    }
  }
}
