/**
 * A matcher with Redis glob semantics for the patterns Strata builds (`KeySpace.pattern`): `*` and `?`
 * are wildcards, every other character is literal (caller input is percent-escaped, so `[`, `]` and `\`
 * never reach a pattern unescaped). Matching is on UTF-8 bytes, as Redis does, so `?` is one byte: an L1
 * key is dropped exactly when its Redis copy would have been removed.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const bytes = Buffer.from(pattern, 'utf8').toString('latin1');
  let source = '^';
  for (const ch of bytes) {
    if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else source += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  const regex = new RegExp(source + '$');
  return (key) => regex.test(Buffer.from(key, 'utf8').toString('latin1'));
}
