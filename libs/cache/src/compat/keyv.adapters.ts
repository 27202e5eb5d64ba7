import { loadPeer } from '../core/optional-peer';
import type { RemoteStore } from '../ports/remote-store';
import type { StoreAdapters } from '../ports/store-adapters';
import { type KeyvClient, KeyvRemoteStore } from './keyv-remote.store';

export interface KeyvAdaptersOptions {
  /** The Keyv namespace Strata's keys live under in the store. Default `'strata'`. */
  namespace?: string;
}

/**
 * Any Keyv storage adapter (`@keyv/postgres`, `@keyv/mongo`, `@keyv/sqlite`, `@keyv/redis`, …) as
 * Strata's L2: `CacheModule.forRoot({ store: new KeyvAdapters(new KeyvPostgres(uri)) })`. Only the
 * remote store: without scripts there is no cross-instance lock (each instance runs its own factory on
 * a miss), no fenced writes, no pattern walk and no bus, so the engine uses its in-process fallbacks
 * for those. The store you pass is yours: `close()` leaves it open.
 */
export class KeyvAdapters implements StoreAdapters {
  readonly remote: RemoteStore;

  constructor(store: object, options: KeyvAdaptersOptions = {}) {
    // Loaded here only: keyv is needed by those who use a Keyv store, no one else.
    const { Keyv } = loadPeer<{ Keyv: new (options: Record<string, unknown>) => KeyvClient }>('keyv', 'a Keyv store (KeyvAdapters)');
    // Our own Keyv over the store (a Keyv instance passed in gives its store): errors must reach the engine.
    const adapter = isKeyv(store) ? store.store : store;
    const keyv = new Keyv({ store: adapter, namespace: options.namespace ?? 'strata', throwOnErrors: true });
    this.remote = new KeyvRemoteStore(keyv, { shared: !(adapter instanceof Map) });
  }

  async close(): Promise<void> {}
}

function isKeyv(store: object): store is { store: object } {
  const keyv = store as { hooks?: unknown; stats?: unknown; store?: unknown };
  return keyv.hooks !== undefined && keyv.stats !== undefined && typeof keyv.store === 'object' && keyv.store !== null;
}
