/**
 * Named leases with an owner and a TTL: one instance of a cluster runs a `@CacheWarmer` at a time.
 * Adapters: Redis (`SET NX PX`, extended by its owner only), memory (one process: always held).
 * Every method may reject when the store cannot answer.
 */
export interface LeaseStore {
  /** Takes the lease `name` for `ttlMs` if nobody holds it; true when `owner` holds it now. */
  claim(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease by `ttlMs` only while `owner` still holds it; true when extended. */
  extend(name: string, owner: string, ttlMs: number): Promise<boolean>;
}

export const LeaseStore = Symbol('LeaseStore');
