import type { LoggerService } from '@nestjs/common';
import { withoutQuotedArgs } from '../core/errors';
import { RepeatWindow } from './repeat-window';

/**
 * The Redis tier's breaker as the operator reads it: "unavailable (why)" when it opens, "available again"
 * when it closes. A breaker that flaps on one cause (a Redis that answers PING but refuses what the cache
 * needs, such as scripts renamed away or an ACL without them: each probe passes, the next calls fail)
 * would write two lines a second; a reopening on the cause logged last, within a minute of that line, is
 * not logged, and the close that follows it is logged only once it has lasted a minute (then with how
 * many reopenings were left out): see `RepeatWindow`. The breaker's state events are unchanged: only the
 * log is thinned.
 */
export class BreakerLog {
  private everConnected = false;
  private readonly window: RepeatWindow;

  constructor(
    private readonly logger: LoggerService,
    private readonly probeInterval: number,
    now: () => number = () => performance.now(),
  ) {
    this.window = new RepeatWindow(now);
  }

  /** True while lines of the current cycle are left out (the replay's line too). */
  get quiet(): boolean {
    return this.window.quiet;
  }

  opened(reason: string): void {
    // Redis's quoted arguments left out: a probe's own arguments must not make each reopening news.
    if (!this.window.started(withoutQuotedArgs(reason))) return;
    this.logger.warn(`Redis tier unavailable (${reason}): serving from L1 and factories; probing every ${this.probeInterval} ms`);
  }

  closed(): void {
    this.window.ended((leftOut) => {
      const flaps = leftOut === 0 ? '' : ` (it had reopened ${leftOut} more time${leftOut === 1 ? '' : 's'} on the same cause, not logged)`;
      this.logger.log(this.everConnected ? `Redis tier available again${flaps}` : 'Redis tier connected');
      this.everConnected = true;
    });
  }

  dispose(): void {
    this.window.dispose();
  }
}
