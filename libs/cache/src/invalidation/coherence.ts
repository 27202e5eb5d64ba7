import { isDeepStrictEqual } from 'node:util';
import type { L2Facade } from '../tiers/l2.facade';
import type { MemoryTier } from '../tiers/memory.tier';
import { type BusCatchUp, type BusChange, type BusListener, type BusMessage, type BusState, type InvalidationBus, preciseNow } from './bus';
import type { InvalidationTimes } from './invalidation-times';
import type { CacheEntry } from '../core/entry';
import { globMatcher } from '../core/glob';


/** Where the coherence layer reports bus traffic (`CacheTelemetry` implements it, for stats and metrics). */
export interface BusMeter {
  busPublished(): void;
  busReceived(): void;
  /** The bus came back after a gap, and L1 was reconciled: `recovered` messages read back from the log, or cleared. */
  busReconnected(recovered: number, cleared: boolean): void;
  /** Publish-to-apply delay of one message received, in ms. */
  busDelay(ms: number): void;
}

/**
 * Keeps this instance's L1 and its known invalidation times in step with the other instances
 * (see docs/ARCHITECTURE.md). It applies what the bus brings, announces what this instance changed, and
 * decides when L1 can be trusted at all:
 *
 * - bus up: L1 is trusted; a message from another instance drops the keys it names (or matches) and
 *   records the invalidation times it carries.
 * - bus down while Redis answers: messages may be getting lost, so L1 is bypassed (reads go to Redis)
 *   and invalidation times are read from Redis on every load. The bound on serving an invalidated value
 *   is therefore the time it takes to notice the bus is down: at once for a closed socket, at most
 *   `pingInterval + 2 × pingTimeout` for a silent one (its PING unanswered, then one PING on the main
 *   connection to tell a dead subscription from a Redis that answers nobody).
 * - bus silent because Redis itself does not answer (frozen, cut off): nobody's invalidation can land in
 *   it, so L1 stays trusted, as with Redis gone; reads of keys fresh in L1 never wait on Redis.
 * - bus back: what was published meanwhile is read back from the bus log and applied before L1 is
 *   trusted again; only when the log cannot close the gap (see `InvalidationBus`) is L1 cleared and
 *   every known time forgotten.
 * - Redis itself unreachable: nobody can invalidate through it, and the cache degrades as it always
 *   does: L1 serves. Invalidations made meanwhile are replayed and announced once Redis is
 *   back, and the bus reconciles when it resubscribes.
 *
 * A read from Redis that was in flight while another instance's message dropped its key may have fetched
 * the bytes just deleted: `mark()` before the read and `mayPromote()` after it say whether what it read
 * may still go into L1 (see there).
 */
export class L1Coherence implements BusListener {
  private bus: InvalidationBus | undefined;
  private everUp = false;
  /** Redis itself was unreachable during the current gap of the bus (see `trustL1`). */
  private redisGap = false;
  /** When Redis answered again during such a gap (performance.now()), and how long L1 is trusted after that. */
  private redisBackAt: number | undefined;
  private gapGraceMs = 0;
  /** How long a PING of the main connection may take before Redis is taken as not answering. */
  private checkTimeoutMs = 0;
  /** The bus went silent: the first PING of the main connection is in flight (see `checkRedis`). */
  private checking = false;
  private watching = false;
  private detached = false;
  /** Moves on every drop this instance is told about. */
  private seq = 0;
  /** `seq` at the last drop of everything (reconcile, pattern, forgotten drops). */
  private wipedAt = 0;
  /** The last drop of each key: its `seq`, and the oldest entry that may still be kept (set) or none (delete). */
  private readonly drops = new Map<string, { seq: number; floor: number }>();
  /** Publish-to-apply delays of the last messages received (ms; across hosts this includes clock skew). */
  private readonly delays = new Float64Array(1024);
  private delayCount = 0;

  constructor(
    private readonly l1: MemoryTier | undefined,
    private readonly l2: L2Facade | undefined,
    private readonly times: InvalidationTimes,
    private readonly meter: BusMeter,
  ) {}

  /**
   * `gapGraceMs`: how long after Redis answers again L1 stays trusted while the bus has not caught up
   * (see `trustL1`); past it, L1 is bypassed like in any other gap of the bus.
   */
  attach(bus: InvalidationBus, gapGraceMs: number, checkTimeoutMs = gapGraceMs): void {
    this.bus = bus;
    this.gapGraceMs = gapGraceMs;
    this.checkTimeoutMs = checkTimeoutMs;
    this.times.trusted = bus.up;
    this.unwatch = this.l2?.watchConnection((state) => (state === 'down' ? this.onRedisClosed() : this.onRedisReady()));
  }

  /** Stops listening to the store's connection (which may be the caller's client, and outlive this cache). */
  detach(): void {
    this.detached = true;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private unwatch: (() => void) | undefined;

  private onRedisClosed(): void {
    if (this.bus !== undefined && !this.bus.up) this.markRedisGap();
  }

  private onRedisReady(): void {
    if (this.redisGap) this.redisBackAt = performance.now();
  }

  private markRedisGap(): void {
    this.redisGap = true;
    this.redisBackAt = undefined;
  }

  get busState(): BusState {
    return this.bus === undefined ? 'disabled' : this.bus.state;
  }

  /**
   * Whether an L1 entry may be served (hot path: one field read when the bus is up). The bus down while
   * Redis answers: bypass L1. With Redis itself gone (breaker open, or the client reconnecting), nobody
   * can invalidate through it, and L1 is what keeps the app answering; it stays trusted after Redis
   * answers again until the bus has resubscribed and read the gap back from its log (the subscriber
   * reconnects as soon as the main connection does): bypassing L1 then would send every read to a Redis
   * that may have restarted empty. An invalidation another instance makes in that window (Redis back,
   * the bus not yet) reaches this L1 when the bus catches up, like any message, a little later. If the
   * bus has not caught up `gapGraceMs` after Redis answered, L1 is bypassed as in any gap of the bus.
   */
  get trustL1(): boolean {
    const bus = this.bus;
    if (bus === undefined || bus.up) return true;
    if (this.l2 === undefined || !this.l2.available || !this.l2.connected || this.checking) return true;
    return this.redisGap && (this.redisBackAt === undefined || performance.now() - this.redisBackAt < this.gapGraceMs);
  }

  /** Taken before a read from Redis (or a write) whose result may go into L1. */
  mark(): number {
    return this.seq;
  }

  /**
   * Whether an entry read from Redis after `mark` may be put into L1: yes unless its key was dropped
   * since, by a delete or by a write of something newer than it (a write message carries the creation
   * time of what it wrote, so reading that very write back is fine). A copy of the same millisecond may
   * also be a write the announced one replaced: it is promoted and then checked (see `settleTie`).
   */
  mayPromote(key: string, createdAt: number, mark: number): boolean {
    if (this.seq === mark) return true;
    if (this.wipedAt > mark) return false;
    const drop = this.drops.get(key);
    if (drop === undefined || drop.seq <= mark || createdAt > drop.floor) return true;
    if (createdAt < drop.floor) return false;
    void this.settleTie(key, createdAt);
    return true;
  }

  /**
   * Whether this instance's own write, begun at `mark`, may go into L1: not if another one dropped the
   * key meanwhile. A gap of the bus alone refuses it (a drop may have been missed); with Redis itself
   * gone nobody can drop anything through it, so a value computed here is kept (else every write in
   * flight when Redis dies is computed again).
   */
  mayStore(key: string, mark: number): boolean {
    if (this.seq === mark) return true;
    if (this.wipedAt > mark && !this.redisGap) return false;
    const drop = this.drops.get(key);
    return drop === undefined || drop.seq <= mark;
  }

  /**
   * Tells the other instances about a change that has reached Redis. If it cannot be published, it is
   * published later (see `InvalidationBus.publish`), except the keys and times whose own write failed
   * too: Redis replays those and announces them then.
   */
  async announce(change: BusChange): Promise<void> {
    if (this.bus === undefined) return;
    if ((change.k?.length ?? 0) + (change.t?.length ?? 0) + (change.p?.length ?? 0) === 0) return;
    // With the circuit open, the publish would only wait for its timeout: keep it for later at once.
    const now = this.l2 === undefined || this.l2.available;
    if (await this.bus.publish(change, (c) => this.notReplayed(c), now)) this.meter.busPublished();
  }

  private notReplayed(change: BusChange): BusChange {
    const l2 = this.l2;
    if (l2 === undefined) return change;
    return {
      ...(change.k && { k: change.k.filter((key) => !l2.replays(key)) }),
      ...(change.t && { t: change.t.filter(([id]) => !l2.timePending(id)) }),
      ...(change.p && { p: change.p }),
    };
  }

  /** Drops L1 keys matching a SCAN pattern in this instance; returns how many. */
  dropMatching(pattern: string): number {
    if (this.l1 === undefined) return 0;
    const matches = globMatcher(pattern);
    let dropped = 0;
    for (const key of [...this.l1.keys()]) {
      if (!matches(key)) continue;
      this.l1.remove(key);
      dropped += 1;
    }
    return dropped;
  }

  message(message: BusMessage): void {
    this.meter.busReceived();
    const received = preciseNow();
    if (message.t) for (const [id, time] of message.t) this.times.apply(id, time);
    if (message.k) {
      const floor = typeof message.c === 'number' ? message.c : Number.POSITIVE_INFINITY;
      for (const key of message.k) {
        this.seq += 1;
        this.drops.set(key, { seq: this.seq, floor });
        // A copy of the announced write itself (read back from Redis before the message came) or of
        // something newer stays: only older copies must go. One of the same millisecond may be either
        // that write or one it replaced: Redis tells (see `settleTie`).
        const held = this.l1?.createdAtOf(key);
        if (held === undefined || held > floor) continue;
        if (held < floor) this.l1!.remove(key);
        else void this.settleTie(key, held);
      }
      // Bounded: forgetting old drops is safe as long as reads begun before are treated as wiped.
      if (this.drops.size > 10_000) this.wipe();
    }
    if (message.p) {
      this.wipe();
      for (const pattern of message.p) this.dropMatching(pattern);
    }
    if (message.a === 1) this.forgetAll();
    const delay = received - message.at;
    if (Number.isFinite(delay)) {
      this.delays[this.delayCount++ % this.delays.length] = delay;
      this.meter.busDelay(delay);
    }
  }

  /**
   * An L1 copy created in the same millisecond as a write another instance announced may be that write
   * or one it replaced (two writes within a millisecond carry one time, on any clock): it stays only if
   * it is what Redis holds now. If Redis cannot be asked, it stays, as L1 does through any outage.
   */
  private async settleTie(key: string, createdAt: number): Promise<void> {
    const { l1, l2 } = this;
    if (l1 === undefined || l2 === undefined) return;
    let stored: CacheEntry | undefined;
    try {
      stored = await l2.tier.get(key);
    } catch {
      return;
    }
    const held = l1.peek(key);
    if (held === undefined || held.createdAt !== createdAt) return; // changed meanwhile: not this copy any more
    if (stored === undefined || !sameEntry(held, stored)) l1.remove(key);
  }

  /** The bus delay (publish on another instance to applied here) over the last 1024 messages. */
  delayPercentiles(): { p50: number; p99: number } {
    const n = Math.min(this.delayCount, this.delays.length);
    if (n === 0) return { p50: 0, p99: 0 };
    const sorted = this.delays.slice(0, n).sort();
    const at = (q: number) => Math.round(sorted[Math.min(n - 1, Math.floor(q * n))] * 100) / 100;
    return { p50: at(0.5), p99: at(0.99) };
  }

  /** Returns what this means for L1, for the log. `silent`: a PING went unanswered, the socket may be fine. */
  down(_reason: string, silent = false): string {
    this.times.trusted = false;
    this.wipe();
    if (this.l2 !== undefined && !this.l2.connected) {
      this.markRedisGap();
      return 'Redis does not answer either, so L1 keeps serving';
    }
    if (!silent || this.l2 === undefined) return 'L1 is bypassed until it is back';
    void this.checkRedis(this.l2);
    return 'L1 keeps serving while Redis itself does not answer, and is bypassed if it does';
  }

  /**
   * The bus went silent while the main connection is open: one PING on it tells a dead subscription (Redis
   * answers: a plain gap of the bus) from a Redis that answers nobody (frozen, cut off: a gap of Redis, L1
   * trusted). In the second case Redis is pinged until it answers, which starts the grace of `trustL1`.
   */
  private async checkRedis(l2: L2Facade): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    this.checking = true;
    try {
      const answered = await this.pingRedis(l2);
      this.checking = false;
      if (answered) return;
      this.markRedisGap();
      for (;;) {
        // Not connected any more: its 'ready' reports Redis back then.
        if (this.detached || this.bus === undefined || this.bus.up || !l2.connected) return;
        if (await this.pingRedis(l2)) {
          this.redisBackAt = performance.now();
          return;
        }
        await pause(Math.min(this.checkTimeoutMs, 100));
      }
    } finally {
      this.checking = false;
      this.watching = false;
    }
  }

  private async pingRedis(l2: L2Facade): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.checkTimeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([l2.ping().then(() => true, () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  up(catchUp: BusCatchUp): void {
    // Messages of the gap were applied as they were read back; if some may be lost for good, trust
    // nothing held before.
    this.wipe();
    if (catchUp.lost) this.forgetAll();
    this.times.trusted = true;
    this.redisGap = false;
    if (this.everUp) this.meter.busReconnected(catchUp.recovered, catchUp.lost);
    this.everUp = true;
  }

  private forgetAll(): void {
    this.wipe();
    this.l1?.clear();
    this.times.forget();
  }

  private wipe(): void {
    this.seq += 1;
    this.wipedAt = this.seq;
    this.drops.clear();
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Two copies of one key that are interchangeable: same times, tags and value. */
function sameEntry(a: CacheEntry, b: CacheEntry): boolean {
  return a.createdAt === b.createdAt && a.expiresAt === b.expiresAt && a.staleUntil === b.staleUntil && isDeepStrictEqual(a.tags, b.tags) && isDeepStrictEqual(a.value, b.value);
}
