import { L2UnavailableError } from '../core/errors';

interface Waiter {
  until: number;
  deadline: number;
  reject: (error: Error) => void;
}

/**
 * Gives up waiting on store calls after a deadline, whatever the client does underneath. One timer
 * checks every caller's deadline, instead of a timer set and cleared per call (at tens of thousands of
 * L2 reads a second, those timers were a measurable part of each read). It ticks every 1/50 of the
 * deadline (2 ms at 100 ms) and only while calls are waiting.
 */
export class CallDeadlines {
  private readonly waiting = new Set<Waiter>();
  private sweeper: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly deadline: number) {}

  /** `running`, or an `L2UnavailableError` after the deadline (one more for every 500 keys of a batch). */
  wait<T>(running: Promise<T>, size: number): Promise<T> {
    const deadline = this.deadline * (1 + Math.floor(size / 500));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { until: performance.now() + deadline, deadline, reject };
      this.waiting.add(waiter);
      this.sweepSoon();
      running.then(
        (value) => {
          this.waiting.delete(waiter);
          resolve(value);
        },
        (error: unknown) => {
          this.waiting.delete(waiter);
          reject(error);
        },
      );
    });
  }

  dispose(): void {
    this.disposed = true;
    this.stop();
  }

  private sweepSoon(): void {
    if (this.sweeper !== undefined || this.disposed) return;
    const every = Math.max(1, Math.floor(this.deadline / 50));
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const waiter of this.waiting) {
        if (waiter.until > now) continue;
        this.waiting.delete(waiter);
        waiter.reject(new L2UnavailableError(`no answer within ${waiter.deadline} ms`));
      }
      if (this.waiting.size === 0) this.stop();
    }, every);
    this.sweeper.unref();
  }

  private stop(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
