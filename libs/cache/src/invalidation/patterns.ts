import type { LoggerService } from '@nestjs/common';
import type { KeyScanner, ScanOptions, ScanProgress } from '../ports/key-scanner';
import { describeError } from '../resilience/circuit-breaker';
import type { L2Facade } from '../tiers/l2.facade';

/**
 * `invalidatePattern` as the engine runs it: the walk behind the circuit breaker, and a walk that could
 * not finish (Redis gone half-way) kept and run again in the background until it completes, the way
 * deletes made during an outage are replayed; `onCompleted` then tells the instances again.
 */
export class PatternInvalidation {
  private readonly pending = new Map<string, ((key: string) => boolean) | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private backoff = 0;
  private disposed = false;

  constructor(
    private readonly l2: L2Facade,
    private readonly scanner: KeyScanner,
    private readonly options: Omit<ScanOptions, 'keep'>,
    private readonly logger: LoggerService,
    private readonly onCompleted: (pattern: string) => Promise<void>,
  ) {}

  /** Resolves with how many keys were removed; `complete: false` when the walk is left for later. */
  async run(pattern: string, keep?: (key: string) => boolean): Promise<{ removed: number; complete: boolean }> {
    const progress: ScanProgress = { removed: 0 };
    try {
      await this.l2.breaker.run(() => this.scanner.deleteMatching(pattern, { ...this.options, keep }, progress));
      return { removed: progress.removed, complete: true };
    } catch (error) {
      this.logger.warn(
        `invalidatePattern(${pattern}) stopped after ${progress.removed} keys (${describeError(error)}); it will be run again until it completes`,
      );
      this.pending.set(pattern, keep);
      this.schedule();
      return { removed: progress.removed, complete: false };
    }
  }

  get waiting(): number {
    return this.pending.size;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.disposed) return;
    this.backoff = Math.min(Math.max(1000, this.backoff * 2), 30_000);
    this.timer = setTimeout(() => void this.retry(), this.backoff);
    this.timer.unref();
  }

  private async retry(): Promise<void> {
    this.timer = undefined;
    for (const [pattern, keep] of [...this.pending]) {
      if (this.disposed) return;
      if (!this.l2.available) break;
      try {
        await this.l2.breaker.run(() => this.scanner.deleteMatching(pattern, { ...this.options, keep }, { removed: 0 }));
      } catch {
        break;
      }
      this.pending.delete(pattern);
      await this.onCompleted(pattern);
    }
    if (this.pending.size > 0) this.schedule();
    else this.backoff = 0;
  }
}
