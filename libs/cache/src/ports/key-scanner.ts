/**
 * Removes keys by pattern (pattern invalidation): Redis walks SCAN on every master, PostgreSQL a LIKE
 * on an index. Patterns use Redis glob syntax as built by `KeySpace.pattern` (`*`, `?`, the rest
 * literal). The walk is in short batches so other clients are never held up for long.
 */
export interface KeyScanner {
  /**
   * Deletes every key matching `pattern` except those `keep` says to keep; adds each key removed to
   * `progress.removed` as it goes (so a walk cut short still says how far it got). Rejects when the
   * store failed half-way (the caller runs it again later); keys written meanwhile may or may not be seen.
   */
  deleteMatching(pattern: string, options: ScanOptions, progress: ScanProgress): Promise<void>;
}

export const KeyScanner = Symbol('KeyScanner');

export interface ScanOptions {
  /** Keys looked at per round trip, and the most deleted per command. */
  readonly count: number;
  /** A pause after each batch (ms), so a long walk leaves the server room for other clients. */
  readonly pause: number;
  /** Keys that match but must stay (counters, which are not entries). */
  readonly keep?: (key: string) => boolean;
}

export interface ScanProgress {
  removed: number;
}

/**
 * The hard purge (`invalidation.purge`): an index of the keys written with each tag, so invalidating a
 * tag can also remove its keys in the background. Only stores with a cheap sorted index offer it.
 */
export interface TagIndex {
  /**
   * Adds written keys to the indexes of their tags: each group is one tag list and its keys with their
   * lifetimes (ms); an index lives `indexTtlMs` more and drops members already expired on the way.
   */
  add(groups: readonly TagIndexGroup[]): Promise<void>;
  /**
   * Moves the index of `id` aside in one atomic step (writes from then on start a fresh one) and returns
   * a handle to the snapshot, or undefined when there was no index.
   */
  detach(id: string): Promise<string | undefined>;
  /** Removes and returns up to `count` keys of a detached snapshot, soonest to expire first. */
  pop(snapshot: string, count: number): Promise<string[]>;
}

export const TagIndex = Symbol('TagIndex');

export interface TagIndexGroup {
  readonly ids: readonly string[];
  readonly indexTtlMs: number;
  readonly keys: ReadonlyArray<{ readonly key: string; readonly ttlMs: number }>;
}
