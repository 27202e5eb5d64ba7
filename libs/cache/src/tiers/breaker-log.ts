import type { LoggerService } from '@nestjs/common';
import { withoutQuotedArgs } from '../core/errors';

/** How long a cause, once logged, is not logged again when the breaker reopens on it; and how long a close after such a reopening must last to be logged. */
const REPEAT_WINDOW_MS = 60_000;

/**
 * The Redis tier's breaker as the operator reads it: "unavailable (why)" when it opens, "available again"
 * when it closes. A breaker that flaps on one cause (a Redis that answers PING but refuses what the cache
 * needs, such as scripts renamed away or an ACL without them: each probe passes, the next calls fail)
 * would write two lines a second; a reopening on the cause logged last, within a minute of that line, is
 * not logged, and the close that follows it is logged only once it has lasted a minute (then with how
 * many reopenings were left out). The breaker's state events are unchanged: only the log is thinned.
 */
export class BreakerLog {
  private everConnected = false;
  /** The cause of the last "unavailable" line (Redis's quoted arguments left out), and when it was written. */
  private lastCause: string | undefined;
  private lastAt = 0;
  /** The breaker is open on a cause whose line was left out, or closed after that and not yet for long. */
  private quietOpen = false;
  private recovery: NodeJS.Timeout | undefined;
  private leftOut = 0;

  constructor(
    private readonly logger: LoggerService,
    private readonly probeInterval: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True while lines of the current cycle are left out (the replay's line too). */
  get quiet(): boolean {
    return this.quietOpen || this.recovery !== undefined;
  }

  opened(reason: string): void {
    this.cancelRecovery();
    const cause = withoutQuotedArgs(reason);
    if (cause === this.lastCause && this.now() - this.lastAt < REPEAT_WINDOW_MS) {
      this.quietOpen = true;
      this.leftOut += 1;
      return;
    }
    this.quietOpen = false;
    this.lastCause = cause;
    this.lastAt = this.now();
    this.logger.warn(`Redis tier unavailable (${reason}): serving from L1 and factories; probing every ${this.probeInterval} ms`);
  }

  closed(): void {
    if (!this.quietOpen) return this.sayClosed();
    this.quietOpen = false;
    this.recovery = setTimeout(() => {
      this.recovery = undefined;
      this.sayClosed();
    }, REPEAT_WINDOW_MS);
    this.recovery.unref();
  }

  dispose(): void {
    this.cancelRecovery();
  }

  private sayClosed(): void {
    const flaps = this.leftOut === 0 ? '' : ` (it had reopened ${this.leftOut} more time${this.leftOut === 1 ? '' : 's'} on the same cause, not logged)`;
    this.leftOut = 0;
    this.logger.log(this.everConnected ? `Redis tier available again${flaps}` : 'Redis tier connected');
    this.everConnected = true;
  }

  private cancelRecovery(): void {
    if (this.recovery === undefined) return;
    clearTimeout(this.recovery);
    this.recovery = undefined;
  }
}
