/** How long a cause, once logged, is not logged again when it starts over; and how long an end after such a start must last to be logged. */
export const REPEAT_WINDOW_MS = 60_000;

/**
 * Thins a log of spells that start on a cause and end (a breaker open and closed again, a store refusing
 * and taking writes again) when they flap on one cause: a store that answers PING but refuses what the
 * cache needs, or lets some writes through and refuses others, would otherwise write two lines every
 * probe or every few calls. A start on the cause logged last, within a minute of that line, is left out
 * (counted); the end that follows it is told only once it has lasted a minute, with how many starts were
 * left out. A first start, a new cause, or one past the minute is logged at once, and so is its end.
 */
export class RepeatWindow {
  /** The cause of the last start logged, and when it was logged. */
  private lastCause: string | undefined;
  private lastAt = 0;
  /** The current spell started on a cause whose line was left out. */
  private quietStart = false;
  private pendingEnd: NodeJS.Timeout | undefined;
  private leftOut = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** True while lines of the current spell are left out (the current start's, or its end's, not yet told). */
  get quiet(): boolean {
    return this.quietStart || this.pendingEnd !== undefined;
  }

  /** A spell starts on `cause`: true when it is to be logged, false when it is left out (and counted). */
  started(cause: string): boolean {
    this.cancelEnd();
    if (cause === this.lastCause && this.now() - this.lastAt < REPEAT_WINDOW_MS) {
      this.quietStart = true;
      this.leftOut += 1;
      return false;
    }
    this.quietStart = false;
    this.lastCause = cause;
    this.lastAt = this.now();
    this.leftOut = 0; // the count an end tells is of this cause's repeats
    return true;
  }

  /** The spell ended: `tell(leftOut)` now, or once the end has lasted the window when its start was left out. */
  ended(tell: (leftOut: number) => void): void {
    const say = () => {
      const leftOut = this.leftOut;
      this.leftOut = 0;
      tell(leftOut);
    };
    if (!this.quietStart) return say();
    this.quietStart = false;
    this.pendingEnd = setTimeout(() => {
      this.pendingEnd = undefined;
      say();
    }, REPEAT_WINDOW_MS);
    this.pendingEnd.unref();
  }

  dispose(): void {
    this.cancelEnd();
  }

  private cancelEnd(): void {
    if (this.pendingEnd === undefined) return;
    clearTimeout(this.pendingEnd);
    this.pendingEnd = undefined;
  }
}
