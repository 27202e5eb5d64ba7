import fc from 'fast-check';
import { KeySpace, argsKey, digest, globLiteral, markedArgsText, patternSegment, segment, tenantOfKey } from './keys';
import { globMatcher } from './glob';

describe('key helpers', () => {
  it('argsKey: the fast path for plain arguments writes exactly what the general path writes', () => {
    const plain = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(-0));
    const general = (args: readonly unknown[]) => {
      const text = markedArgsText(args);
      return text.length <= 64 ? text : '#' + digest(text);
    };
    fc.assert(
      fc.property(fc.array(plain, { maxLength: 5 }), (args) => {
        expect(argsKey(args)).toBe(general(args));
      }),
      { numRuns: 500 },
    );
    // Lone surrogates, quotes, control characters, number forms: written the same by both.
    for (const args of [['\ud800'], ['a"b\\c'], ['\u0000\u001f'], [1e21, -0, 0.1], [true, 'true', 1, '1'], ['x'.repeat(80)]]) {
      expect(argsKey(args)).toBe(general(args));
    }
    expect(new Set([argsKey([1]), argsKey(['1']), argsKey([true]), argsKey(['true']), argsKey([1n]), argsKey([undefined])]).size).toBe(6);
  });

  it('patternSegment: * and ? stay wildcards, a backslash makes the next character literal, the rest is escaped as keys are', () => {
    expect(patternSegment('user:*')).toBe('user%3A*');
    expect(patternSegment('a\\*b?')).toBe('a%2Ab?');
    expect(patternSegment('[x]')).toBe('%5Bx%5D');
    expect(patternSegment('trailing\\')).toBe('trailing%5C');
    expect(patternSegment(`id:${globLiteral('a*?\\b')}:*`)).toBe('id%3Aa%2A%3F%5Cb%3A*');
  });

  it('a literal value in a pattern matches exactly the keys holding it, however hostile', () => {
    const space = new KeySpace({ prefix: 'p', namespace: 'n', name: 'c' });
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '*', '?', '[', ']', '\\', ':', '%'), maxLength: 6 }), fc.string({ minLength: 1, maxLength: 6 }), (value, other) => {
        const matches = globMatcher(space.pattern(`${globLiteral(value)}:*`));
        expect(matches(space.key(`${value}:x`))).toBe(true);
        if (!other.startsWith(`${value}:`)) expect(matches(space.key(other))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('tenantOfKey reads the escaped tenant segment back, and nothing from a key without one', () => {
    expect(tenantOfKey(new KeySpace({ prefix: 'p', namespace: 'n', tenant: 'a:b', name: 'c' }).key('t=x:y'))).toBe(segment('a:b'));
    expect(tenantOfKey(new KeySpace({ prefix: 'p', namespace: 'n', name: 't=x' }).key('k'))).toBeUndefined();
    expect(tenantOfKey(new KeySpace({ prefix: 'p', namespace: 'n', name: 'c' }).key('t=x:y'))).toBeUndefined();
    expect(tenantOfKey('nocolon')).toBeUndefined();
  });
});
