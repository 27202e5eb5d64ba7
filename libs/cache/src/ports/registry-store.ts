/**
 * Small shared sets and maps that features need to find again across instances (the AI cache's tenants
 * and semantic scopes). Adapters: Redis (a set, a hash), memory. Every method may reject when the store
 * cannot answer.
 */
export interface RegistryStore {
  /** Adds `member` to the set `setKey`. */
  addMember(setKey: string, member: string): Promise<void>;
  /** Every member of the set `setKey` (none when it does not exist). */
  members(setKey: string): Promise<string[]>;
  /** Sets `field` of the map `mapKey` to `value`; the whole map lives `ttlMs` more. */
  putField(mapKey: string, field: string, value: string, ttlMs: number): Promise<void>;
  /** Every field of the map `mapKey` with its value. */
  fields(mapKey: string): Promise<Record<string, string>>;
  /** Removes fields of the map `mapKey`. */
  deleteFields(mapKey: string, fields: readonly string[]): Promise<void>;
}

export const RegistryStore = Symbol('RegistryStore');
