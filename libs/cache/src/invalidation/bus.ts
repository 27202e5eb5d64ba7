import type { LoggerService } from '@nestjs/common';
import { compareIds } from '../core/stream-id';
import type { BusTransport } from '../ports/bus-transport';
import { KeyChangeBatch } from './key-change-batch';
import { ownPosition } from './own-message';

/**
 * What one instance tells the others after a change reached Redis. Short field names: every instance
 * receives every message.
 */
export interface BusMessage {
  /** Origin instance id: an instance ignores its own messages. */
  o: string;
  /** Full keys whose L1 copies must go (delete, set of an existing key). */
  k?: string[];
  /** For a write: the creation time of what was written under `k` (older copies must go, not that one). */
  c?: number;
  /** Invalidation ids (tags, namespaces, dependencies) and their times. */
  t?: Array<[string, number]>;
  /** SCAN patterns (full, escaped): L1 keys matching them must go. */
  p?: string[];
  /** Drop every L1 entry and forget every time: more changes failed to be announced than could be listed. */
  a?: 1;
  /** When it was sent (epoch ms, sub-millisecond), to measure the bus delay. */
  at: number;
  /** Set by Redis on the way out: the epoch of the bus log and the message's id in it. */
  e?: string;
  i?: string;
}

export type BusChange = Omit<BusMessage, 'o' | 'at' | 'e' | 'i'>;

/** How a gap in the subscription was closed. */
export interface BusCatchUp {
  /**
   * True when messages may have been missed for good (the log was trimmed past what this instance had
   * seen, or lost with Redis while Redis kept running, or this is the first subscription): the listener
   * must then stop trusting what it holds. False when every message of the gap was read back from the log.
   */
  lost: boolean;
  /** Messages read back from the log (each already given to `message`). */
  recovered: number;
}
export type BusState = 'up' | 'down' | 'disabled';

export interface BusListener {
  /** A message from another instance. */
  message(message: BusMessage): void;
  /**
   * The subscription is gone (socket closed, or `silent`: a PING unanswered): messages may be lost from
   * now on. Returns what the listener does about it, for the log line.
   */
  down(reason: string, silent: boolean): string;
  /** Subscribed (again), and the gap closed: from the log, or (`lost`) not, and the listener reconciles. */
  up(catchUp: BusCatchUp): void;
}

export interface BusOptions {
  /** Messages the log keeps; 0: no log (every gap clears L1). */
  logSize: number;
  instanceId: string;
  /** How often what could not be published is tried again; with `pingTimeout`, how long a gap may go unnoticed. */
  pingInterval: number;
  pingTimeout: number;
  logger: LoggerService;
}

/** Wall-clock time with sub-millisecond precision, comparable across processes on one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The cross-instance invalidation bus (see docs/ARCHITECTURE.md): messages over a `BusTransport`
 * (Redis pub/sub, or in process), backed by a short log so that a gap in the subscription can be closed
 * exactly instead of by forgetting everything.
 *
 * Pub/sub is at-most-once, so the bus watches for gaps: the transport says `down` when the subscription
 * is lost. Once it is confirmed again, the bus reads the log from the last id it had seen (everything
 * published before the subscription is in the log, everything after arrives as messages) and hands
 * those messages to the listener before `up`:
 *
 * - same epoch, nothing trimmed past the last id seen: the gap is closed exactly (`lost: false`);
 * - trimmed past it (a gap longer than the log), or the log gone while the server kept running
 *   (flushed, evicted): `lost: true`, the listener clears;
 * - the log gone because the server itself restarted during the gap (its uptime is shorter than the
 *   gap): every message the old server acknowledged had been pushed to this subscriber in the same
 *   event-loop turn, and every change that was not acknowledged is replayed by its publisher into the
 *   new log, so the new log is read from its start (`lost: false`). The one window left: a SIGKILL
 *   between the two socket writes of one PUBLISH (microseconds).
 *
 * A message that could not be published (the store failed between the change and its announcement) is
 * kept and published again once the transport can publish; past `MAX_UNSENT_KEYS` keys they collapse
 * into one "drop everything" message.
 */
export class InvalidationBus {
  private retryTimer: NodeJS.Timeout | undefined;
  private subscribed = false;
  private started = false;
  private closed = false;
  private downSince: number | undefined = preciseNow();
  private readonly waiters = new Set<() => void>();
  /** The last log entry seen (by its epoch and id); undefined before the first catch-up. */
  private cursor: { epoch: string; id: string } | undefined;
  /** `cursor` when the subscription was last lost: where the catch-up reads from. */
  private seenBeforeGap: { epoch: string; id: string } | undefined;
  /** What the last catch-up found, handed to the listener on `up`. */
  private caughtUp: BusCatchUp = { lost: true, recovered: 0 };
  /** The last catch-up closed a gap (not the first subscription): worth a log line. */
  private closedGap = false;
  private readonly unsent = new UnsentChanges();
  /** Key changes of this tick, merged in runs and sent at its end (see `send`). */
  private readonly keyChanges = new KeyChangeBatch((change) => this.sendNow(change));
  private resending: Promise<void> | undefined;
  private stopListening: (() => void) | undefined;

  constructor(
    readonly transport: BusTransport,
    private readonly options: BusOptions,
    private readonly listener: BusListener,
  ) {}

  get state(): BusState {
    return this.subscribed ? 'up' : 'down';
  }

  get up(): boolean {
    return this.subscribed;
  }

  /** Changes waiting to be published again (keys, times and patterns). */
  get pendingAnnouncements(): number {
    return this.unsent.size;
  }

  start(): void {
    if (this.closed || this.started) return;
    this.started = true;
    this.transport.subscribe({
      message: (text) => this.receive(text),
      down: (reason, silent) => this.markDown(reason, silent),
      catchUp: async () => {
        // Read before the catch-up, which moves the cursor: a first subscription is no gap to report.
        const gap = this.seenBeforeGap !== undefined || this.cursor !== undefined;
        this.caughtUp = await this.catchUp();
        this.closedGap = gap;
      },
      up: () => this.markUp(),
    });
    this.retryTimer = setInterval(() => void this.resend(), this.options.pingInterval);
    this.retryTimer.unref();
    this.stopListening = this.transport.onPublishable(this.onPublishable);
  }

  /** The transport can publish (again): publish what waits, and resubscribe now rather than after a backoff. */
  private readonly onPublishable = (): void => {
    void this.resend();
    this.transport.resubscribeNow();
  };

  /** Resolves true once subscribed, false after `timeoutMs`. */
  waitUntilUp(timeoutMs: number): Promise<boolean> {
    if (this.subscribed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(onUp);
        resolve(ok);
      };
      const onUp = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.waiters.add(onUp);
    });
  }

  /**
   * Publishes a change (unless `tryNow` is false); never throws. When it cannot be published, `unsent`
   * (what of it is not covered otherwise, see `L1Coherence.announce`) is kept and published again once
   * the transport can publish.
   */
  async publish(change: BusChange, unsent: (change: BusChange) => BusChange = (c) => c, tryNow = true): Promise<boolean> {
    if (tryNow && (await this.send(change))) return true;
    if (!this.closed) this.unsent.add(unsent(change));
    return false;
  }

  async close(): Promise<void> {
    this.keyChanges.flush(); // sent before the transport closes (its connection keeps the order)
    this.closed = true;
    this.stopListening?.();
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    this.subscribed = false;
    for (const waiter of this.waiters) waiter();
    await this.transport.close();
  }

  /**
   * Key changes alone (writes and deletes) join this tick's batch (`KeyChangeBatch`: one message per run
   * of one creation time, in call order); any other change first sends the keys queued before it, so
   * messages keep the order of the calls.
   */
  private send(change: BusChange): Promise<boolean> {
    const queued = this.keyChanges.add(change);
    if (queued !== undefined) return queued;
    this.keyChanges.flush();
    return this.sendNow(change);
  }

  private async sendNow(change: BusChange): Promise<boolean> {
    const message: BusMessage = { o: this.options.instanceId, ...change, at: preciseNow() };
    try {
      await this.transport.publish(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  /** Publishes what could not be published before, once the transport can; one attempt at a time. */
  private resend(): Promise<void> {
    if (this.unsent.size === 0 || this.closed || this.resending || !this.transport.publishable) return this.resending ?? Promise.resolve();
    const change = this.unsent.take();
    this.keyChanges.flush();
    this.resending = this.sendNow(change)
      .then((sent) => {
        if (!sent) this.unsent.add(change);
        else this.options.logger.log('Invalidation bus: published the changes that could not be announced while Redis failed');
      })
      .finally(() => (this.resending = undefined));
    return this.resending;
  }

  private markUp(): void {
    if (this.closed) return;
    this.subscribed = true;
    const catchUp = this.caughtUp;
    const downFor = this.downSince === undefined ? 0 : preciseNow() - this.downSince;
    const wasUp = this.closedGap;
    this.downSince = undefined;
    this.seenBeforeGap = undefined;
    this.listener.up(catchUp);
    for (const waiter of [...this.waiters]) waiter();
    if (downFor > 0 && wasUp) {
      this.options.logger.log(
        `Invalidation bus: subscribed again after ${Math.round(downFor)} ms; ` +
          (catchUp.lost ? 'messages were lost, L1 cleared' : `${catchUp.recovered} messages read back from the log`),
      );
    }
    void this.resend();
  }

  /**
   * Reads what was published during the gap from the log and gives it to the listener; says whether
   * anything may have been missed for good (see the class comment).
   */
  private async catchUp(): Promise<BusCatchUp> {
    const before = this.seenBeforeGap ?? this.cursor;
    if (this.options.logSize === 0) return { lost: true, recovered: 0 };
    const gapMs = this.downSince === undefined ? 0 : preciseNow() - this.downSince;
    let page = await this.transport.readLog(before?.id ?? '0-0', CATCH_UP_PAGE);
    const epoch = page.epoch;
    const lost = (): BusCatchUp => {
      this.advance(epoch, page.lastId);
      return { lost: true, recovered: 0 };
    };
    // The first subscription: nothing to catch up with, and nothing known about what L1 holds.
    if (before === undefined) return lost();
    if (page.created || epoch !== before.epoch) {
      // The log is gone. The server restarted during the gap: read the new log from its start. It kept
      // running (flushed, evicted): what was in it is lost.
      const restarted = page.uptime * 1000 <= gapMs + this.options.pingInterval + this.options.pingTimeout + 1000;
      if (!restarted) return lost();
      if (!page.created) page = await this.transport.readLog('0-0', CATCH_UP_PAGE);
    } else if (!page.intact) {
      // Trimmed past what we had seen (a gap longer than the log), or gone back (a failover lost its
      // last entries, the one we saw last among them): what was missed cannot be told.
      return lost();
    }
    let recovered = 0;
    let after = page.created ? '0-0' : before.epoch === epoch ? before.id : '0-0';
    for (;;) {
      for (const [id, text] of page.entries) {
        if (this.receive(text, id)) recovered += 1;
        after = id;
      }
      if (page.entries.length < CATCH_UP_PAGE) break;
      page = await this.transport.readLog(after, CATCH_UP_PAGE);
      if (page.epoch !== epoch) return lost(); // replaced while we read it
    }
    this.advance(epoch, after);
    return { lost: false, recovered };
  }

  private markDown(reason: string, silent: boolean): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.downSince = preciseNow();
    this.seenBeforeGap = this.cursor;
    const effect = this.listener.down(reason, silent);
    if (!this.closed) this.options.logger.warn(`Invalidation bus down (${reason}): ${effect}`);
  }

  private advance(epoch: string, id: string): void {
    const cursor = this.cursor;
    if (cursor === undefined || cursor.epoch !== epoch || compareIds(id, cursor.id) > 0) this.cursor = { epoch, id };
  }

  /** Applies one message (from the channel, or from the log with its id); true when it was another instance's. */
  private receive(text: string, logId?: string): boolean {
    const own = logId === undefined ? ownPosition(text, this.options.instanceId) : undefined;
    if (own !== undefined) {
      this.advance(own[0], own[1]);
      return false;
    }
    let message: BusMessage;
    try {
      message = JSON.parse(text) as BusMessage;
    } catch {
      return false;
    }
    if (!isMessage(message)) return false;
    if (logId === undefined && message.e !== undefined && message.i !== undefined) this.advance(message.e, message.i);
    if (message.o === this.options.instanceId) return false;
    this.listener.message(message);
    return true;
  }
}
/** Log entries read per round trip while catching up. */
const CATCH_UP_PAGE = 500;

/** Past this many keys, changes waiting to be published collapse into one "drop everything" message. */
const MAX_UNSENT_KEYS = 10_000;

/** Changes that could not be published, merged: keys, the latest time per id, patterns. */
class UnsentChanges {
  private keys = new Set<string>();
  private times = new Map<string, number>();
  private patterns = new Set<string>();
  private all = false;

  get size(): number {
    return this.all ? 1 : this.keys.size + this.times.size + this.patterns.size;
  }

  add(change: BusChange): void {
    if (change.a === 1) this.all = true;
    if (this.all) return this.reset();
    for (const key of change.k ?? []) this.keys.add(key);
    for (const [id, time] of change.t ?? []) this.times.set(id, Math.max(time, this.times.get(id) ?? 0));
    for (const pattern of change.p ?? []) this.patterns.add(pattern);
    if (this.keys.size + this.times.size + this.patterns.size > MAX_UNSENT_KEYS) {
      this.all = true;
      this.reset();
    }
  }

  /** Everything waiting, as one change (a write's creation time is not kept: every copy is dropped). */
  take(): BusChange {
    const change: BusChange = this.all
      ? { a: 1 }
      : {
          ...(this.keys.size > 0 && { k: [...this.keys] }),
          ...(this.times.size > 0 && { t: [...this.times] }),
          ...(this.patterns.size > 0 && { p: [...this.patterns] }),
        };
    this.all = false;
    this.reset();
    return change;
  }

  private reset(): void {
    this.keys = new Set();
    this.times = new Map();
    this.patterns = new Set();
  }
}

/** Anyone who can reach Redis can publish: a malformed message is ignored, never allowed to throw. */
function isMessage(value: unknown): value is BusMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  const strings = (list: unknown) => list === undefined || (Array.isArray(list) && list.every((x) => typeof x === 'string'));
  const times = m.t === undefined || (Array.isArray(m.t) && m.t.every((x) => Array.isArray(x) && typeof x[0] === 'string' && typeof x[1] === 'number'));
  const optional = (field: unknown, type: string) => field === undefined || typeof field === type;
  return (
    typeof m.o === 'string' &&
    typeof m.at === 'number' &&
    optional(m.c, 'number') &&
    optional(m.e, 'string') &&
    optional(m.i, 'string') &&
    (m.a === undefined || m.a === 1) &&
    strings(m.k) &&
    strings(m.p) &&
    times
  );
}
