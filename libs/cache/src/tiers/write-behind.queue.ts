import type { StoredBytes } from '../ports/remote-store';

export interface WriteBehindSettings {
  /** How long a write waits in memory at most before it is sent. */
  flushInterval: number;
  /** Writes waiting at most; one more sends them at once. */
  maxQueued: number;
}

/**
 * Cold writes acknowledged from Redis and sent to PostgreSQL later, in batches (write-behind). The last
 * write of a key wins; a delete cancels a waiting write and waits for one already being sent, so a write
 * can never land after a delete that followed it. `send` never rejects (the guard remembers failures).
 */
export class WriteBehindQueue {
  private readonly queued = new Map<string, StoredBytes>();
  private readonly sending = new Set<string>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (items: readonly StoredBytes[]) => Promise<void>,
    private readonly settings: WriteBehindSettings,
  ) {}

  /** Writes waiting or being sent. */
  get size(): number {
    return this.queued.size + this.sending.size;
  }

  add(items: readonly StoredBytes[]): void {
    for (const item of items) {
      this.queued.delete(item.key); // re-inserted last: the map's order is the order of writes
      this.queued.set(item.key, item);
    }
    if (this.queued.size >= this.settings.maxQueued) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.settings.flushInterval);
      this.timer.unref();
    }
  }

  /** The newest bytes of `key` not yet in PostgreSQL, if any. */
  peek(key: string): Buffer | undefined {
    return this.queued.get(key)?.bytes;
  }

  /** Drops waiting writes of `keys`, and resolves once none of them is being sent. */
  async cancel(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.queued.delete(key);
    while (this.flushing !== undefined && keys.some((key) => this.sending.has(key))) await this.flushing;
  }

  /** Sends what waits now (one batch at a time); resolves when it is sent or remembered as failed. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing !== undefined) await this.flushing;
    if (this.queued.size === 0) return;
    const items = [...this.queued.values()];
    this.queued.clear();
    for (const item of items) this.sending.add(item.key);
    this.flushing = this.send(items).finally(() => {
      for (const item of items) this.sending.delete(item.key);
      this.flushing = undefined;
    });
    await this.flushing;
    if (this.queued.size > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.settings.flushInterval);
      this.timer.unref();
    }
  }
}
