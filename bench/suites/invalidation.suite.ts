/**
 * Invalidation benchmarks (issue 4): what tag invalidation costs over 100 and over 100,000 entries, and
 * pattern invalidation over 1,000,000 keys while another client samples the server's latency the way
 * `redis-cli --latency` does (it is that tool, run beside). Each part gets its own redis-server from the
 * test harness. Standalone: `node -r ts-node/register/transpile-only -r tsconfig-paths/register
 * bench/suites/invalidation.suite.ts [--quick] [--scan-count=100] [--scan-pause=0]`.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService, type CacheModuleOptions } from '@strata/cache';
import { findExecutable, startRedis } from '../../libs/cache/test/harness';
import { machine } from '../lib';

export interface TagInvalidationFigures {
  entries: number;
  calls: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export interface PatternInvalidationFigures {
  matching: number;
  others: number;
  scanCount: number;
  scanPause: number;
  removed: number;
  seconds: number;
  leftMatching: number;
  othersLeft: number;
  /** `redis-cli --latency` while it ran, and over the same time before it ran (the machine's noise). */
  latency: { during: LatencySample; idle: LatencySample };
  /**
   * Server side, free of the machine's scheduling noise: the average time of a SCAN and of an UNLINK
   * (INFO commandstats) and the slowest command over 1 ms the slow log saw while it ran (0: none).
   */
  server: { scanUsec: number; unlinkUsec: number; slowestMs: number; slowCommands: number };
}

export interface LatencySample {
  minMs: number;
  maxMs: number;
  avgMs: number;
  samples: number;
}

export interface InvalidationBenchResult {
  tags: { small: TagInvalidationFigures; large: TagInvalidationFigures; ratio: number; goalMet: boolean };
  pattern: PatternInvalidationFigures & { goalMet: boolean };
  markdown: string;
}

const silent = { log() {}, warn() {}, error() {} };

async function strata(options: CacheModuleOptions) {
  const moduleRef = await Test.createTestingModule({ imports: [CacheModule.forRoot({ logger: silent, ...options })] }).compile();
  const app = await moduleRef.init();
  return { cache: app.get(CacheService), close: () => app.close() };
}

function summarize(entries: number, times: number[]): TagInvalidationFigures {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { entries, calls: times.length, p50Ms: at(0.5), p99Ms: at(0.99), meanMs: times.reduce((s, t) => s + t, 0) / times.length };
}

/** Tag invalidation is O(1): the same call whatever the number of entries carrying the tag. */
async function tagInvalidation(quick: boolean): Promise<InvalidationBenchResult['tags']> {
  const server = await startRedis();
  const LARGE = 100_000;
  const SMALL = 100;
  const a = await strata({ redis: server.url, prefix: 'bench' });
  const b = await strata({ redis: server.url, prefix: 'bench' }); // a second instance on the bus
  try {
    const value = { title: 'report', body: 'x'.repeat(200) };
    for (let i = 0; i < LARGE; i += 1000) {
      await a.cache.setMany(Array.from({ length: 1000 }, (_, j) => ({ key: `large:${i + j}`, value, tags: ['large'] })));
    }
    await a.cache.setMany(Array.from({ length: SMALL }, (_, j) => ({ key: `small:${j}`, value, tags: ['small'] })));
    // b reads a sample so its L1 holds entries under both tags.
    await b.cache.getMany(Array.from({ length: 100 }, (_, j) => `large:${j}`));
    await b.cache.getMany(Array.from({ length: 100 }, (_, j) => `small:${j}`));
    const calls = quick ? 200 : 1000;
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < 50; i++) await a.cache.invalidateTags(['warmup']);
    for (let i = 0; i < calls; i++) {
      // Interleaved, so both see the same machine.
      for (const [tag, into] of [['small', small], ['large', large]] as const) {
        const started = performance.now();
        await a.cache.invalidateTags([tag]);
        into.push(performance.now() - started);
      }
    }
    if ((await a.cache.get('large:5')) !== undefined || (await b.cache.get('large:5')) !== undefined) {
      throw new Error('an entry of the large tag is still served after its invalidation');
    }
    const s = summarize(SMALL, small);
    const l = summarize(LARGE, large);
    const ratio = l.p50Ms / s.p50Ms;
    return { small: s, large: l, ratio, goalMet: ratio >= 0.5 && ratio <= 1.5 && l.p50Ms <= 2 };
  } finally {
    await a.close();
    await b.close();
    await server.stop();
  }
}

/**
 * `redis-cli --latency` against the port until stopped. Without a terminal it samples for `-i` seconds,
 * prints "min max avg samples" and exits, so it is run in back-to-back one-second windows, merged.
 */
function latencySampler(port: number): { stop(): Promise<LatencySample> } {
  const windows: LatencySample[] = [];
  let stopped = false;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(findExecutable('redis-cli'), ['-p', String(port), '--latency', '-i', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('exit', () => {
        const numbers = out.trim().split(/\s+/).map(Number);
        if (numbers.length !== 4 || numbers.some((x) => !Number.isFinite(x))) reject(new Error(`unexpected redis-cli --latency output: ${out}`));
        else windows.push({ minMs: numbers[0], maxMs: numbers[1], avgMs: numbers[2], samples: numbers[3] });
        resolve();
      });
    });
  const loop = (async () => {
    while (!stopped) await one();
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const samples = windows.reduce((s, w) => s + w.samples, 0);
      return {
        minMs: Math.min(...windows.map((w) => w.minMs)),
        maxMs: Math.max(...windows.map((w) => w.maxMs)),
        avgMs: Math.round((windows.reduce((s, w) => s + w.avgMs * w.samples, 0) / samples) * 100) / 100,
        samples,
      };
    },
  };
}

async function countMatching(client: import('ioredis').Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let total = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
    cursor = next;
    total += keys.length;
  } while (cursor !== '0');
  return total;
}

/** Pattern invalidation over 1,000,000 keys (plus 100,000 that must stay), with latency sampled beside it. */
async function patternInvalidation(quick: boolean, scanCount: number, scanPause: number): Promise<InvalidationBenchResult['pattern']> {
  const MATCHING = quick ? 200_000 : 1_000_000;
  const OTHERS = MATCHING / 10;
  const server = await startRedis({ config: { 'rename-command': ['KEYS', '""'], 'enable-debug-command': 'local' } });
  const admin = server.client();
  const { cache, close } = await strata({ redis: server.url, prefix: 'bench', invalidation: { scanCount, scanPause } });
  try {
    // DEBUG POPULATE writes `<prefix>:<n>` keys fast: the prefix is the Redis form of the caller's 'doc:'.
    const docBase = cache.keyOf('doc:');
    await admin.call('DEBUG', 'POPULATE', String(MATCHING), docBase, '200');
    await admin.call('DEBUG', 'POPULATE', String(OTHERS), cache.keyOf('other'), '200');
    // The idle baseline (the machine's own noise): a few one-second windows with nothing running.
    const idleSampler = latencySampler(server.port);
    await new Promise((resolve) => setTimeout(resolve, quick ? 1000 : 3000));
    const idle = await idleSampler.stop();
    await admin.config('SET', 'slowlog-log-slower-than', '1000');
    await admin.config('SET', 'slowlog-max-len', '100000');
    await admin.slowlog('RESET');
    await admin.config('RESETSTAT');
    const sampler = latencySampler(server.port);
    await new Promise((resolve) => setTimeout(resolve, 100)); // redis-cli connected and sampling
    const t0 = performance.now();
    const removed = await cache.invalidatePattern('doc:*');
    const seconds = (performance.now() - t0) / 1000;
    const during = await sampler.stop();
    const slow = (await admin.call('SLOWLOG', 'GET', '100000')) as Array<[number, number, number, string[]]>;
    const stats = await admin.info('commandstats');
    const usec = (command: string) => Number(new RegExp(`cmdstat_${command}:.*usec_per_call=([\\d.]+)`).exec(stats)?.[1] ?? NaN);
    const leftMatching = await countMatching(admin, `${docBase}*`);
    const othersLeft = await countMatching(admin, `${cache.keyOf('other')}*`);
    return {
      matching: MATCHING,
      others: OTHERS,
      scanCount,
      scanPause,
      removed,
      seconds,
      leftMatching,
      othersLeft,
      latency: { during, idle },
      server: {
        scanUsec: usec('scan'),
        unlinkUsec: usec('unlink'),
        slowestMs: slow.reduce((max, entry) => Math.max(max, Number(entry[2]) / 1000), 0),
        slowCommands: slow.length,
      },
      goalMet: removed === MATCHING && leftMatching === 0 && othersLeft === OTHERS && during.maxMs <= 5,
    };
  } finally {
    await close();
    await server.stop();
  }
}

export async function run(options: { quick?: boolean; scanCount?: number; scanPause?: number } = {}): Promise<InvalidationBenchResult> {
  const quick = options.quick ?? false;
  const tags = await tagInvalidation(quick);
  const pattern = await patternInvalidation(quick, options.scanCount ?? 100, options.scanPause ?? 0);
  const ms = (x: number) => x.toFixed(3);
  const markdown = [
    '## Invalidation',
    '',
    `Machine: ${machine()}. Redis: redis-server from the test harness on loopback, one per part.`,
    '',
    '### invalidateTags: one tag over 100 entries vs over 100,000 entries (interleaved calls, two instances on the bus)',
    '',
    '| entries under the tag | calls | p50 | p99 | mean |',
    '|---|---|---|---|---|',
    ...[tags.small, tags.large].map((f) => `| ${f.entries.toLocaleString('en')} | ${f.calls} | ${ms(f.p50Ms)} ms | ${ms(f.p99Ms)} ms | ${ms(f.meanMs)} ms |`),
    '',
    `Ratio p50 100,000 / 100: **${tags.ratio.toFixed(2)}×** (goal: within ±50% and ≤ 2 ms: ${tags.goalMet ? 'met' : 'missed'}).`,
    '',
    `### invalidatePattern over ${pattern.matching.toLocaleString('en')} keys (+ ${pattern.others.toLocaleString('en')} that must stay), SCAN COUNT ${pattern.scanCount} + UNLINK${pattern.scanPause ? `, ${pattern.scanPause} ms pause between batches` : ''}`,
    '',
    `Removed ${pattern.removed.toLocaleString('en')} in ${pattern.seconds.toFixed(2)} s; matching keys left: ${pattern.leftMatching}; others left: ${pattern.othersLeft.toLocaleString('en')}.`,
    '',
    '| `redis-cli --latency` | min | max | avg | samples |',
    '|---|---|---|---|---|',
    ...(['idle', 'during'] as const).map((k) => {
      const l = pattern.latency[k];
      return `| ${k === 'idle' ? 'before (idle)' : 'during the invalidation'} | ${l.minMs} ms | ${l.maxMs} ms | ${l.avgMs} ms | ${l.samples} |`;
    }),
    '',
    `Server side while it ran: SCAN ${pattern.server.scanUsec} µs and UNLINK ${pattern.server.unlinkUsec} µs a call on average; ` +
      `${pattern.server.slowCommands} commands over 1 ms in the slow log${pattern.server.slowCommands ? `, the slowest ${pattern.server.slowestMs} ms` : ''}.`,
    '',
    `Goal: max ≤ 5 ms during, 0 matching keys left: ${pattern.goalMet ? 'met' : 'missed'}.`,
    '',
  ].join('\n');
  return { tags, pattern, markdown };
}

if (require.main === module) {
  const flag = (name: string) => {
    const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
    return arg === undefined ? undefined : Number(arg.split('=')[1]);
  };
  run({ quick: process.argv.includes('--quick'), scanCount: flag('scan-count'), scanPause: flag('scan-pause') })
    .then((result) => process.stdout.write(result.markdown))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
