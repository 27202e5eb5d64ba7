import type { CacheModuleOptions } from '../src';
import { type RedisClusterNode, type RedisClusterProcess, startCluster, waitFor } from './harness';
import { CacheFactory } from './cache-factory';
import { type HttpCacheApp, startHttpApp } from './support/http-app';
import { type LoadRequest, fmt, forRequests, startLoad, uniform, window } from './support/load';

const RATE = 300;
const NODE_TIMEOUT = 2_000;
const KEYS = 10_000;
const log = (line: string) => process.stdout.write(`${line}\n`);

/** `redis: { cluster: [...] }` end to end on 3 masters + 3 replicas (real processes). */
describe('on Redis Cluster', () => {
  let cluster: RedisClusterProcess;
  const apps = new CacheFactory();
  let current: HttpCacheApp | undefined;
  const options = (): CacheModuleOptions => ({
    redis: { cluster: cluster.startupNodes.map((n) => ({ ...n })), nodeTimeout: NODE_TIMEOUT },
    commandTimeout: 100,
  });

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: NODE_TIMEOUT });
  }, 180_000);
  afterAll(async () => {
    await apps.closeAll();
    await current?.app.close();
    await cluster?.stop();
  });

  it('getMany and setMany across slots, tags, increment, the lock and every Lua script, on every master', async () => {
    // Not about timeouts: a generous command timeout, so 200 per-key writes land on a busy machine.
    const a = await apps.create({ ...options(), prefix: 'c', memory: false, commandTimeout: 5_000 });
    const b = await apps.create({ ...options(), prefix: 'c', memory: false, commandTimeout: 5_000 });
    const ids = Array.from({ length: 200 }, (_, i) => `k${i}`);
    await a.cache.setMany(ids.map((id) => ({ key: id, value: id, tags: ['all'] })));
    expect(await b.cache.getMany(ids)).toEqual(ids);
    for (const master of cluster.masters) expect(await master.client().dbsize()).toBeGreaterThan(0); // spread over every slot range
    // Tags: the invalidation time goes through a Lua script (one key).
    await b.cache.invalidateTags(['all']);
    expect(await a.cache.getMany(ids.slice(0, 20))).toEqual(new Array(20).fill(undefined));
    // increment: a Lua script (one key).
    expect(await Promise.all([a.cache.increment('n'), b.cache.increment('n'), a.cache.increment('n')]).then((r) => r.sort())).toEqual([1, 2, 3]);
    // The lock (SET NX, PTTL, compare-and-delete) and the fenced write: two keys, one slot (hash tag).
    let runs = 0;
    const factory = async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return 'once';
    };
    const results = await Promise.all([...Array.from({ length: 20 }, () => a.cache.getOrSet('locked', factory)), ...Array.from({ length: 20 }, () => b.cache.getOrSet('locked', factory))]);
    expect(results.every((r) => r === 'once')).toBe(true);
    expect(runs).toBe(1);
    expect([a.cache.stats().lock.acquired + b.cache.stats().lock.acquired, a.cache.stats().lock.lost + b.cache.stats().lock.lost]).toEqual([1, 0]);
    // A corrupt entry is deleted by compare-and-delete (a Lua script, one key).
    const admin = cluster.client();
    await admin.set(a.cache.keyOf('bad'), 'garbage');
    expect(await a.cache.get('bad')).toBeUndefined();
    await waitFor(async () => (await admin.exists(a.cache.keyOf('bad'))) === 0, { message: 'corrupt entry not deleted' });
    // None of it failed on Redis's side (a CROSSSLOT error would count here).
    expect(a.cache.stats().l2.errors + b.cache.stats().l2.errors).toBe(0);
  });

  it('CLUSTER FAILOVER on a replica, then kill -9 of a master, under load: 0 failed requests, 0 mismatches against a 10k-key model', async () => {
    const ids = Array.from({ length: KEYS }, (_, i) => `m${i}`);
    // Warmed by another instance, patient enough for 10k writes on a busy box (the app's timeout is 100 ms).
    const warmer = await apps.create({ ...options(), prefix: 'model', ttl: '10m', commandTimeout: 5_000 });
    for (let i = 0; i < KEYS; i += 1000) await warmer.cache.setMany(ids.slice(i, i + 1000).map((id) => ({ key: id, value: { id, v: 1 } })));
    expect(warmer.cache.stats().l2.errors).toBe(0);
    const app = (current = await startHttpApp({ ...options(), prefix: 'model', memory: false, ttl: '10m' }));

    // 80% reads, 10% write-through, 10% write-then-invalidate, on keys drawn uniformly from 10k. A read
    // notes the model's version when it starts: the answer may be newer, never older.
    const next = uniform(42);
    const request = (): LoadRequest => {
      const id = ids[Math.floor(next() * KEYS)];
      const roll = next();
      if (roll < 0.1) return { method: 'PUT', path: `/items/${id}?mode=set` };
      if (roll < 0.2) return { method: 'PUT', path: `/items/${id}?mode=delete` };
      return { path: `/items/${id}`, note: { id, atLeast: app.source.version(id) } };
    };
    const load = startLoad({ baseUrl: app.baseUrl, rate: RATE, path: request, keepBodies: true });
    const at = (label: string) => ({ label, t: performance.now() - load.started });
    const events = [at('load')];
    await forRequests(() => load.samples, RATE);

    // A graceful, manual failover: the replica takes over its master's slots.
    const replica = cluster.replicas[0];
    events.push(at(`CLUSTER FAILOVER on ${replica.port}`));
    expect(await replica.client().cluster('FAILOVER')).toBe('OK');
    await waitFor(async () => (await replica.role()) === 'master', { timeoutMs: 30_000, message: 'the replica did not take over' });
    await cluster.waitForHealthy(15_000);
    events.push(at('healthy'));
    await forRequests(() => load.samples, 2 * RATE);

    // kill -9 of a master of another shard: its replica takes over after the node timeout and an election.
    const masters: RedisClusterNode[] = [];
    for (const node of cluster.nodes) if (node !== replica && (await node.role()) === 'master') masters.push(node);
    const victim = masters[0];
    const others = cluster.nodes.filter((node) => node !== victim);
    events.push(at(`kill -9 master ${victim.port}`));
    await victim.kill();
    await waitFor(async () => (await Promise.all(others.map((n) => n.role()))).filter((r) => r === 'master').length === 3, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'no replica took over the killed master',
    });
    events.push(at('replica promoted'));
    await waitFor(() => app.cache.stats().l2.state === 'closed', { timeoutMs: 30_000, message: 'the breaker did not close after the failover' });
    events.push(at('L2 closed'));
    await forRequests(() => load.samples, 2 * RATE);
    await victim.restart();
    await cluster.waitForHealthy(20_000);
    events.push(at('killed node back as a replica'));
    await forRequests(() => load.samples, RATE);
    const samples = await load.stop();

    // Reads during the run: never older than the model was when the read started.
    const stale = samples.filter((s) => {
      const note = s.note as { id: string; atLeast: number } | undefined;
      return note !== undefined && s.ok && (JSON.parse(s.body ?? '{}') as { v: number }).v < note.atLeast;
    });
    // After the run: every key the cache still holds matches the model.
    let mismatches = 0;
    let held = 0;
    for (let i = 0; i < KEYS; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const values = await app.cache.getMany<{ v: number }>(chunk);
      values.forEach((value, j) => {
        if (value === undefined) return;
        held += 1;
        if (value.v !== app.source.version(chunk[j])) mismatches += 1;
      });
    }
    const stats = app.cache.stats();
    log(`cluster: ${events.map((e) => `${e.label} @${(e.t / 1000).toFixed(1)} s`).join(', ')}`);
    log(`cluster: ${fmt(window(samples, 0, Number.POSITIVE_INFINITY))}; ${samples.filter((s) => s.method === 'PUT').length} writes`);
    log(
      `cluster: ${stale.length} reads older than the model; final sweep: ${held}/${KEYS} keys held by the cache, ${mismatches} mismatches; ` +
        `L2 errors ${stats.l2.errors}, keys in doubt now ${stats.l2.pending}`,
    );
    expect(samples.filter((s) => !s.ok)).toEqual([]);
    expect(stale).toEqual([]);
    expect(mismatches).toBe(0);
    expect(held).toBeGreaterThan(KEYS / 2);
  }, 120_000);

  it('the bus across kill -9 of the master holding its log: another instance keeps hearing every change', async () => {
    const shared = { ...options(), prefix: 'busfail', bus: { pingInterval: 200, pingTimeout: 200 } };
    const a = await apps.create(shared);
    const b = await apps.create(shared);
    await a.cache.set('k', 'v1');
    expect(await b.cache.get('k')).toBe('v1');
    // The master serving the log's slot (the others answer MOVED).
    const logKey = `${shared.prefix}:{__bus}:log`; // the bus log (README: ACL and key layout)
    let holder: RedisClusterNode | undefined;
    for (const node of cluster.nodes) {
      if ((await node.role()) !== 'master') continue;
      if ((await node.client().exists(logKey).catch(() => 0)) === 1) holder = node;
    }
    expect(holder).toBeDefined();
    const others = cluster.nodes.filter((node) => node !== holder);
    await holder!.kill();
    await waitFor(async () => (await Promise.all(others.map((n) => n.role()))).filter((r) => r === 'master').length === 3, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'no replica took over the killed master',
    });
    // Once A writes again (its writes fail until the cluster has moved the slots), each change reaches B.
    let probe = 0;
    await waitFor(async () => (await a.cache.set('probe', ++probe), a.cache.stats().l2.state === 'closed' && (await a.cache.get('probe')) === probe), {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'A to write again',
    });
    for (let version = 2; version <= 6; version++) {
      await a.cache.set('k', `v${version}`);
      await waitFor(async () => (await b.cache.get('k')) === `v${version}`, { timeoutMs: 30_000, message: `B to see v${version}` });
    }
    const sawAll = performance.now();
    await waitFor(() => b.cache.stats().bus.state === 'up', { timeoutMs: 30_000, intervalMs: 50, message: "B's bus to come back" });
    const busBack = performance.now() - sawAll;
    const bus = b.cache.stats().bus;
    log(`cluster, the bus up ${busBack.toFixed(0)} ms after B had seen every change`);
    log(`cluster, the bus after kill -9 of the log's master: state ${bus.state}, reconnects ${bus.reconciles}, read back ${bus.recovered}, L1 cleared ${bus.clears}`);
    expect(bus.state).toBe('up');
    await holder!.restart();
    await cluster.waitForHealthy(20_000);
  }, 180_000);
});
