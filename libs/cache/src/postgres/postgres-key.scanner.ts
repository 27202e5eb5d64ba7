import { delay } from '../core/durations';
import type { KeyScanner, ScanOptions, ScanProgress } from '../ports/key-scanner';
import type { PostgresSession } from './postgres.connection';
import type { PostgresTables } from './postgres.schema';

/**
 * Pattern invalidation in PostgreSQL: keys matching a Redis glob are found with `LIKE` on the primary
 * key (byte-ordered, so a literal prefix is an index range), `count` at a time in key order, and deleted
 * by key. Each statement is short; nothing locks the table.
 */
export class PostgresKeyScanner implements KeyScanner {
  constructor(
    private readonly session: PostgresSession,
    private readonly tables: PostgresTables,
  ) {}

  async deleteMatching(pattern: string, options: ScanOptions, progress: ScanProgress): Promise<void> {
    const like = globToLike(pattern);
    const t = this.tables.entries;
    let after = '';
    for (;;) {
      const keys = (
        await this.session.query<{ key: string }>(`SELECT key FROM ${t} WHERE key LIKE $1 AND key > $2 ORDER BY key LIMIT $3`, [like, after, options.count])
      ).rows.map((row) => row.key);
      if (keys.length === 0) return;
      after = keys[keys.length - 1];
      const doomed = options.keep ? keys.filter((key) => !options.keep!(key)) : keys;
      if (doomed.length > 0) {
        const result = await this.session.query(`DELETE FROM ${t} WHERE key = ANY($1::text[])`, [doomed]);
        progress.removed += result.rowCount ?? 0;
      }
      if (keys.length < options.count) return;
      if (options.pause > 0) await delay(options.pause);
    }
  }
}

/** A Redis glob (`*`, `?`, `\x` literal, the rest literal) as a `LIKE` pattern with `\` as its escape. */
export function globToLike(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    let ch = glob[i];
    if (ch === '*') {
      out += '%';
      continue;
    }
    if (ch === '?') {
      out += '_';
      continue;
    }
    if (ch === '\\' && i + 1 < glob.length) ch = glob[++i];
    out += ch === '%' || ch === '_' || ch === '\\' ? '\\' + ch : ch;
  }
  return out;
}
