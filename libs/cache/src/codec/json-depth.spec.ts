import { mayNestDeeperThan, nestsDeeperThan, valueNestsDeeperThan } from './json-depth';

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

describe('the cheap answers agree with the scan', () => {
  const cases: string[] = [
    '[' + '[],'.repeat(100) + '[]]',
    '{"a":'.repeat(11) + '1' + '}'.repeat(11),
    '['.repeat(10) + ']'.repeat(10),
    '['.repeat(11) + ']'.repeat(11),
    JSON.stringify({ s: '{{{{{{{{{{{{[[[[[[', rows: [[[{}]], [], {}] }),
    JSON.stringify([{ a: [{ b: [{ c: [] }] }] }, 'x'.repeat(40)]),
    JSON.stringify(Array.from({ length: 30 }, (_, i) => ({ i, n: [i] }))),
  ];

  it.each(cases.map((text) => [text.slice(0, 40), text]))('%s', (_label, text) => {
    for (const max of [0, 1, 2, 3, 5, 10]) {
      const deeper = nestsDeeperThan(text, max);
      expect(valueNestsDeeperThan(JSON.parse(text), max)).toBe(deeper);
      // Never false when the scan says true: it only rules out what cannot nest that deep.
      if (deeper) expect(mayNestDeeperThan(text, max)).toBe(true);
    }
  });

  it('rules out text with few opening brackets without a pass, and stops walking at the bound', () => {
    expect(mayNestDeeperThan(JSON.stringify({ text: 'x'.repeat(10_000), list: [1, 2, 3] }), 10)).toBe(false);
    let deep: unknown = 0;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(valueNestsDeeperThan(deep, 1000)).toBe(true);
  });
});
