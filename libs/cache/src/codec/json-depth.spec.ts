import { nestsDeeperThan } from './json-depth';

describe('nestsDeeperThan', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  it('counts arrays and objects, at the bound and one past it', () => {
    expect(nestsDeeperThan(nested(10), 10)).toBe(false);
    expect(nestsDeeperThan(nested(11), 10)).toBe(true);
    expect(nestsDeeperThan('{"a":'.repeat(11) + '1' + '}'.repeat(11), 10)).toBe(true);
    expect(nestsDeeperThan('[' + '[],'.repeat(100) + '[]]', 10)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify('['.repeat(50) + '\\"[[[' + '"'.repeat(3));
    expect(nestsDeeperThan(`[${inString}]`, 2)).toBe(false);
    expect(nestsDeeperThan(`[${inString},[[${inString}]]]`, 2)).toBe(true);
  });

  it('short text cannot nest past the bound', () => {
    expect(nestsDeeperThan('[[[', 1000)).toBe(false);
  });
});
