import type { LoggerService } from '@nestjs/common';
import { describeError } from '../core/errors';
import type { StoreRefusal } from '../ports/store-adapters';
import { RepeatWindow } from './repeat-window';

/** How a store's refusals read in the log (`StoreRefusals`). */
export interface RefusalWording {
  /** Who refuses, as the lines begin ('Redis tier'). */
  readonly tier: string;
  /** Who answered, before its error ('Redis'). */
  readonly store: string;
  /** What the cache does while a refusal lasts. */
  meanwhile(refusal: StoreRefusal): string;
  /** The store's error as the line quotes it. */
  describe(error: unknown): string;
}

/** The remote (Redis) tier's wording. */
export const REDIS_REFUSALS: RefusalWording = {
  tier: 'Redis tier',
  store: 'Redis',
  meanwhile: (refusal) =>
    refusal.readable
      ? 'Meanwhile its writes are skipped and counted as L2 errors (a key whose write failed is deleted as soon as ' +
        'Redis lets it), and answers come from L1, Redis reads and factories'
      : 'Meanwhile each refusal opens the breaker, as an outage would (what this instance cannot record or announce ' +
        'would leave the entries in Redis unchecked), and answers come from L1 and factories',
  describe: describeError,
};

/**
 * A store's refusals (`StoreAdapters.refusal`: up, but full, read-only or not permitted) told once per
 * state: the first refusal of a kind is logged with what to change, the next ones are only counted (as
 * errors of the tier), until a write succeeds again, which is logged too. Without this, a Redis that
 * refuses every write while answering every read shows no log line at all: its breaker never opens.
 * Refusals that are not `readable` open the breaker (`L2Facade`, `ColdGuard`), which logs its own state.
 * A store that takes some writes and refuses others (a role or ACL user granted some commands only)
 * would end and start the refusal every few calls: a refusal of the kind logged last, within a minute of
 * its line, is left out, and the end after it told once it has lasted a minute (`RepeatWindow`).
 */
export class StoreRefusals {
  private current: string | undefined;
  private readonly window: RepeatWindow;

  constructor(
    private readonly explain: (error: unknown) => StoreRefusal | undefined,
    private readonly logger: LoggerService,
    private readonly wording: RefusalWording = REDIS_REFUSALS,
    now?: () => number,
  ) {
    this.window = new RepeatWindow(now);
  }

  /** A refusal was logged and no write has landed since, or refusals flap (their lines left out for now). */
  get refusing(): boolean {
    return this.current !== undefined || this.window.quiet;
  }

  /** The refusal `error` is, if it is one; a new kind is logged. */
  seen(error: unknown): StoreRefusal | undefined {
    const refusal = this.explain(error);
    if (refusal === undefined || refusal.why === this.current) return refusal;
    this.current = refusal.why;
    if (!this.window.started(refusal.why)) return refusal;
    const { tier, store } = this.wording;
    this.logger.warn(`${tier} refuses commands: ${refusal.why}. ${this.wording.meanwhile(refusal)}. ${store} said: ${this.wording.describe(error)}`);
    return refusal;
  }

  /** A write succeeded: a refusal logged before has ended. */
  accepted(): void {
    if (this.current === undefined) return;
    this.current = undefined;
    this.window.ended((leftOut) => {
      const flaps = leftOut === 0 ? '' : ` (it had refused again ${leftOut} more time${leftOut === 1 ? '' : 's'} for the same reason, not logged)`;
      this.logger.log(`${this.wording.tier} takes writes again${flaps}`);
    });
  }

  /** Stops a pending line (the end of a refusal that flapped). */
  dispose(): void {
    this.window.dispose();
  }
}
