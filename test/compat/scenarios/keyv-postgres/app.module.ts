import { Module, type Type } from '@nestjs/common';
import { CacheModule } from '@strata/cache/compat';
import KeyvPostgres from '@keyv/postgres';
import { Keyv } from 'keyv';
import { StoreController } from '../redis-stores/app.module';

/**
 * A cache-manager app on a PostgreSQL Keyv store (`stores: [new Keyv({ store: new KeyvPostgres(uri) })]`),
 * only the import changed: Strata's L2 is then the Keyv store through its store port (KeyvAdapters);
 * with no memory store listed there is no L1, as in cache-manager.
 */
export function postgresApp(store: KeyvPostgres): Type<unknown> {
  @Module({
    imports: [
      CacheModule.registerAsync({
        useFactory: () => ({
          stores: [new Keyv({ store })],
        }),
      }),
    ],
    controllers: [StoreController],
  })
  class AppModule {}
  return AppModule;
}
