import type { LoggerService } from '@nestjs/common';
import type Redis from 'ioredis';
import { describeError } from '../resilience/circuit-breaker';
import { type RedisClient, isCluster } from '../tiers/redis.connection';

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
  /** When it was sent (epoch ms, sub-millisecond), to measure the bus delay. */
  at: number;
}

export type BusChange = Omit<BusMessage, 'o' | 'at'>;
export type BusState = 'up' | 'down' | 'disabled';

export interface BusListener {
  /** A message from another instance. */
  message(message: BusMessage): void;
  /** The subscription is gone (socket closed, ping unanswered): messages may be lost from now on. */
  down(reason: string): void;
  /** Subscribed (again): anything published while down was lost, so the listener reconciles now. */
  up(): void;
}

export interface BusOptions {
  channel: string;
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
 * The cross-instance invalidation bus (DESIGN §5): Redis pub/sub, one channel per prefix.
 *
 * Publishing goes through the main connection (so it is ordered after the write it announces).
 * Subscribing needs a connection of its own: a duplicate of the main client with the same safe settings;
 * for a Cluster, a connection to one node (plain PUBLISH reaches every node of a cluster), moved to
 * another node when that one stops answering.
 *
 * Pub/sub is at-most-once, so the bus reports every gap to its listener: `down` when the socket closes
 * or a PING goes unanswered for `pingTimeout`, `up` once the SUBSCRIBE is confirmed again. The listener
 * must treat `up` as "some messages may have been lost" and reconcile.
 */
export class InvalidationBus {
  private subscriber: Redis | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private subscribed = false;
  private everUp = false;
  private closed = false;
  private downSince: number | undefined = preciseNow();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly main: RedisClient,
    private readonly options: BusOptions,
    private readonly listener: BusListener,
  ) {}

  get state(): BusState {
    return this.subscribed ? 'up' : 'down';
  }

  get up(): boolean {
    return this.subscribed;
  }

  start(): void {
    if (this.closed || this.subscriber) return;
    this.connect();
    this.pingTimer = setInterval(() => void this.ping(), this.options.pingInterval);
    this.pingTimer.unref();
  }

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

  /** Publishes a change; never throws (a lost message is what reconciliation is for). */
  async publish(change: BusChange): Promise<boolean> {
    const message: BusMessage = { o: this.options.instanceId, ...change, at: preciseNow() };
    try {
      await this.main.publish(this.options.channel, JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pingTimer = undefined;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscribed = false;
    for (const waiter of this.waiters) waiter();
    subscriber?.removeAllListeners();
    subscriber?.on('error', () => undefined);
    subscriber?.disconnect();
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
        subscriber.removeAllListeners();
        subscriber.on('error', () => undefined);
        this.retryTimer = setTimeout(() => this.connect(), Math.min(500, this.options.pingInterval));
        this.retryTimer.unref();
      }
    });
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.options.channel && this.subscriber === subscriber) this.receive(text);
    });
  }

  private createSubscriber(): Redis | undefined {
    const overrides = {
      connectionName: 'strata:bus',
      lazyConnect: false,
      autoResubscribe: false, // we subscribe on 'ready' ourselves, and reconcile once it is confirmed
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: this.options.pingTimeout,
      // A socket that does not close after QUIT/FIN (dead peer) is destroyed after this.
      disconnectTimeout: this.options.pingTimeout,
    };
    const client = this.main;
    if (!isCluster(client)) return client.duplicate(overrides);
    const nodes = client.nodes('master');
    const pool = nodes.length > 0 ? nodes : client.nodes('all');
    if (pool.length === 0) return undefined;
    const node = pool[Math.floor(Math.random() * pool.length)];
    return node.duplicate({ ...overrides, retryStrategy: giveUpAfter(3) });
  }

  private async subscribe(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(this.options.channel);
    } catch (error) {
      if (this.subscriber !== subscriber || this.closed) return;
      this.options.logger.warn(`Invalidation bus: SUBSCRIBE failed (${describeError(error)}); reconnecting`);
      subscriber.disconnect(true);
      return;
    }
    if (this.subscriber !== subscriber || this.closed) return;
    this.subscribed = true;
    const downFor = this.downSince === undefined ? 0 : preciseNow() - this.downSince;
    this.downSince = undefined;
    this.listener.up();
    for (const waiter of [...this.waiters]) waiter();
    if (downFor > 0 && this.everUp) this.options.logger.log(`Invalidation bus: subscribed again after ${Math.round(downFor)} ms; L1 reconciled`);
    this.everUp = true;
  }

  private markDown(subscriber: Redis, reason: string): void {
    if (this.subscriber !== subscriber || !this.subscribed) return;
    this.subscribed = false;
    this.downSince = preciseNow();
    this.listener.down(reason);
    if (!this.closed) this.options.logger.warn(`Invalidation bus down (${reason}): L1 is bypassed until it is back`);
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
      this.markDown(subscriber, describeError(error));
      subscriber.disconnect(true);
    } finally {
      clearTimeout(timer);
    }
  }

  private receive(text: string): void {
    let message: BusMessage;
    try {
      message = JSON.parse(text) as BusMessage;
    } catch {
      return;
    }
    if (!isMessage(message) || message.o === this.options.instanceId) return;
    this.listener.message(message);
  }
}

/** Anyone who can reach Redis can publish: a malformed message is ignored, never allowed to throw. */
function isMessage(value: unknown): value is BusMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  const strings = (list: unknown) => list === undefined || (Array.isArray(list) && list.every((x) => typeof x === 'string'));
  const times = m.t === undefined || (Array.isArray(m.t) && m.t.every((x) => Array.isArray(x) && typeof x[0] === 'string' && typeof x[1] === 'number'));
  return typeof m.o === 'string' && typeof m.at === 'number' && (m.c === undefined || typeof m.c === 'number') && strings(m.k) && strings(m.p) && times;
}

/** A Cluster node's subscriber gives up after a few failed reconnects, so the bus can pick another node. */
function giveUpAfter(attempts: number): (times: number) => number | null {
  return (times) => (times > attempts ? null : Math.min(50 * 2 ** times, 1000));
}
