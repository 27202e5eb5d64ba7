import { type AdaptersFactory, uniqueKey, useAdapters } from './suite-support';

/** What every `InvalidationTimesStore` must do. */
export function registerTimesStoreSuite(name: string, factory: AdaptersFactory): void {
  describe(`${name}: InvalidationTimesStore conformance`, () => {
    const adapters = useAdapters(factory);
    const times = () => {
      const found = adapters.current.times;
      if (found === undefined) throw new Error(`${name} declares no invalidation-times store`);
      return found;
    };

    it('reads 0 for an id never invalidated, and keeps the later of two times', async () => {
      const [a, b] = [uniqueKey('tag:a'), uniqueKey('tag:b')];
      expect(await times().read([a, b])).toEqual([0, 0]);
      await times().writeMax(new Map([[a, 200]]), 60_000);
      await times().writeMax(new Map([[a, 100], [b, 50]]), 60_000);
      expect(await times().read([a, b])).toEqual([200, 50]);
      await times().writeMax(new Map([[a, 300]]), 60_000);
      expect(await times().read([b, a])).toEqual([50, 300]);
    });

    it('writes many times at once (a replay after an outage)', async () => {
      const ids = Array.from({ length: 1200 }, (_, i) => uniqueKey(`many:${i}`));
      await times().writeMax(new Map(ids.map((id, i) => [id, i + 1])), 60_000);
      const read = await times().read(ids);
      expect(read[0]).toBe(1);
      expect(read[1199]).toBe(1200);
    });

    it('raises only tracked ids, and tracking keeps a recorded time', async () => {
      const [tracked, untracked] = [uniqueKey('dep:t'), uniqueKey('dep:u')];
      await times().track([tracked], 60_000);
      expect(await times().read([tracked])).toEqual([0]);
      expect(await times().raiseTracked([tracked, untracked], 500)).toEqual([true, false]);
      expect(await times().read([tracked, untracked])).toEqual([500, 0]);
      await times().track([tracked], 120_000);
      expect(await times().read([tracked])).toEqual([500]);
      expect(await times().raiseTracked([tracked], 400)).toEqual([true]);
      expect(await times().read([tracked])).toEqual([500]);
    });

    it('another set of adapters (another instance) reads the same times', async () => {
      const other = await adapters.another();
      const id = uniqueKey('ns:shared');
      await times().writeMax(new Map([[id, 42]]), 60_000);
      expect(await other.times!.read([id])).toEqual([42]);
    });
  });
}
