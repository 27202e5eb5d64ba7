/**
 * Stampede: 1000 concurrent callers of one missing key whose factory takes 50 ms, in one process and
 * spread over 4 processes sharing the Redis. Reports how often the factory ran and when the last caller
 * got its value.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { type BenchContext, type Section, type GoalResult, rangeCell, summarize } from '../lib';
import { type Peer, bentocache, cacheManager, cacheable, rawIoredis, rawLru, strata } from '../peers';

export const title = 'stampede';

export const CALLERS = 1000;
export const FACTORY_MS = 50;
const PROCESSES = 4;

/** Every library in its tiered layout (L1 + Redis), at defaults; lru-cache through its own `fetch`. */
export async function stampedePeers(ctx: BenchContext): Promise<Peer[]> {
  const lru = rawLru();
  const fetchPeer: Peer = {
    name: 'lru-cache fetch()',
    get: () => undefined,
    set: async () => undefined,
    getOrSet: (() => {
      let cache: ReturnType<typeof lru.fetchWith> | undefined;
      let current: (() => Promise<unknown>) | undefined;
      return (key: string, factory: () => Promise<unknown>) => {
        current = factory;
        cache ??= lru.fetchWith(() => current!());
        return cache.fetch(key);
      };
    })(),
    close: async () => undefined,
  };
  return [
    fetchPeer,
    rawIoredis(ctx),
    await strata(ctx, 'tiered'),
    await bentocache(ctx, 'tiered', false),
    await cacheable(ctx, 'tiered', false),
    await cacheManager(ctx, 'tiered', false),
  ];
}

/** Runs `callers` concurrent getOrSet calls; resolves the factory runs and when the last caller finished. */
export async function storm(peer: Peer, key: string, callers: number, value: unknown): Promise<{ runs: number; lastDoneAt: number }> {
  let runs = 0;
  const factory = async () => {
    runs += 1;
    await new Promise((resolve) => setTimeout(resolve, FACTORY_MS));
    return value;
  };
  let lastDoneAt = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      await peer.getOrSet(key, factory);
      lastDoneAt = Math.max(lastDoneAt, performance.timeOrigin + performance.now());
    }),
  );
  return { runs, lastDoneAt };
}

interface ChildResult {
  type: 'result';
  name: string;
  runs: number;
  lastDoneAt: number;
}

function row(name: string, runs: number[], times: number[]): string[] {
  return [name, rangeCell(runs, '', 0), rangeCell(times, ' ms', 0)];
}

export async function run(ctx: BenchContext): Promise<Section[]> {
  const sections: Section[] = [];
  // In one process: candidates interleaved run by run, a fresh key each time.
  {
    await ctx.flushRedis();
    const list = await stampedePeers(ctx);
    const runs = new Map<string, number[]>(list.map((p) => [p.name, []]));
    const times = new Map<string, number[]>(list.map((p) => [p.name, []]));
    ctx.log('stampede, one process');
    for (let r = 0; r < ctx.runs; r++) {
      for (const peer of list) {
        const started = performance.timeOrigin + performance.now();
        const result = await storm(peer, `storm:${r}`, CALLERS, ctx.value);
        runs.get(peer.name)!.push(result.runs);
        times.get(peer.name)!.push(result.lastDoneAt - started);
      }
    }
    for (const peer of list) await peer.close();
    sections.push({
      title: `Stampede in one process: ${CALLERS} concurrent callers, one missing key, ${FACTORY_MS} ms factory`,
      description: 'Factory runs and time until the last caller has its value, median of runs (min–max). Every library with L1 + Redis at its defaults.',
      columns: ['candidate', 'factory runs', 'time to last caller'],
      rows: list.map((p) => row(p.name, runs.get(p.name)!, times.get(p.name)!)),
    });
  }

  // Across processes: 4 children share the Redis, 250 callers each, started at the same instant.
  {
    await ctx.flushRedis();
    ctx.log('stampede, 4 processes');
    const children = await startChildren(ctx);
    try {
      const names = await ask<string[]>(children[0], { type: 'names' }, 'names');
      const runs = new Map<string, number[]>(names.map((n) => [n, []]));
      const times = new Map<string, number[]>(names.map((n) => [n, []]));
      for (let r = 0; r < ctx.runs; r++) {
        for (const name of names) {
          const startAt = Date.now() + 150;
          const results = await Promise.all(
            children.map((child) => ask<ChildResult>(child, { type: 'run', name, key: `xp:${r}`, callers: CALLERS / PROCESSES, startAt }, 'result')),
          );
          runs.get(name)!.push(results.reduce((n, res) => n + res.runs, 0));
          times.get(name)!.push(Math.max(...results.map((res) => res.lastDoneAt)) - startAt);
        }
      }
      const strataRuns = summarize(runs.get('Strata')!).median;
      const strataLate = summarize(times.get('Strata')!).median - FACTORY_MS;
      const goals: GoalResult[] = [
        {
          label: 'Strata cross-process stampede: 1 factory run',
          measured: `${strataRuns} factory runs (median)`,
          met: strataRuns <= 1,
          shortfall:
            strataRuns <= 1
              ? undefined
              : `${strataRuns - 1} runs too many: the cross-process lock (one script: SET NX PX + a look for the holder's result) let more than one process run the factory`,
        },
        {
          label: `Strata cross-process stampede: last caller ≤ factory (${FACTORY_MS} ms) + 10 ms`,
          measured: `factory + ${strataLate.toFixed(0)} ms (median)`,
          met: strataLate <= 10,
          shortfall: strataLate <= 10 ? undefined : `${(strataLate - 10).toFixed(0)} ms late`,
        },
      ];
      sections.push({
        title: `Stampede across ${PROCESSES} processes: ${CALLERS} callers in all (${CALLERS / PROCESSES} each), one missing key, ${FACTORY_MS} ms factory`,
        description: `${PROCESSES} child processes share the bench Redis; all start at the same instant. Factory runs are summed over processes; time is until the last caller in any process has its value.`,
        columns: ['candidate', 'factory runs (all processes)', 'time to last caller'],
        rows: names.map((n) => row(n, runs.get(n)!, times.get(n)!)),
        goals,
      });
    } finally {
      await Promise.all(children.map((child) => stopChild(child)));
    }
  }
  return sections;
}

async function startChildren(ctx: BenchContext): Promise<ChildProcess[]> {
  const children = Array.from({ length: PROCESSES }, () =>
    fork(path.join(__dirname, 'stampede.child.ts'), [ctx.redisUrl], {
      execArgv: ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(children.map((child) => waitFor(child, 'ready')));
  return children;
}

function waitFor<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; value?: T } & T) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve((message.value ?? message) as T);
    };
    const onExit = (code: number | null) => reject(new Error(`stampede child exited (${code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function ask<T>(child: ChildProcess, message: object, answer: string): Promise<T> {
  const reply = waitFor<T>(child, answer);
  child.send(message);
  return reply;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ type: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
