import { Injectable } from '@nestjs/common';
import { CacheEvict, CacheService, Cacheable, type Duration, InjectCache } from '@strata/cache';

export interface Product {
  id: string;
  name: string;
  /** How many times the "database" was read for this service: a cached call does not add one. */
  loads: number;
}

@Injectable()
export class ProductsService {
  private loads = 0;
  private readonly names = new Map<string, string>();

  constructor(@InjectCache('products') private readonly cache: CacheService) {}

  @Cacheable({ name: 'products', key: (id: string) => `product:${id}` })
  async find(id: string): Promise<Product> {
    this.loads += 1;
    return { id, name: this.names.get(id) ?? `Product ${id}`, loads: this.loads };
  }

  @CacheEvict({ name: 'products', keys: (id: string) => `product:${id}` })
  async rename(id: string, name: string): Promise<void> {
    this.names.set(id, name);
  }

  /** A per-call ttl that may be unset (then the named cache's): passing `undefined` type-checks under exactOptionalPropertyTypes. */
  private readonly priceTtl: Duration | undefined = process.env.PRICE_TTL_MS === undefined ? undefined : Number(process.env.PRICE_TTL_MS);

  /** The same named cache through the injected service. */
  async price(id: string): Promise<{ id: string; cents: number; loads: number }> {
    return this.cache.getOrSet(`price:${id}`, async () => {
      this.loads += 1;
      return { id, cents: 100 * id.length, loads: this.loads };
    }, { ttl: this.priceTtl, tags: undefined });
  }
}
