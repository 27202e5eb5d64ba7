import type { StoreAdapters } from '../ports/store-adapters';
import { MemoryBackend } from './memory-backend';
import { MemoryBusTransport } from './memory-bus.transport';
import { MemoryKeyScanner } from './memory-key.scanner';
import { MemoryLockStore } from './memory-lock.store';
import { MemoryLeaseStore, MemoryRegistryStore, MemoryScheduleStore, MemoryVectorLogStore } from './memory-side.stores';
import { MemoryTagIndex } from './memory-tag.index';
import { MemoryTimesStore } from './memory-times.store';
import { MemoryStore } from './memory.store';

export interface MemoryAdapterOptions {
  /** The backend to share (several caches on one backend act as instances on one Redis); default a new one. */
  backend?: MemoryBackend;
  /** Keys of this cache start with it (the module's `prefix`, escaped); default `'strata'`. */
  prefix?: string;
  /** Messages the bus log keeps; 0: no log. Default 1000. */
  logSize?: number;
}

/**
 * Every port in process, on one `MemoryBackend`: pass it as the module's `store` option for an
 * L2-shaped tier without a server (a single-node app), or share one backend between two modules to
 * test cross-instance behaviour (the bus, the lock, invalidation) without Redis.
 *
 * ```ts
 * CacheModule.forRoot({ store: new MemoryAdapters() })
 * ```
 */
export class MemoryAdapters implements StoreAdapters {
  readonly backend: MemoryBackend;
  readonly remote: MemoryStore;
  readonly times: MemoryTimesStore;
  readonly lock: MemoryLockStore;
  readonly scanner: MemoryKeyScanner;
  readonly tagIndex: MemoryTagIndex;
  readonly bus: MemoryBusTransport;
  readonly schedule: MemoryScheduleStore;
  readonly leases: MemoryLeaseStore;
  readonly registry: MemoryRegistryStore;
  readonly vectorLogs: MemoryVectorLogStore;

  constructor(options: MemoryAdapterOptions = {}) {
    const backend = options.backend ?? new MemoryBackend();
    const prefix = options.prefix ?? 'strata';
    this.backend = backend;
    this.remote = new MemoryStore(backend);
    this.times = new MemoryTimesStore(backend, `${prefix}:__inv:`);
    this.lock = new MemoryLockStore(backend);
    this.scanner = new MemoryKeyScanner(backend);
    this.tagIndex = new MemoryTagIndex(backend, prefix);
    this.bus = new MemoryBusTransport(backend, `${prefix}:__bus`, options.logSize ?? 1000);
    this.schedule = new MemoryScheduleStore(backend, `${prefix}:__sched`);
    this.leases = new MemoryLeaseStore(backend);
    this.registry = new MemoryRegistryStore(backend);
    this.vectorLogs = new MemoryVectorLogStore(backend);
  }

  async close(): Promise<void> {
    await this.bus.close();
  }
}
