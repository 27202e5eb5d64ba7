import { type AdaptersFactory, eventually, uniqueKey, useAdapters } from './suite-support';

/** What the side stores (schedule, leases, registry, vector logs) must do. Parts not declared are skipped. */
export function registerSideStoresSuite(name: string, factory: AdaptersFactory): void {
  describe(`${name}: side stores conformance`, () => {
    const adapters = useAdapters(factory);

    it('schedule: members come due in time order, and stay until removed', async () => {
      const schedule = adapters.current.schedule;
      if (schedule === undefined) return;
      const [a, b, c] = [uniqueKey('a'), uniqueKey('b'), uniqueKey('c')];
      await schedule.add(b, 2_000);
      await schedule.add(a, 1_000);
      await schedule.add(c, Date.now() + 3_600_000);
      const due = (await schedule.due(Date.now(), 1000)).filter(([member]) => member === a || member === b || member === c);
      expect(due).toEqual([
        [a, 1_000],
        [b, 2_000],
      ]);
      await schedule.remove(a);
      const again = (await schedule.due(Date.now(), 1000)).map(([member]) => member);
      expect(again).toContain(b);
      expect(again).not.toContain(a);
      await schedule.remove(b);
      await schedule.remove(c);
    });

    it('leases: one owner at a time; only the owner extends; a lease lapses after its ttl', async () => {
      const leases = adapters.current.leases;
      if (leases === undefined) return;
      const name = uniqueKey('lease');
      expect(await leases.claim(name, 'a', 60_000)).toBe(true);
      expect(await leases.claim(name, 'b', 60_000)).toBe(false);
      expect(await leases.extend(name, 'b', 60_000)).toBe(false);
      expect(await leases.extend(name, 'a', 60_000)).toBe(true);
      const short = uniqueKey('short-lease');
      expect(await leases.claim(short, 'a', 30)).toBe(true);
      await eventually(() => leases.claim(short, 'b', 60_000), 'the lease to lapse');
    });

    it('registry: sets and maps, seen by another instance', async () => {
      const registry = adapters.current.registry;
      if (registry === undefined) return;
      const other = (await adapters.another()).registry!;
      const setKey = uniqueKey('set');
      await registry.addMember(setKey, 't1');
      await registry.addMember(setKey, 't2');
      await registry.addMember(setKey, 't1');
      expect((await other.members(setKey)).sort()).toEqual(['t1', 't2']);
      expect(await registry.members(uniqueKey('none'))).toEqual([]);
      const mapKey = uniqueKey('map');
      await registry.putField(mapKey, 'log1', 'gpt', 60_000);
      await registry.putField(mapKey, 'log2', 'claude', 60_000);
      expect(await other.fields(mapKey)).toEqual({ log1: 'gpt', log2: 'claude' });
      await registry.deleteFields(mapKey, ['log1']);
      expect(await registry.fields(mapKey)).toEqual({ log2: 'claude' });
      await registry.deleteFields(mapKey, []);
    });

    it('vector logs: appended records are read incrementally after an id, then dropped', async () => {
      const logs = adapters.current.vectorLogs;
      if (logs === undefined) return;
      const key = uniqueKey('vectors');
      await logs.append(key, [Buffer.from([1]), Buffer.from([2])], 60_000);
      await logs.append(key, [Buffer.from([3])], 60_000);
      const first = await logs.read(key, '0-0', 2);
      expect(first.map(([, record]) => record[0])).toEqual([1, 2]);
      const rest = await logs.read(key, first[1][0], 10);
      expect(rest.map(([, record]) => record[0])).toEqual([3]);
      expect(await logs.read(key, rest[0][0], 10)).toEqual([]);
      await logs.drop([key]);
      expect(await logs.read(key, '0-0', 10)).toEqual([]);
    });
  });
}
