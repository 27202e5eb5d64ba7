import type { RegistryStore } from '../ports/registry-store';
import type { L2Facade } from '../tiers/l2.facade';

const MEMO_LIMIT = 10_000;

/**
 * What the AI cache needs to find again for invalidations that span more than one view: the tenants it
 * has written for (tags are per tenant, so invalidating a model everywhere visits each tenant), and
 * the semantic scopes of each view with their model (so invalidating a model or a tenant also drops its
 * vector logs). Kept in Redis when there is one (a set and a hash), so every instance sees them.
 * Writes are remembered locally so each one is sent once.
 */
export class AiRegistry {
  private readonly localTenants = new Map<string, Set<string>>();
  private readonly localScopes = new Map<string, Map<string, string>>();
  private readonly written = new Set<string>();

  private readonly l2: L2Facade | undefined;
  private readonly store: RegistryStore | undefined;

  constructor(
    shared: { l2: L2Facade; store: RegistryStore } | undefined,
    /** How long a scope entry lives in Redis without being written again. */
    private readonly scopeTtlMs: number,
  ) {
    this.l2 = shared?.l2;
    this.store = shared?.store;
  }

  /** Awaited by the first write of a tenant, so that an invalidation started after it finds the tenant. */
  async rememberTenant(setKey: string, tenant: string): Promise<void> {
    let tenants = this.localTenants.get(setKey);
    if (tenants === undefined) this.localTenants.set(setKey, (tenants = new Set()));
    tenants.add(tenant);
    const { l2, store } = this;
    if (l2 === undefined || store === undefined || !this.once(`t|${setKey}|${tenant}`)) return;
    await l2.guard(() => store.addMember(setKey, tenant), undefined);
  }

  async tenants(setKey: string): Promise<string[]> {
    const all = new Set(this.localTenants.get(setKey) ?? []);
    const { l2, store } = this;
    if (l2 && store) for (const tenant of (await l2.guard(() => store.members(setKey), [])) ?? []) all.add(tenant);
    return [...all];
  }

  rememberScope(hashKey: string, logKey: string, model: string): void {
    let scopes = this.localScopes.get(hashKey);
    if (scopes === undefined) this.localScopes.set(hashKey, (scopes = new Map()));
    scopes.set(logKey, model);
    const { l2, store } = this;
    if (l2 === undefined || store === undefined || !this.once(`s|${hashKey}|${logKey}`)) return;
    void l2.guard(() => store.putField(hashKey, logKey, model, this.scopeTtlMs), undefined);
  }

  /** Removes and returns the scopes of a view (of one model, when given). */
  async takeScopes(hashKey: string, model?: string): Promise<string[]> {
    const found = new Map(this.localScopes.get(hashKey) ?? []);
    const { l2, store } = this;
    if (l2 && store) {
      const remote = await l2.guard(() => store.fields(hashKey), undefined);
      for (const [logKey, scopeModel] of Object.entries(remote ?? {})) found.set(logKey, scopeModel);
    }
    const taken = [...found].filter(([, scopeModel]) => model === undefined || scopeModel === model).map(([logKey]) => logKey);
    const local = this.localScopes.get(hashKey);
    for (const logKey of taken) {
      local?.delete(logKey);
      this.written.delete(`s|${hashKey}|${logKey}`);
    }
    if (l2 && store && taken.length > 0) await l2.guard(() => store.deleteFields(hashKey, taken), undefined);
    return taken;
  }

  private once(memo: string): boolean {
    if (this.written.has(memo)) return false;
    if (this.written.size >= MEMO_LIMIT) this.written.clear();
    this.written.add(memo);
    return true;
  }
}
