import fc from 'fast-check';
import { InvalidKeyError } from './errors';
import { KeySpace, argsKey, segment } from './keys';

describe('keys', () => {
  const space = new KeySpace({ prefix: 'app', namespace: 'prod', name: 'ai' });

  it('builds {prefix}:{namespace}:{name}:{key}', () => {
    expect(space.key('user:1')).toBe('app:prod:ai:user%3A1');
    expect(new KeySpace({ prefix: 'app', namespace: 'prod', tenant: 'acme', name: 'ai' }).key('k')).toBe(
      'app:prod:t=acme:ai:k',
    );
  });

  it('scopes namespace and tag ids by tenant, and keeps counters apart from entries', () => {
    const acme = new KeySpace({ prefix: 'app', namespace: 'prod', tenant: 'acme', name: 'ai' });
    const globex = new KeySpace({ prefix: 'app', namespace: 'prod', tenant: 'globex', name: 'ai' });
    expect(acme.namespaceId).not.toBe(globex.namespaceId);
    expect(acme.tagId('user:1')).not.toBe(globex.tagId('user:1'));
    expect(acme.tagId('user:1')).toBe(new KeySpace({ ...acme.parts, namespace: 'other', name: 'x' }).tagId('user:1'));
    expect(acme.counterKey('k')).not.toBe(acme.key('k'));
    expect(acme.counterKey('k')).not.toBe(acme.key('#ctr:k'));
  });

  it('rejects empty and non-string keys with an InvalidKeyError (E_INVALID_KEY)', () => {
    expect(() => space.key('')).toThrow(InvalidKeyError);
    expect(() => space.key('')).toThrow(expect.objectContaining({ code: 'E_INVALID_KEY' }));
    expect(() => space.key(undefined as unknown as string)).toThrow(/non-empty string/);
  });

  it('hashes over-long and control-character keys', () => {
    const long = space.key('x'.repeat(10_000));
    expect(long.length).toBeLessThan(100);
    expect(long).toMatch(/^app:prod:ai:#[A-Za-z0-9_-]{32}$/);
    expect(space.key('a\u0000b')).toMatch(/:#[A-Za-z0-9_-]{32}$/);
    expect(space.key('a\nb')).not.toBe(space.key('a\rb'));
  });

  it('escapes glob characters so a key is never a pattern', () => {
    expect(segment('*?[]\\{}')).not.toMatch(/[*?[\]\\{}]/);
  });

  it('is injective across tenants, names and keys (property)', () => {
    const seg = fc.string({ unit: fc.constantFrom('a', ':', '*', '?', '[', ']', '\\', '=', '{', '}', '#', '%', 't', 'é', '\u0000') , minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.tuple(fc.option(seg, { nil: undefined }), seg, seg),
        fc.tuple(fc.option(seg, { nil: undefined }), seg, seg),
        ([t1, n1, k1], [t2, n2, k2]) => {
          const a = new KeySpace({ prefix: 'p', namespace: 'n', tenant: t1, name: n1 }).key(k1);
          const b = new KeySpace({ prefix: 'p', namespace: 'n', tenant: t2, name: n2 }).key(k2);
          const same = t1 === t2 && n1 === n2 && k1 === k2;
          return same ? a === b : a !== b;
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('makes stable keys from arguments regardless of property order', () => {
    expect(argsKey([{ a: 1, b: 2 }, 'x'])).toBe(argsKey([{ b: 2, a: 1 }, 'x']));
    const distinct = [[1], ['1'], [1n], ['1n'], ['n1'], [new Date(0)], [new Date(0).toISOString()], [null], [undefined], [[]], [{}], [new Map([[1, 2]])], [new Set([1])], [Buffer.from('a')], [NaN], [Infinity]];
    expect(new Set(distinct.map((args) => argsKey(args))).size).toBe(distinct.length);
    expect(argsKey([{ big: 'y'.repeat(500) }])).toMatch(/^#/);
  });
});
