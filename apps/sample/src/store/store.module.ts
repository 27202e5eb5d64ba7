import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { MemoryStore } from './memory.store';
import { PostgresStore } from './postgres.store';
import { SampleStore } from './sample.store';

/** `SampleStore` for every module: PostgreSQL when `DATABASE_URL` is set (read at startup), memory otherwise. */
@Global()
@Module({
  providers: [
    {
      provide: SampleStore,
      useFactory: async (): Promise<SampleStore> => {
        const url = process.env.DATABASE_URL;
        if (!url) return new MemoryStore();
        const store = await PostgresStore.connect(url);
        Logger.log('data in PostgreSQL (DATABASE_URL)', 'SampleStore');
        return store;
      },
    },
  ],
  exports: [SampleStore],
})
export class StoreModule implements OnApplicationShutdown {
  constructor(@Inject(SampleStore) private readonly store: SampleStore) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.store instanceof PostgresStore) await this.store.close();
  }
}
