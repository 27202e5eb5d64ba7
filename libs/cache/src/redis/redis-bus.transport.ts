import type { LoggerService } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import type { BusHandlers, BusLogPage, BusTransport } from '../ports/bus-transport';
import { describeError, withoutQuotedArgs } from '../core/errors';
import { type RedisClient, isCluster } from './redis.types';
import { runScript, script } from './redis.script';
import { tickWrites } from './redis.tick-writes';

export interface RedisBusOptions {
  channel: string;
  /** The bus log (a capped stream) and its epoch; two keys in one slot (`{hash tag}`), so one script sees both. */
  logKey: string;
  epochKey: string;
  /** Messages the log keeps; 0: no log. */
  logSize: number;
  /** How often the subscriber connection is pinged; a dead socket is noticed within `pingInterval + pingTimeout`. */
  pingInterval: number;
  pingTimeout: number;
  logger: LoggerService;
}

/**
 * The bus over Redis pub/sub, one channel per prefix, with a capped stream as its log.
 *
 * Publishing goes through the main connection (so it is ordered after the write it announces), as one
 * script that appends the message to the log (`XADD MAXLEN ~`) and publishes it stamped with the log's
 * epoch and the entry id. Subscribing needs a connection of its own: a duplicate of the main client with
 * the same safe settings; for a Cluster, a connection to one node (PUBLISH reaches every node of a
 * cluster), moved to another node when that one stops answering. The subscription is down when the
 * socket closes or a PING goes unanswered for `pingTimeout`.
 */
export class RedisBusTransport implements BusTransport {
  private subscriber: Redis | undefined;
  private handlers: BusHandlers | undefined;
  private subscribed = false;
  private closed = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Subscriptions or catch-ups that failed in a row (a script the ACL forbids, a read-only replica), and the last reason logged. */
  private failedInARow = 0;
  private loggedFailure: string | undefined;

  /** Sends this tick's commands in one socket write (see tickWrites): a write's announcement leaves with it. */
  private readonly hold: () => void;

  constructor(
    private readonly client: RedisClient,
    private readonly options: RedisBusOptions,
  ) {
    this.hold = tickWrites(client);
  }

  /** The Redis keys of the bus log and of its epoch. */
  get logKeys(): { log: string; epoch: string } {
    return { log: this.options.logKey, epoch: this.options.epochKey };
  }

  get publishable(): boolean {
    return this.client.status === 'ready';
  }

  onPublishable(listener: () => void): () => void {
    this.client.on('ready', listener);
    return () => this.client.off('ready', listener);
  }

  async publish(message: string): Promise<void> {
    const { logKey, epochKey, logSize, channel } = this.options;
    this.hold();
    await runScript(this.client, PUBLISH_SCRIPT, [logKey, epochKey], [message, newEpoch(), logSize, channel]);
  }

  async readLog(after: string, count: number): Promise<BusLogPage> {
    const [epoch, created, uptime, lastId, intact, entries] = (await runScript(
      this.client,
      CATCH_UP_SCRIPT,
      [this.options.logKey, this.options.epochKey],
      [after, count, newEpoch()],
    )) as [string, number, number, string, number, Array<[string, string[]]>];
    return {
      epoch,
      created: created === 1,
      uptime,
      lastId,
      intact: intact === 1,
      entries: entries.map(([id, fields]) => [id, typeof fields[1] === 'string' ? fields[1] : ''] as const),
    };
  }

  subscribe(handlers: BusHandlers): void {
    if (this.closed || this.handlers) return;
    this.handlers = handlers;
    this.connect();
    this.pingTimer = setInterval(() => void this.ping(), this.options.pingInterval);
    this.pingTimer.unref();
  }

  resubscribeNow(): void {
    const subscriber = this.subscriber;
    if (this.closed || subscriber === undefined || this.subscribed || subscriber.status !== 'reconnecting') return;
    this.subscriber = undefined;
    discard(subscriber);
    this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pingTimer = undefined;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscribed = false;
    if (subscriber) discard(subscriber);
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
    subscriber.on('ready', () => void this.onReady(subscriber));
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
      if (channel === this.options.channel && this.subscriber === subscriber) this.handlers?.message(text);
    });
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
    const client = this.client;
    if (!isCluster(client)) return client.duplicate(overrides);
    const nodes = client.nodes('master');
    const pool = nodes.length > 0 ? nodes : client.nodes('all');
    if (pool.length === 0) return undefined;
    const node = pool[Math.floor(Math.random() * pool.length)];
    return node.duplicate({ ...overrides, retryStrategy: giveUpAfter(3) });
  }

  private async onReady(subscriber: Redis): Promise<void> {
    const handlers = this.handlers;
    if (handlers === undefined) return;
    try {
      await subscriber.subscribe(this.options.channel);
      if (this.subscriber !== subscriber || this.closed) return;
      // Subscribed first, then the log: whatever was published before the SUBSCRIBE is in the log.
      await handlers.catchUp();
    } catch (error) {
      if (this.subscriber !== subscriber || this.closed) return;
      this.retrySubscribing(subscriber, describeError(error));
      return;
    }
    if (this.subscriber !== subscriber || this.closed) return;
    this.failedInARow = 0;
    this.loggedFailure = undefined;
    this.subscribed = true;
    handlers.up();
  }

  /**
   * The connection is up but the subscription or the catch-up failed (refused, or not answered in time):
   * again on a new connection, at once the first time, then backing off up to 5 s, and logged once per
   * reason: a refusal that lasts (an ACL without a command the catch-up needs, a read-only replica) must
   * not become a reconnect and a log line every few milliseconds.
   */
  private retrySubscribing(subscriber: Redis, message: string): void {
    // The catch-up sends a new candidate epoch each time, among the arguments Redis quotes.
    const reason = withoutQuotedArgs(message);
    if (reason !== this.loggedFailure) {
      this.loggedFailure = reason;
      this.options.logger.warn(`Invalidation bus: subscribing failed (${reason}); retrying, backing off up to 5 s (L1 is bypassed until it is up)`);
    }
    this.subscriber = undefined;
    discard(subscriber);
    const delay = this.failedInARow === 0 ? 0 : Math.min(5_000, 50 * 2 ** this.failedInARow);
    this.failedInARow += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.retryTimer.unref();
  }

  private markDown(subscriber: Redis, reason: string, silent = false): void {
    if (this.subscriber !== subscriber || !this.subscribed) return;
    this.subscribed = false;
    this.handlers?.down(reason, silent);
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
}

/**
 * The epoch a log gets if this call creates it (the script ignores it otherwise): unique to this process
 * (64 random bits drawn once) and to this call (a counter), so a log created again after a restart or a
 * flush never has the epoch of the one it replaces. Sent with every publish, so no CSPRNG draw per
 * publish (it was ~2 % of a `set`'s CPU).
 */
function newEpoch(): string {
  return PROCESS_EPOCH + (++epochs).toString(36);
}
const PROCESS_EPOCH = randomBytes(8).toString('hex');
let epochs = 0;

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
