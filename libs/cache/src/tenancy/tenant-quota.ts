/**
 * Byte accounting of L1 per group (a tenant), so one tenant cannot evict everyone else's hot set.
 *
 * Each group keeps its keys in insertion order (a `Map` keeps it; a rewrite moves the key to the end).
 * When a group goes over its quota, its own oldest-written entries are removed until it fits: the order
 * is by write, not by read, which is cheap (nothing happens on a hit) and only ever costs the tenant
 * that is over its share. Entries without a group (no tenant) are not counted.
 */
export class TenantQuota {
  private readonly groups = new Map<string, { bytes: number; sizes: Map<string, number> }>();

  constructor(
    /** Most bytes one group's entries may hold. */
    readonly maxBytes: number,
    /** The group of a full key, or undefined for a key that belongs to none. */
    readonly groupOf: (key: string) => string | undefined,
  ) {}

  /**
   * Records an entry just stored; returns the keys of the same group to remove so that it fits again.
   * The caller removes them, and `removed` is called for each (through the L1 dispose hook).
   */
  added(group: string, key: string, size: number): string[] {
    let usage = this.groups.get(group);
    if (usage === undefined) {
      usage = { bytes: 0, sizes: new Map() };
      this.groups.set(group, usage);
    }
    usage.sizes.set(key, size);
    usage.bytes += size;
    if (usage.bytes <= this.maxBytes) return [];
    const victims: string[] = [];
    let over = usage.bytes - this.maxBytes;
    for (const [victim, victimSize] of usage.sizes) {
      if (over <= 0) break;
      if (victim === key) continue;
      victims.push(victim);
      over -= victimSize;
    }
    return victims;
  }

  removed(group: string, key: string): void {
    const usage = this.groups.get(group);
    const size = usage?.sizes.get(key);
    if (usage === undefined || size === undefined) return;
    usage.sizes.delete(key);
    usage.bytes -= size;
    if (usage.sizes.size === 0) this.groups.delete(group);
  }

  /** Bytes held by one group's entries (the group is the escaped tenant segment of its keys). */
  bytesOf(group: string): number {
    return this.groups.get(group)?.bytes ?? 0;
  }
}
