import type { CacheEntry } from '../core/entry';

export const DEPENDENCY_PREFIX = 'dep:';

/**
 * The invalidation id an entry carries when it depends on `key` (a full key): `dep:<key>`. Deleting or
 * overwriting `key` records a time for this id, which makes every dependent created before it a miss.
 */
export function dependencyId(fullKey: string): string {
  return DEPENDENCY_PREFIX + fullKey;
}

export function isDependencyId(id: string): boolean {
  return id.startsWith(DEPENDENCY_PREFIX);
}

/**
 * The tags of an entry that depends on other entries (cascade, see docs/ARCHITECTURE.md#invalidation). Besides `dep:<key>` for each
 * direct dependency, it inherits every id its dependencies carry (their tags and their own `dep:` ids),
 * so invalidating anything upstream, at any depth, covers it, at O(1) cost per invalidation: nothing is
 * walked when a key is deleted. The price is paid on the dependent's write (one read per dependency)
 * and in its size (its tag list grows with the depth of the chain).
 *
 * Limit: a dependency that is not cached when the dependent is written passes on only its own `dep:` id
 * (its upstream is unknown then). Nothing is dropped from the list: a shorter list would be a wrong one.
 */
export function dependentTags(
  own: readonly string[],
  directIds: readonly string[],
  dependencies: ReadonlyArray<CacheEntry | undefined>,
): string[] {
  const tags = new Set<string>(own);
  for (const id of directIds) tags.add(id);
  for (const entry of dependencies) if (entry !== undefined) for (const id of entry.tags) tags.add(id);
  return [...tags];
}
