import type { LoggerService } from '@nestjs/common';
import { describeError } from '../core/errors';

/**
 * The remote store's refusals (`StoreAdapters.refusal`: up, but full, read-only or not permitted) told
 * once per state: the first refusal of a kind is logged with what to change, the next ones are only
 * counted (as L2 errors), until a write succeeds again, which is logged too. Without this, a Redis that
 * refuses every write while answering every read shows no log line at all: its breaker never opens.
 */
export class StoreRefusals {
  private current: string | undefined;

  constructor(
    private readonly explain: (error: unknown) => string | undefined,
    private readonly logger: LoggerService,
  ) {}

  /** A refusal was logged and no write has landed since. */
  get refusing(): boolean {
    return this.current !== undefined;
  }

  /** Whether `error` is a refusal; a new kind of refusal is logged. */
  seen(error: unknown): boolean {
    const why = this.explain(error);
    if (why === undefined) return false;
    if (why !== this.current) {
      this.current = why;
      this.logger.warn(
        `Redis tier refuses commands: ${why}. Meanwhile its writes are skipped and counted as L2 errors (a key whose ` +
          `write failed is deleted as soon as Redis lets it), and answers come from L1, Redis reads and factories. ` +
          `Redis said: ${describeError(error)}`,
      );
    }
    return true;
  }

  /** A write succeeded: a refusal logged before has ended. */
  accepted(): void {
    if (this.current === undefined) return;
    this.current = undefined;
    this.logger.log('Redis tier takes writes again');
  }
}
