import { randomBytes } from 'node:crypto';
import type { BusHandlers, BusLogPage, BusTransport } from '../ports/bus-transport';
import { compareIds } from '../core/stream-id';
import type { MemoryBackend, MemoryChannel } from './memory-backend';

/**
 * The bus in process: every transport on one backend and channel hears every publish (delivered on a
 * later microtask, in order), with a log capped at `logSize` and an epoch, like the Redis stream. While
 * the backend is down the subscription is down; when it recovers, the transport subscribes again and
 * the bus catches up from the log.
 */
export class MemoryBusTransport implements BusTransport {
  private handlers: BusHandlers | undefined;
  private subscribed = false;
  /** Messages are delivered from the moment the subscription is made, also while the gap is read back. */
  private listening = false;
  private closed = false;
  private stopWatching: (() => void) | undefined;
  private readonly channel: MemoryChannel;
  private readonly listener = (text: string): void => {
    if (this.listening) queueMicrotask(() => this.listening && this.handlers?.message(text));
  };

  constructor(
    private readonly backend: MemoryBackend,
    channel: string,
    private readonly logSize: number,
  ) {
    this.channel = backend.channel(channel);
  }

  get publishable(): boolean {
    return this.backend.state === 'ready';
  }

  onPublishable(listener: () => void): () => void {
    return this.backend.onStateChange((state) => state === 'ready' && listener());
  }

  async publish(message: string): Promise<void> {
    this.backend.check();
    const channel = this.channel;
    const epoch = this.epoch();
    let id = '0-0';
    if (this.logSize > 0) {
      id = this.backend.nextId();
      channel.log.push([id, message]);
      channel.added += 1;
      channel.lastId = id;
      if (channel.log.length > this.logSize) channel.log.splice(0, channel.log.length - this.logSize);
    }
    const stamped = `{"e":"${epoch}","i":"${id}",${message.slice(1)}`;
    for (const listener of channel.listeners) listener(stamped);
  }

  async readLog(after: string, count: number): Promise<BusLogPage> {
    this.backend.check();
    const channel = this.channel;
    const created = channel.epoch === undefined;
    const epoch = this.epoch();
    const log = channel.log;
    const intact = after === '0-0' ? channel.added === log.length : log.some(([id]) => id === after);
    const entries = log.filter(([id]) => compareIds(id, after) > 0).slice(0, count);
    return { epoch, created, uptime: this.backend.uptime, lastId: channel.lastId, intact, entries };
  }

  subscribe(handlers: BusHandlers): void {
    if (this.closed || this.handlers) return;
    this.handlers = handlers;
    this.stopWatching = this.backend.onStateChange((state, reason) => (state === 'down' ? this.markDown(reason) : void this.connect()));
    if (this.backend.state === 'ready') void this.connect();
  }

  resubscribeNow(): void {
    if (!this.subscribed && this.backend.state === 'ready') void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching?.();
    this.subscribed = false;
    this.listening = false;
    this.channel.listeners.delete(this.listener);
  }

  private connecting = false;

  /** Listens, reads the gap back (`catchUp`), then `up`; a catch-up that failed is tried again shortly. */
  private async connect(): Promise<void> {
    const handlers = this.handlers;
    if (handlers === undefined || this.closed || this.subscribed || this.connecting) return;
    this.connecting = true;
    try {
      await Promise.resolve(); // subscribed on a later turn, as over a socket
      this.backend.check();
      this.listening = true;
      this.channel.listeners.add(this.listener);
      await handlers.catchUp();
      if (this.closed || this.backend.state !== 'ready') return;
      this.subscribed = true;
      handlers.up();
    } catch {
      this.listening = false;
      this.channel.listeners.delete(this.listener);
      // Down: its recovery subscribes again. Up (the catch-up failed otherwise): try again shortly.
      if (!this.closed && this.backend.state === 'ready') setTimeout(() => void this.connect(), 10).unref();
    } finally {
      this.connecting = false;
    }
  }

  private markDown(reason: string): void {
    this.listening = false;
    this.channel.listeners.delete(this.listener);
    if (!this.subscribed) return;
    this.subscribed = false;
    this.handlers?.down(reason, false);
  }

  private epoch(): string {
    const channel = this.channel;
    if (channel.epoch === undefined) {
      channel.epoch = randomBytes(8).toString('hex');
      channel.log = [];
      channel.added = 0;
      channel.lastId = '0-0';
    }
    return channel.epoch;
  }
}
