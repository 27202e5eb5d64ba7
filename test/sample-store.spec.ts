import { MemoryStore } from '../apps/sample/src/store/memory.store';
import { PostgresStore } from '../apps/sample/src/store/postgres.store';
import type { SampleStore } from '../apps/sample/src/store/sample.store';
import { usePostgres } from '../libs/cache/test/harness';

interface Row {
  id: string;
  owner: string;
  n: number;
}

/** The sample's two stores answer alike; PostgreSQL's on a real server (the harness), two instances at once. */
describe.each(['memory', 'postgres'] as const)('sample store (%s)', (kind) => {
  const pg = kind === 'postgres' ? usePostgres() : undefined;
  let stores: SampleStore[];
  beforeAll(async () => {
    // Two PostgreSQL stores on one database, started together: the tables are created once, under a lock.
    stores = kind === 'memory' ? [new MemoryStore()] : await Promise.all([PostgresStore.connect(pg!.url), PostgresStore.connect(pg!.url)]);
  });
  afterAll(async () => {
    for (const store of stores ?? []) if (store instanceof PostgresStore) await store.close();
  });

  it('puts, reads, lists by tenant and field, deletes', async () => {
    const [store] = stores;
    await store.put<Row>('users', 'acme', 'b', { id: 'b', owner: 'x', n: 1 });
    await store.put<Row>('users', 'acme', 'a', { id: 'a', owner: 'y', n: 2 });
    await store.put<Row>('users', 'globex', 'a', { id: 'a', owner: 'x', n: 3 });
    expect(await store.get<Row>('users', 'acme', 'a')).toEqual({ id: 'a', owner: 'y', n: 2 });
    expect(await store.get('users', 'acme', 'zz')).toBeUndefined();
    expect((await store.list<Row>('users', 'acme')).map((r) => r.id)).toEqual(['a', 'b']);
    expect(await store.list<Row>('users', 'acme', { field: 'owner', equals: 'x' })).toEqual([{ id: 'b', owner: 'x', n: 1 }]);
    expect(await store.putIfAbsent<Row>('users', 'acme', 'a', { id: 'a', owner: 'z', n: 9 })).toEqual({ id: 'a', owner: 'y', n: 2 });
    expect(await store.delete('users', 'acme', 'a')).toBe(true);
    expect(await store.delete('users', 'acme', 'a')).toBe(false);
    expect(await store.get<Row>('users', 'globex', 'a')).toEqual({ id: 'a', owner: 'x', n: 3 });
  });

  it('update is an atomic read-modify-write, also from two instances at once', async () => {
    await stores[0].put<Row>('templates', '', 't', { id: 't', owner: '', n: 0 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % stores.length].update<Row>('templates', '', 't', (row) => ({ ...row, n: row.n + 1 }))));
    expect((await stores[0].get<Row>('templates', '', 't'))?.n).toBe(40);
    expect(await stores[0].update('templates', '', 'missing', (row) => row)).toBeUndefined();
  });
});
