import { registerBusTransportSuite } from './bus-transport.suite';
import { registerKeyScannerSuite } from './key-scanner.suite';
import { registerLockStoreSuite } from './lock-store.suite';
import { registerRemoteStoreSuite } from './remote-store.suite';
import { registerSideStoresSuite } from './side-stores.suite';
import type { AdaptersFactory } from './suite-support';
import { registerTimesStoreSuite } from './times-store.suite';

export { registerBusTransportSuite, registerKeyScannerSuite, registerLockStoreSuite, registerRemoteStoreSuite, registerSideStoresSuite, registerTimesStoreSuite };
export type { AdaptersFactory };

/**
 * Every conformance suite a set of adapters declares parts for: the remote store always, the others
 * when present. Call it from a jest spec (it uses jest's global `describe`/`it`/`expect`):
 *
 * ```ts
 * registerStoreAdaptersSuite('memory', { create: () => new MemoryAdapters({ backend }) });
 * ```
 */
export function registerStoreAdaptersSuite(name: string, factory: AdaptersFactory, parts: { lock?: boolean; times?: boolean; scanner?: boolean; bus?: boolean; side?: boolean } = {}): void {
  registerRemoteStoreSuite(name, factory);
  if (parts.times !== false) registerTimesStoreSuite(name, factory);
  if (parts.lock !== false) registerLockStoreSuite(name, factory);
  if (parts.scanner !== false) registerKeyScannerSuite(name, factory);
  if (parts.bus !== false) registerBusTransportSuite(name, factory);
  if (parts.side !== false) registerSideStoresSuite(name, factory);
}

// Helpers for testing an app that uses the cache.
export { ManualClock } from './manual-clock';
export { inspectCache } from './cache-inspector';
export type { CacheInspector } from './cache-inspector';
