import type { CacheEntry } from '../src/core/entry';
import type { CacheTier, TierWrite } from '../src/tiers/tier';
import { JsonSerializer } from '../src/codec/json.serializer';

const serializer = new JsonSerializer();

export function write(key: string, value: unknown, overrides: Partial<CacheEntry> = {}): TierWrite {
  const now = Date.now();
  const entry: CacheEntry = {
    value,
    createdAt: now,
    expiresAt: now + 60_000,
    staleUntil: now + 120_000,
    tags: ['tag:a', 'tag:b'],
    ...overrides,
  };
  return { key, entry, serialized: serializer.stringify(value) };
}

/**
 * One suite for every tier (bentocache's driver test suite idea): what a tier must do, whatever it
 * stores in. `tier()` is read inside each test, after the suite's `beforeAll` made it.
 */
export function tierConformance(name: string, tier: () => CacheTier): void {
  describe(`${name} tier conformance`, () => {
    it('returns undefined for a key it does not hold', async () => {
      expect(await tier().get('conf:missing')).toBeUndefined();
    });

    it.each([
      ['an object', { id: 1, name: 'Ada', nested: { list: [1, 2, 3], flag: true, none: null } }],
      ['a string', 'plain text with unicode ✓ and "quotes"'],
      ['a number', 42.5],
      ['a boolean', false],
      ['null', null],
      ['a Date', new Date('2026-01-02T03:04:05.678Z')],
      ['a Map', new Map<string, unknown>([['a', 1], ['b', { c: [2] }]])],
      ['a Set', new Set([1, 'two', 3])],
      ['a Buffer', Buffer.from([0, 1, 2, 250, 255])],
      ['a BigInt', 12345678901234567890n],
      ['an array of mixed types', [1, 'a', new Date(0), { m: new Map([[1, 2]]) }]],
    ])('stores and returns %s with its envelope', async (_label, value) => {
      const w = write(`conf:value:${_label}`, value);
      await tier().set(w);
      const got = await tier().get(w.key);
      expect(got).toBeDefined();
      expect(got!.value).toEqual(value);
      expect(got!.createdAt).toBe(w.entry.createdAt);
      expect(got!.expiresAt).toBe(w.entry.expiresAt);
      expect(got!.staleUntil).toBe(w.entry.staleUntil);
      expect([...got!.tags]).toEqual(['tag:a', 'tag:b']);
    });

    it('keeps a __proto__ key as data and never touches Object.prototype', async () => {
      const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
      const w = write('conf:proto', value);
      await tier().set(w);
      const got = (await tier().get(w.key))!.value as Record<string, unknown>;
      expect(Object.prototype.hasOwnProperty.call(got, '__proto__')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('overwrites a key', async () => {
      await tier().set(write('conf:over', 1));
      await tier().set(write('conf:over', 2));
      expect((await tier().get('conf:over'))!.value).toBe(2);
    });

    it('reads many keys in order, with undefined for the missing ones', async () => {
      await tier().setMany([write('conf:m1', 'one'), write('conf:m3', 'three')]);
      const got = await tier().getMany(['conf:m1', 'conf:m2', 'conf:m3']);
      expect(got.map((e) => e?.value)).toEqual(['one', undefined, 'three']);
      expect(await tier().getMany([])).toEqual([]);
    });

    it('deletes keys, and deleting a missing key is fine', async () => {
      await tier().setMany([write('conf:d1', 1), write('conf:d2', 2), write('conf:d3', 3)]);
      await tier().delete(['conf:d1', 'conf:d2', 'conf:never']);
      const got = await tier().getMany(['conf:d1', 'conf:d2', 'conf:d3']);
      expect(got.map((e) => e?.value)).toEqual([undefined, undefined, 3]);
      await tier().delete([]);
    });

    it('increments a counter atomically from concurrent callers', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => tier().increment('conf:ctr', 1, 60_000)));
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await tier().increment('conf:ctr', 10, 60_000)).toBe(60);
      expect(await tier().increment('conf:ctr2', -3, 60_000)).toBe(-3);
    });

    it('does not store an entry whose stale window is already over', async () => {
      const now = Date.now();
      await tier().set(write('conf:expired-write', 'old'));
      await tier().set(write('conf:expired-write', 'gone', { createdAt: now - 10_000, expiresAt: now - 5_000, staleUntil: now - 1 }));
      const got = await tier().get('conf:expired-write');
      // The memory tier keeps what it is given (the engine checks freshness); Redis drops it at once.
      if (got !== undefined) expect(got.value).toBe('gone');
    });
  });
}
