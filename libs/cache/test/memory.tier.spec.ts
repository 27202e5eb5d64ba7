import { JsonSerializer } from '../src/codec/json.serializer';
import { MemoryTier } from '../src/tiers/memory.tier';
import { tierConformance, write } from './tier-conformance';

const serializer = new JsonSerializer();
const build = (options: Partial<ConstructorParameters<typeof MemoryTier>[0]> = {}) =>
  new MemoryTier({
    maxEntries: 1000,
    maxBytes: 1024 * 1024,
    parse: (s) => serializer.parse(s.text, s.tagged),
    ...options,
  });

describe('MemoryTier', () => {
  let tier: MemoryTier;
  beforeAll(() => (tier = build()));
  tierConformance('memory', () => tier);

  it('is bounded by bytes: big entries evict older ones', () => {
    const evicted: string[] = [];
    const small = build({ maxBytes: 64 * 1024, onEvict: (key) => evicted.push(key) });
    const text = 'x'.repeat(10_000); // ~20 KB as UTF-16
    for (let i = 0; i < 5; i++) small.store(write(`big:${i}`, text));
    expect(small.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(small.peek('big:0')).toBeUndefined();
    expect(small.peek('big:4')?.value).toBe(text);
    expect(evicted).toContain('big:0');
  });

  it('is bounded by entries', () => {
    const small = build({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) small.store(write(`e:${i}`, i));
    expect(small.entries).toBe(3);
  });

  it('does not keep a value larger than the whole tier', () => {
    const small = build({ maxBytes: 1024 });
    small.store(write('huge', 'y'.repeat(5000)));
    expect(small.peek('huge')).toBeUndefined();
  });

  it('keeps its own frozen copy: neither the writer nor a reader can change what others read', () => {
    const original = { items: [{ n: 1 }], title: 'a' };
    tier.store(write('frozen', original));
    original.items[0].n = 99; // the writer changes its own object afterwards
    const first = tier.peek('frozen')!.value as typeof original;
    expect(first.items[0].n).toBe(1);
    expect(Object.isFrozen(first) && Object.isFrozen(first.items[0])).toBe(true);
    expect(() => {
      first.items[0].n = 5;
    }).toThrow(TypeError);
    expect((tier.peek('frozen')!.value as typeof original).items[0].n).toBe(1);
  });

  it('hands out a fresh copy of values that cannot be frozen (Map, Set, Date, Buffer)', () => {
    tier.store(write('map', { m: new Map([['k', 1]]) }));
    const a = tier.peek('map')!.value as { m: Map<string, number> };
    a.m.set('k', 2);
    const b = tier.peek('map')!.value as { m: Map<string, number> };
    expect(b.m.get('k')).toBe(1);
    expect(a).not.toBe(b);
  });

  it('counters expire after their ttl', () => {
    const t0 = 1_000_000;
    expect(tier.incrementSync('c', 1, 100, t0)).toBe(1);
    expect(tier.incrementSync('c', 1, 100, t0 + 50)).toBe(2);
    expect(tier.incrementSync('c', 1, 100, t0 + 100)).toBe(1);
  });
});
