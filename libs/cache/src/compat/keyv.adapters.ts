import { loadPeer } from '../core/optional-peer';
import type { InvalidationTimesStore } from '../ports/invalidation-times-store';
import type { RemoteStore } from '../ports/remote-store';
import type { StoreAdapters } from '../ports/store-adapters';
import { type KeyvClient, KeyvRemoteStore } from './keyv-remote.store';
import { KeyvTimesStore } from './keyv-times.store';

export interface KeyvAdaptersOptions {
  /** The Keyv namespace Strata's keys live under in the store. Default `'strata'`. */
  namespace?: string;
}

/**
 * Any Keyv storage adapter (`@keyv/postgres`, `@keyv/mongo`, `@keyv/sqlite`, `@keyv/redis`, …) as
 * Strata's L2: `CacheModule.forRoot({ store: new KeyvAdapters(new KeyvPostgres(uri)) })`. The remote
 * store and the invalidation times; without scripts there is no cross-instance lock (each instance runs
 * its own factory on a miss), no fenced writes, no pattern walk and no bus, so the engine uses its
 * in-process fallbacks for those. The store you pass is yours: `close()` leaves it open.
 */
export class KeyvAdapters implements StoreAdapters {
  readonly remote: RemoteStore;
  readonly times: InvalidationTimesStore;

  constructor(store: object, options: KeyvAdaptersOptions = {}) {
    // Loaded here only: keyv is needed by those who use a Keyv store, no one else.
    const { Keyv } = loadPeer<{ Keyv: new (options: Record<string, unknown>) => KeyvClient & { on(event: 'error', listener: (error: unknown) => void): unknown } }>(
      'keyv',
      'a Keyv store (KeyvAdapters)',
    );
    // Our own Keyv over the store (a Keyv instance passed in gives its store): errors must reach the engine.
    const adapter = isKeyv(store) ? store.store : store;
    const keyv = new Keyv({ store: adapter, namespace: options.namespace ?? 'strata', throwOnErrors: true });
    // Failures reach the engine through the calls (throwOnErrors); an 'error' outside any call (a pool's
    // idle connection dropped by the server) must not be an unhandled 'error' event that ends the process.
    keyv.on('error', () => undefined);
    this.remote = new KeyvRemoteStore(keyv, { shared: !(adapter instanceof Map) });
    // Times under their own Keyv namespace, so they never meet an entry key.
    const times = new Keyv({ store: adapter, namespace: `${options.namespace ?? 'strata'}-times`, throwOnErrors: true });
    times.on('error', () => undefined);
    this.times = new KeyvTimesStore(times);
  }

  async close(): Promise<void> {}
}

function isKeyv(store: object): store is { store: object } {
  const keyv = store as { hooks?: unknown; stats?: unknown; store?: unknown };
  return keyv.hooks !== undefined && keyv.stats !== undefined && typeof keyv.store === 'object' && keyv.store !== null;
}
