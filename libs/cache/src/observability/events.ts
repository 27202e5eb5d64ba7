import type { BreakerState } from '../resilience/circuit-breaker';
import type { WarmerOutcome } from './stats';

/** Payloads of the events a cache stack emits. `key` is the full key (as stored in Redis). */
export interface CacheEventMap {
  /** A lookup answered by a tier (`stale`: a stale copy served while it is refreshed). */
  hit: { cache: string; key: string; tier: 'l1' | 'l2' | 'stale' };
  /** A lookup no tier could answer. */
  miss: { cache: string; key: string };
  /** `tags` are tag ids as stored (`tag:{prefix}[:t={tenant}]:{tag}`, escaped), not the caller's tag names. */
  set: { cache: string; key: string; tags: readonly string[] };
  delete: { cache: string; keys: readonly string[] };
  /** Tags (or a namespace) invalidated; `ids` are the invalidation ids (`tag:…`, `ns:…`). */
  invalidate: { cache: string; ids: readonly string[] };
  /** A cache fault that was degraded (or thrown with `strict`): Redis, a factory, a corrupt entry. */
  error: { cache: string; tier: 'l2' | 'l3' | 'factory'; error: unknown; key?: string };
  /** The Redis circuit breaker opened (Redis unreachable) or closed (Redis back). */
  'circuit-open': { state: BreakerState; reason: string };
  'circuit-close': { state: BreakerState; reason: string };
  /**
   * A `@CacheWarmer` run ended, or an interval tick was skipped. `warmer` is `Class.method`; the entry
   * counts are this run's (zero for a skip); `error` is what the warmer threw (outcome `error`).
   */
  warmer: { warmer: string; cache: string; outcome: WarmerOutcome; warmed: number; fresh: number; failed: number; durationMs: number; error?: unknown };
}

export type CacheEventName = keyof CacheEventMap;
export type CacheEventListener<E extends CacheEventName> = (payload: CacheEventMap[E]) => void;

/**
 * The events of one cache stack: `events.on('miss', ({ cache, key }) => …)`. Injectable as
 * `CacheEvents`, and reachable from any view as `cache.events`.
 *
 * Cheap when no one listens: the engine checks `listening` (a number) before it builds a payload, so
 * an L1 hit pays one comparison. A listener that throws is logged once and never breaks the cache call.
 */
export class CacheEvents {
  /** How many listeners are registered in all; the engine emits only when it is not 0. */
  listening = 0;
  private readonly listeners = new Map<CacheEventName, Set<CacheEventListener<CacheEventName>>>();
  private failedOnce = false;

  constructor(private readonly onListenerError: (error: unknown, event: CacheEventName) => void = () => undefined) {}

  /** Subscribes; returns a function that unsubscribes. */
  on<E extends CacheEventName>(event: E, listener: CacheEventListener<E>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const size = set.size;
    set.add(listener as CacheEventListener<CacheEventName>);
    this.listening += set.size - size;
    return () => this.off(event, listener);
  }

  once<E extends CacheEventName>(event: E, listener: CacheEventListener<E>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<E extends CacheEventName>(event: E, listener: CacheEventListener<E>): void {
    const set = this.listeners.get(event);
    if (set?.delete(listener as CacheEventListener<CacheEventName>)) this.listening -= 1;
  }

  /** True when someone listens to `event` (build costly payloads only then). */
  has(event: CacheEventName): boolean {
    return this.listening !== 0 && (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit<E extends CacheEventName>(event: E, payload: CacheEventMap[E]): void {
    const set = this.listeners.get(event);
    if (set === undefined || set.size === 0) return;
    for (const listener of set) {
      try {
        listener(payload);
      } catch (error) {
        if (!this.failedOnce) {
          this.failedOnce = true;
          this.onListenerError(error, event);
        }
      }
    }
  }

  removeAll(): void {
    this.listeners.clear();
    this.listening = 0;
  }
}
