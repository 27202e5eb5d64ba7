/**
 * Hits, side by side: L1 hit, L2-only hit at 1 and 64 in flight, tiered hit, getOrSet hit. Every library
 * caches the same 1 KB JSON value in the same Redis; each appears at its defaults and, where it has
 * one, at its fastest setting.
 */
import { isDeepStrictEqual } from 'node:util';
import Redis from 'ioredis';
import { type BenchContext, type Section, compare, goal, rangeCell, summarize, throughputSection } from '../lib';
import { type Layout, type Peer, bentocache, cacheManager, cacheable, rawIoredis, rawLru, strata } from '../peers';

export const title = 'hits';

/**
 * The candidates of one table. `defaultsOnly`: Strata and each peer at its defaults, without the raw
 * baseline and the fastest settings (build only what is measured: a peer built and left out of the list
 * is never closed, and its Redis client reconnects forever once the bench's redis-server stops).
 */
async function peers(ctx: BenchContext, layout: Layout, defaultsOnly = false): Promise<Peer[]> {
  const list: Peer[] = [];
  if (!defaultsOnly) list.push(layout === 'l2' ? rawIoredis(ctx) : rawLru());
  list.push(await strata(ctx, layout));
  for (const make of [bentocache, cacheable, cacheManager]) {
    list.push(await make(ctx, layout, false));
    // At L2 only, their fastest settings are their defaults (the knobs are about L1); cache-manager's
    // memory-only default is already its fastest.
    if (!defaultsOnly && layout !== 'l2' && !(make === cacheManager && layout === 'l1')) list.push(await make(ctx, layout, true));
  }
  return list;
}

/** Stores the value under `key` in every peer and checks each reads it back: a broken candidate would measure nothing. */
async function prepare(ctx: BenchContext, list: Peer[], key: string): Promise<void> {
  for (const peer of list) {
    await peer.set(key, ctx.value);
    const read = await peer.get(key);
    if (!isDeepStrictEqual(read, ctx.value)) throw new Error(`${peer.name} did not read back the value it stored`);
  }
}

function candidates(list: Peer[], op: (peer: Peer) => () => unknown): Record<string, () => unknown> {
  return Object.fromEntries(list.map((peer) => [peer.name, op(peer)]));
}

async function closeAll(list: Peer[]): Promise<void> {
  for (const peer of list) await peer.close();
}

export async function run(ctx: BenchContext): Promise<Section[]> {
  const sections: Section[] = [];
  const measure = { durationMs: ctx.runMs, runs: ctx.runs };

  // L1 hit.
  {
    const list = await peers(ctx, 'l1');
    await prepare(ctx, list, 'k');
    ctx.log('L1 hit');
    const figures = await compare(candidates(list, (p) => () => p.get('k')), measure);
    sections.push(
      throughputSection('L1 hit, 1 KB JSON', figures, {
        description: '`await cache.get(key)` of a key held in process memory; the first row is raw lru-cache.',
        goals: [
          goal(figures, 'Strata', 'bentocache', 10, 'Strata L1 hit ≥ 10× bentocache default get'),
          goal(figures, 'Strata', 'await lru.get', 0.6, 'Strata L1 hit ≥ 0.6× await lru.get (metrics on, issue 18)'),
        ],
      }),
    );
    await closeAll(list);
  }

  // L2-only hit, 1 and 64 in flight.
  for (const concurrency of [1, 64]) {
    await ctx.flushRedis();
    const list = await peers(ctx, 'l2');
    await prepare(ctx, list, 'k');
    ctx.log(`L2-only hit, ${concurrency} in flight`);
    const figures = await compare(candidates(list, (p) => () => p.get('k')), { ...measure, concurrency });
    sections.push(
      throughputSection(`L2-only hit, 1 KB JSON, ${concurrency} in flight`, figures, {
        description: 'Every library configured with Redis only (no L1), reading one key; the first row is raw ioredis `GET` + `JSON.parse`.',
        notes:
          concurrency === 1
            ? [
                'Strata\'s client does not auto-pipeline (since this run): ioredis keeps one auto-pipeline in flight per connection, so a ' +
                  'command waits for the batch before it. Measured on raw ioredis while changing it: 114 k ops/s plain vs 100 k auto-pipelined ' +
                  'at 64 in flight, and a tick lost per command one at a time.',
              ]
            : [
                "Where Strata's time goes at 64 in flight: one socket write per command was the largest cost (Node's writeUtf8String, " +
                  'a syscall each; raw ioredis pays it too). Strata corks its socket until the end of the tick, so the commands its callers send ' +
                  'in one tick leave in one write (redis/redis.tick-writes.ts; measured on raw ioredis alone: 94.5 k → 207 k reads/s). What is ' +
                  'left is the CRC-32 check, LZ4 inflate of entries ≥ 1 KiB, the envelope parse, and one promise layer per tier boundary.',
              ],
        goals:
          concurrency === 64
            ? [
                goal(figures, 'Strata', 'ioredis GET + JSON.parse', 0.85, 'Strata L2 hit at 64 in flight ≥ 0.85× raw ioredis GET + JSON.parse'),
                goal(figures, 'Strata', 'bentocache', 1.5, 'Strata L2 hit at 64 in flight ≥ 1.5× bentocache'),
              ]
            : undefined,
      }),
    );
    await closeAll(list);
  }

  // getOrSet L2-only hit at 64 in flight: what each call costs Redis (its CPU, from INFO cpu), beside the throughput.
  {
    await ctx.flushRedis();
    const list = await peers(ctx, 'l2');
    const factory = async () => ctx.value;
    // Many keys, read in turn: 64 callers of one key would share one read (Strata's and cache-manager's
    // in-process single flight), which measures coalescing, not what a read costs.
    const KEYS = 1000;
    for (const peer of list) {
      for (let i = 0; i < KEYS; i++) await peer.set(`g${i}`, ctx.value);
      if (!isDeepStrictEqual(await peer.getOrSet('g0', factory), ctx.value)) throw new Error(`${peer.name} did not read back the value it stored`);
    }
    ctx.log('getOrSet L2-only hit, Redis CPU');
    sections.push(await redisCpuSection(ctx, list, (p) => (i) => p.getOrSet(`g${i % KEYS}`, factory)));
    await closeAll(list);
  }

  // Tiered (L1 + Redis) hit, and getOrSet hit, on the same instances.
  {
    await ctx.flushRedis();
    const list = await peers(ctx, 'tiered');
    await prepare(ctx, list, 'k');
    ctx.log('tiered hit');
    const hit = await compare(candidates(list, (p) => () => p.get('k')), measure);
    sections.push(
      throughputSection('Tiered hit (L1 + Redis configured), 1 KB JSON', hit, {
        description: 'Each library configured with an in-memory L1 and Redis as L2; the key is hot, so L1 answers. First row: raw lru-cache.',
      }),
    );
    const factory = async () => ctx.value;
    for (const peer of list) await peer.getOrSet('g', factory);
    ctx.log('getOrSet hit');
    const getOrSet = await compare(candidates(list, (p) => () => p.getOrSet('g', factory)), measure);
    sections.push(
      throughputSection('getOrSet hit (L1 + Redis configured), 1 KB JSON', getOrSet, {
        description:
          'The get-or-compute call of each library on a hot key: Strata `getOrSet`, bentocache `getOrSet`, cacheable `getOrSet`, cache-manager `wrap`; first row: lru-cache get then set.',
      }),
    );
    await closeAll(list);
  }

  // getOrSet miss: a new key every call, so each call runs the factory and writes L1 and Redis (with
  // Strata's cluster-wide lock: SET NX, the factory, a fenced SET that releases the lock).
  {
    await ctx.flushRedis();
    const list = await peers(ctx, 'tiered', true);
    list.splice(1, 0, await strata(ctx, 'tiered', { name: 'Strata (lock: false)', options: { lock: false } }));
    const factory = async () => ctx.value;
    let n = 0;
    ctx.log('getOrSet miss');
    const miss = await compare(candidates(list, (p) => () => p.getOrSet(`miss:${++n}`, factory)), { ...measure, concurrency: 16 });
    sections.push(
      throughputSection('getOrSet miss (L1 + Redis configured), 1 KB JSON, 16 in flight', miss, {
        description:
          'A new key every call: a miss in both tiers, the factory (returns the value at once), the write to L1 and Redis. ' +
          'Strata at its defaults takes its cluster-wide stampede lock on every miss (`SET NX PX`, then a fenced write that releases it); ' +
          'the row below it has the lock off. The peers have no cross-process lock.',
      }),
    );
    await closeAll(list);
  }

  // set: 1,000 keys written in turn (L1 + Redis), one and 16 at a time. Strata's set also announces the
  // write on its bus (the other instances drop their copies) and looks for the key's dependency record;
  // the row below it has the bus off. First row: a hand-written SET PX.
  {
    await ctx.flushRedis();
    const list = [{ ...rawIoredis(ctx), name: 'hand-written SET' }, ...(await peers(ctx, 'tiered', true))];
    list.splice(2, 0, await strata(ctx, 'tiered', { name: 'Strata (bus: false)', options: { bus: false } }));
    let n = 0;
    for (const concurrency of [1, 16]) {
      ctx.log(`set, ${concurrency} in flight`);
      const figures = await compare(candidates(list, (p) => () => p.set(`set:${++n % 1000}`, ctx.value)), { ...measure, concurrency });
      sections.push(
        throughputSection(`set (L1 + Redis configured), 1 KB JSON, ${concurrency} in flight`, figures, {
          description:
            '1,000 keys written in turn. Strata at its defaults announces each write on its invalidation bus and looks for the key\'s ' +
            'dependency record, in the same round trip as the write; the row below it has the bus off. The peers run without one (as configured here). ' +
            'First row: a hand-written `SET PX` of the JSON text.',
        }),
      );
    }
    await closeAll(list);
  }
  return sections;
}

/**
 * Each candidate's calls at 64 in flight, rounds interleaved: calls per second and the Redis server's CPU
 * per call (`used_cpu_user + used_cpu_sys` of INFO cpu before and after the round; the bench's Redis
 * serves nothing else meanwhile), with the ratio to the first candidate per round.
 */
async function redisCpuSection(ctx: BenchContext, list: Peer[], op: (peer: Peer) => (i: number) => Promise<unknown>): Promise<Section> {
  const admin = new Redis(ctx.redisUrl);
  const redisCpu = async (): Promise<number> => {
    const info = await admin.info('cpu');
    const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    return (read('used_cpu_user') + read('used_cpu_sys')) * 1e6;
  };
  const calls = ctx.quick ? 4_000 : 10_000;
  const perSecond = new Map<string, number[]>(list.map((p) => [p.name, []]));
  const cpuPerCall = new Map<string, number[]>(list.map((p) => [p.name, []]));
  try {
    for (let round = 0; round <= ctx.runs; round++) {
      for (const peer of list) {
        const call = op(peer);
        let next = 0;
        const cpuBefore = await redisCpu();
        const started = performance.now();
        await Promise.all(Array.from({ length: 64 }, async () => {
          while (next < calls) await call(next++);
        }));
        const seconds = (performance.now() - started) / 1000;
        const cpu = (await redisCpu()) - cpuBefore;
        if (round === 0) continue; // warm-up
        perSecond.get(peer.name)!.push(calls / seconds);
        cpuPerCall.get(peer.name)!.push(cpu / calls);
      }
    }
  } finally {
    admin.disconnect();
  }
  const base = cpuPerCall.get(list[0].name)!;
  return {
    title: 'getOrSet L2-only hit, 1 KB JSON, 64 in flight: Redis CPU per call',
    description:
      `Every library configured with Redis only (no L1), its get-or-compute call on stored keys (1,000, read in turn); ${calls} calls a round, rounds interleaved, ` +
      'the Redis server\'s CPU (INFO cpu, user + sys) over the round divided by the calls: what a hit costs the shared Redis. First row: raw ioredis `GET` (+ `SET` on a miss).',
    columns: ['candidate', 'calls/s (median, min–max)', 'Redis CPU µs per call (median, min–max)', `× ${list[0].name}`],
    rows: list.map((p) => {
      const cpu = cpuPerCall.get(p.name)!;
      return [p.name, rangeCell(perSecond.get(p.name)!.map((v) => v / 1000), ' k', 1), rangeCell(cpu, ' µs', 1), summarize(cpu.map((v, i) => v / base[i])).median.toFixed(2)];
    }),
    notes: [
      "Strata's first read of an L1 miss is a plain GET while most such reads find their entry (a warm cache, as here), and the script that also takes the " +
        'stampede lock while most miss: the script costs Redis ~8× a GET (engine/get-or-set.handler.ts, FirstReads).',
    ],
  };
}
