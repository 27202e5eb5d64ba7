/**
 * The pieces of a guarded factory call: which timeout fired first, and when a failing key may be
 * tried again (fail-safe throttle).
 */

export type FactoryRace<T> =
  | { readonly kind: 'value'; readonly value: T }
  | { readonly kind: 'soft' }
  | { readonly kind: 'hard' };

/**
 * Waits for `running`, or for the soft or hard timeout, whichever comes first. A rejection of
 * `running` before either timeout is thrown; after one fired, `running` is left to settle on its own
 * (its owner has attached its handlers).
 */
export function raceTimeouts<T>(running: Promise<T>, soft: number | undefined, hard: number | undefined): Promise<FactoryRace<T>> {
  return new Promise<FactoryRace<T>>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    const done = () => timers.forEach(clearTimeout);
    if (soft !== undefined) timers.push(setTimeout(() => (done(), resolve({ kind: 'soft' })), soft));
    if (hard !== undefined) timers.push(setTimeout(() => (done(), resolve({ kind: 'hard' })), hard));
    running.then(
      (value) => (done(), resolve({ kind: 'value', value })),
      (error: unknown) => (done(), reject(error)),
    );
  });
}

/**
 * Per key, the time before which its factory is not called again after a failure. Bounded: forgetting
 * a key only means its factory may be tried once more.
 */
export class RetryThrottle {
  private readonly retryAt = new Map<string, number>();

  constructor(private readonly maxKeys = 10_000) {}

  blocked(key: string, now: number): boolean {
    if (this.retryAt.size === 0) return false;
    const at = this.retryAt.get(key);
    if (at === undefined) return false;
    if (at > now) return true;
    this.retryAt.delete(key);
    return false;
  }

  failed(key: string, until: number): void {
    if (this.retryAt.size >= this.maxKeys && !this.retryAt.has(key)) {
      const oldest = this.retryAt.keys().next();
      if (!oldest.done) this.retryAt.delete(oldest.value);
    }
    this.retryAt.set(key, until);
  }

  succeeded(key: string): void {
    if (this.retryAt.size > 0) this.retryAt.delete(key);
  }
}
