import { delay } from '../core/durations';
import { globMatcher } from '../core/glob';
import type { KeyScanner, ScanOptions, ScanProgress } from '../ports/key-scanner';
import type { MemoryBackend } from './memory-backend';

/** Pattern deletes over the backend's keys, in batches of `count` with `pause` between them, like the SCAN walk. */
export class MemoryKeyScanner implements KeyScanner {
  constructor(private readonly backend: MemoryBackend) {}

  async deleteMatching(pattern: string, options: ScanOptions, progress: ScanProgress): Promise<void> {
    this.backend.check();
    const matches = globMatcher(pattern);
    const keys = new Set<string>();
    for (const map of this.backend.keyspaces) for (const key of map.keys()) if (matches(key) && !options.keep?.(key)) keys.add(key);
    const all = [...keys];
    for (let i = 0; i < all.length; i += options.count) {
      this.backend.check();
      for (const key of all.slice(i, i + options.count)) {
        let existed = false;
        for (const map of this.backend.keyspaces) if (this.backend.live(map, key) !== undefined && map.delete(key)) existed = true;
        if (existed) progress.removed += 1;
      }
      if (options.pause > 0 && i + options.count < all.length) await delay(options.pause);
    }
  }
}
