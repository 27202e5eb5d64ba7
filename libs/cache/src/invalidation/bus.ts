import type { LoggerService } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { describeError } from '../resilience/circuit-breaker';
import { isCluster } from '../tiers/redis.connection';
import { type RedisTier, script } from '../tiers/redis.tier';

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
  channel: string;
  /** The bus log (a capped stream) and its epoch; two keys in one slot (`{hash tag}`), so one script sees both. */
  logKey: string;
  epochKey: string;
  /** Messages the log keeps; 0: no log (every gap clears L1). */
  logSize: number;
  instanceId: string;
  /** How often the subscriber connection is pinged; a dead socket is noticed within `pingInterval + pingTimeout`. */
  pingInterval: number;
  pingTimeout: number;
  logger: LoggerService;
}

/** Wall-clock time with sub-millisecond precision, comparable across processes on one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The cross-instance invalidation bus (DESIGN §5): Redis pub/sub, one channel per prefix, backed by a
 * short log so that a gap in the subscription can be closed exactly instead of by forgetting everything.
 *
 * Publishing goes through the main connection (so it is ordered after the write it announces), as one
 * script that appends the message to the log (a stream capped at `logSize`, `XADD MAXLEN ~`) and
 * publishes it stamped with the log's epoch and the entry id. Subscribing needs a connection of its own:
 * a duplicate of the main client with the same safe settings; for a Cluster, a connection to one node
 * (PUBLISH reaches every node of a cluster), moved to another node when that one stops answering.
 *
 * Pub/sub is at-most-once, so the bus watches for gaps: `down` when the socket closes or a PING goes
 * unanswered for `pingTimeout`. Once SUBSCRIBE is confirmed again, it reads the log from the last id it
 * had seen (everything published before the SUBSCRIBE is in the log, everything after arrives on the
 * channel) and hands those messages to the listener before `up`:
 *
 * - same epoch, nothing trimmed past the last id seen: the gap is closed exactly (`lost: false`);
 * - trimmed past it (a gap longer than the log), or the log gone while Redis kept running (flushed,
 *   evicted): `lost: true`, the listener clears;
 * - the log gone because Redis itself restarted during the gap (its uptime is shorter than the gap):
 *   every message the old server acknowledged had been pushed to this subscriber in the same event-loop
 *   turn, and every change that was not acknowledged is replayed by its publisher into the new log, so
 *   the new log is read from its start (`lost: false`). The one window left: a SIGKILL between the two
 *   socket writes of one PUBLISH (microseconds).
 *
 * A message that could not be published (Redis failed between the change and its announcement) is kept
 * and published again once Redis answers; past `MAX_UNSENT_KEYS` keys they collapse into one "drop
 * everything" message.
 */
export class InvalidationBus {
  private subscriber: Redis | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private subscribed = false;
  private closed = false;
  private downSince: number | undefined = preciseNow();
  private readonly waiters = new Set<() => void>();
  /** The last log entry seen (by its epoch and id); undefined before the first catch-up. */
  private cursor: { epoch: string; id: string } | undefined;
  /** `cursor` when the subscription was last lost: where the catch-up reads from. */
  private seenBeforeGap: { epoch: string; id: string } | undefined;
  private readonly unsent = new UnsentChanges();
  private resending: Promise<void> | undefined;

  constructor(
    private readonly tier: RedisTier,
    private readonly options: BusOptions,
    private readonly listener: BusListener,
  ) {}

  get state(): BusState {
    return this.subscribed ? 'up' : 'down';
  }

  get up(): boolean {
    return this.subscribed;
  }

  /** The Redis keys of the bus log and of its epoch. */
  get logKeys(): { log: string; epoch: string } {
    return { log: this.options.logKey, epoch: this.options.epochKey };
  }

  /** Changes waiting to be published again (keys, times and patterns). */
  get pendingAnnouncements(): number {
    return this.unsent.size;
  }

  start(): void {
    if (this.closed || this.subscriber) return;
    this.connect();
    this.pingTimer = setInterval(() => {
      void this.ping();
      void this.resend();
    }, this.options.pingInterval);
    this.pingTimer.unref();
    this.tier.client.on('ready', this.onMainReady);
  }

  /** The main connection is ready (again): publish what waits, and resubscribe now rather than after a backoff. */
  private readonly onMainReady = (): void => {
    void this.resend();
    this.reconnectNow();
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
   * Publishes a change (unless `tryNow` is false); never throws. When Redis does not take it, `unsent`
   * (what of it is not covered otherwise, see `L1Coherence.announce`) is kept and published again once
   * Redis answers.
   */
  async publish(change: BusChange, unsent: (change: BusChange) => BusChange = (c) => c, tryNow = true): Promise<boolean> {
    if (tryNow && (await this.send(change))) return true;
    if (!this.closed) this.unsent.add(unsent(change));
    return false;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.tier.client.off('ready', this.onMainReady);
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pingTimer = undefined;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscribed = false;
    for (const waiter of this.waiters) waiter();
    if (subscriber) discard(subscriber);
  }

  private async send(change: BusChange): Promise<boolean> {
    const message: BusMessage = { o: this.options.instanceId, ...change, at: preciseNow() };
    try {
      await this.tier.evalKeys(PUBLISH_SCRIPT, [this.options.logKey, this.options.epochKey], [
        JSON.stringify(message),
        newEpoch(),
        this.options.logSize,
        this.options.channel,
      ]);
      return true;
    } catch {
      return false;
    }
  }

  /** Publishes what could not be published before, once Redis answers; one attempt at a time. */
  private resend(): Promise<void> {
    if (this.unsent.size === 0 || this.closed || this.resending || this.tier.client.status !== 'ready') return this.resending ?? Promise.resolve();
    const change = this.unsent.take();
    this.resending = this.send(change)
      .then((sent) => {
        if (!sent) this.unsent.add(change);
        else this.options.logger.log('Invalidation bus: published the changes that could not be announced while Redis failed');
      })
      .finally(() => (this.resending = undefined));
    return this.resending;
  }

  private connect(): void {
    if (this.closed) return;
    const subscriber = this.createSubscriber();
    if (subscriber === undefined) {
      // A Cluster client that does not know its nodes yet: try again shortly.
      this.retryTimer = setTimeout(() => this.connect(), Math.min(100, this.options.pingInterval));
      this.retryTimer.unref();
      return;
    }
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // state changes are reported through down/up
    subscriber.on('ready', () => void this.subscribe(subscriber));
    subscriber.on('close', () => this.markDown(subscriber, 'connection closed'));
    subscriber.on('end', () => {
      this.markDown(subscriber, 'connection ended');
      // Its retry strategy gave up (a Cluster node that stopped answering, or a caller's own strategy):
      // start over with a new connection (another node, for a Cluster), after a pause.
      if (!this.closed && this.subscriber === subscriber) {
        this.subscriber = undefined;
        discard(subscriber, false);
        this.retryTimer = setTimeout(() => this.connect(), Math.min(500, this.options.pingInterval));
        this.retryTimer.unref();
      }
    });
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.options.channel && this.subscriber === subscriber) this.receive(text);
    });
  }

  /**
   * Redis answers the main connection again: a subscriber waiting out its reconnect backoff (up to 2 s
   * after a long outage) starts over now, so the gap closes as soon as Redis is back.
   */
  private reconnectNow(): void {
    const subscriber = this.subscriber;
    if (this.closed || subscriber === undefined || this.subscribed || subscriber.status !== 'reconnecting') return;
    this.subscriber = undefined;
    discard(subscriber);
    this.connect();
  }

  private createSubscriber(): Redis | undefined {
    const overrides = {
      connectionName: 'strata:bus',
      lazyConnect: false,
      autoResubscribe: false, // we subscribe on 'ready' ourselves, and catch up once it is confirmed
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: this.options.pingTimeout,
      // A socket that does not close after QUIT/FIN (dead peer) is destroyed after this.
      disconnectTimeout: this.options.pingTimeout,
    };
    const client = this.tier.client;
    if (!isCluster(client)) return client.duplicate(overrides);
    const nodes = client.nodes('master');
    const pool = nodes.length > 0 ? nodes : client.nodes('all');
    if (pool.length === 0) return undefined;
    const node = pool[Math.floor(Math.random() * pool.length)];
    return node.duplicate({ ...overrides, retryStrategy: giveUpAfter(3) });
  }

  private async subscribe(subscriber: Redis): Promise<void> {
    // Read before the catch-up, which moves the cursor: a first subscription is no gap to report.
    const wasUp = this.seenBeforeGap !== undefined || this.cursor !== undefined;
    let catchUp: BusCatchUp;
    try {
      await subscriber.subscribe(this.options.channel);
      if (this.subscriber !== subscriber || this.closed) return;
      // Subscribed first, then the log: whatever was published before the SUBSCRIBE is in the log.
      catchUp = await this.catchUp();
    } catch (error) {
      if (this.subscriber !== subscriber || this.closed) return;
      this.options.logger.warn(`Invalidation bus: subscribing failed (${describeError(error)}); reconnecting`);
      subscriber.disconnect(true);
      return;
    }
    if (this.subscriber !== subscriber || this.closed) return;
    this.subscribed = true;
    const downFor = this.downSince === undefined ? 0 : preciseNow() - this.downSince;
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
    let page = await this.readLog(before?.id ?? '0-0');
    const epoch = page.epoch;
    const lost = (): BusCatchUp => {
      this.advance(epoch, page.lastId);
      return { lost: true, recovered: 0 };
    };
    // The first subscription: nothing to catch up with, and nothing known about what L1 holds.
    if (before === undefined) return lost();
    if (page.created || epoch !== before.epoch) {
      // The log is gone. Redis restarted during the gap: read the new log from its start. Redis kept
      // running (flushed, evicted): what was in it is lost.
      const restarted = page.uptime * 1000 <= gapMs + this.options.pingInterval + this.options.pingTimeout + 1000;
      if (!restarted) return lost();
      if (!page.created) page = await this.readLog('0-0');
    } else if (!page.intact) {
      // Trimmed past what we had seen (a gap longer than the log), or gone back (a failover lost its
      // last entries, the one we saw last among them): what was missed cannot be told.
      return lost();
    }
    let recovered = 0;
    let after = page.created ? '0-0' : before.epoch === epoch ? before.id : '0-0';
    for (;;) {
      for (const [id, fields] of page.entries) {
        const text = fields[1];
        if (typeof text === 'string' && this.receive(text, id)) recovered += 1;
        after = id;
      }
      if (page.entries.length < CATCH_UP_PAGE) break;
      page = await this.readLog(after);
      if (page.epoch !== epoch) return lost(); // replaced while we read it
    }
    this.advance(epoch, after);
    return { lost: false, recovered };
  }

  private async readLog(after: string): Promise<LogPage> {
    const [epoch, created, uptime, lastId, intact, entries] = (await this.tier.evalKeys(
      CATCH_UP_SCRIPT,
      [this.options.logKey, this.options.epochKey],
      [after, CATCH_UP_PAGE, newEpoch()],
    )) as [string, number, number, string, number, Array<[string, string[]]>];
    return { epoch, created: created === 1, uptime, lastId, intact: intact === 1, entries };
  }

  private markDown(subscriber: Redis, reason: string, silent = false): void {
    if (this.subscriber !== subscriber || !this.subscribed) return;
    this.subscribed = false;
    this.downSince = preciseNow();
    this.seenBeforeGap = this.cursor;
    const effect = this.listener.down(reason, silent);
    if (!this.closed) this.options.logger.warn(`Invalidation bus down (${reason}): ${effect}`);
  }

  /** A PING that is not answered in time means the socket is dead even if it never closed: reconnect. */
  private async ping(): Promise<void> {
    const subscriber = this.subscriber;
    if (subscriber === undefined || !this.subscribed) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no PONG within ${this.options.pingTimeout} ms`)), this.options.pingTimeout);
    });
    try {
      await Promise.race([subscriber.ping(), timeout]);
    } catch (error) {
      if (this.subscriber !== subscriber || this.closed) return;
      this.markDown(subscriber, describeError(error), true);
      subscriber.disconnect(true);
    } finally {
      clearTimeout(timer);
    }
  }

  private advance(epoch: string, id: string): void {
    const cursor = this.cursor;
    if (cursor === undefined || cursor.epoch !== epoch || compareIds(id, cursor.id) > 0) this.cursor = { epoch, id };
  }

  /** Applies one message (from the channel, or from the log with its id); true when it was another instance's. */
  private receive(text: string, logId?: string): boolean {
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

/** One page of the log, read while catching up (see CATCH_UP_SCRIPT). */
interface LogPage {
  epoch: string;
  /** There was no epoch: the log was started just now. */
  created: boolean;
  /** The server's uptime, seconds. */
  uptime: number;
  lastId: string;
  /** Nothing after the id read from was trimmed (see CATCH_UP_SCRIPT). */
  intact: boolean;
  entries: Array<[string, string[]]>;
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

function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

/** Orders stream ids (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  const ms = Number(am) - Number(bm);
  return ms !== 0 ? Math.sign(ms) : Math.sign(Number(as ?? 0) - Number(bs ?? 0));
}

// KEYS: log, epoch. ARGV: message (a JSON object), a new epoch should there be none, log size, channel.
// The published copy carries the epoch and the id: '{"e":..,"i":..,' + the message without its '{'.
const PUBLISH_SCRIPT = script(`
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1])
end
local id = '0-0'
if tonumber(ARGV[3]) > 0 then
  -- A server without streams (or with XADD renamed away) still gets the message on the channel.
  local ok, added = pcall(redis.call, 'XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'm', ARGV[1])
  if ok then id = added end
end
redis.call('PUBLISH', ARGV[4], '{"e":"' .. epoch .. '","i":"' .. id .. '",' .. string.sub(ARGV[1], 2))
return id`);

// KEYS: log, epoch. ARGV: read after this id, page size, a new epoch should there be none.
// Returns epoch, created (1 when there was none), server uptime (s), last id, intact, entries. Intact (1):
// nothing after that id was trimmed. Trimming removes the oldest entries, so the entry with that id still
// being there proves it (for '0-0', that nothing was ever trimmed).
const CATCH_UP_SCRIPT = script(`
local epoch = redis.call('GET', KEYS[2])
local created = 0
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1])
  created = 1
end
-- Without INFO (renamed away on some managed servers) a restart cannot be told from a flush: huge uptime.
local ok, server = pcall(redis.call, 'INFO', 'server')
local uptime = ok and tonumber(string.match(server, 'uptime_in_seconds:(%d+)')) or 1e12
local last, intact = '0-0', 1
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  local length, added = 0, nil
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1]
    elseif info[i] == 'length' then length = info[i + 1]
    elseif info[i] == 'entries-added' then added = info[i + 1] end
  end
  if ARGV[1] ~= '0-0' then
    if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then intact = 0 end
  elseif (added or (length + 1)) > length then
    intact = 0
  end
elseif ARGV[1] ~= '0-0' then
  intact = 0
end
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
return {epoch, created, uptime, last, intact, entries}`);

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

/** A subscriber the bus is done with: no more events reach it (errors are swallowed), closed unless already ended. */
function discard(subscriber: Redis, disconnect = true): void {
  subscriber.removeAllListeners();
  subscriber.on('error', () => undefined);
  if (disconnect) subscriber.disconnect();
}

/** A Cluster node's subscriber gives up after a few failed reconnects, so the bus can pick another node. */
function giveUpAfter(attempts: number): (times: number) => number | null {
  return (times) => (times > attempts ? null : Math.min(50 * 2 ** times, 1000));
}
