/**
 * HTTP: a cached route (L1 hit) on Nest + Express under autocannon (50 connections), against the same
 * app's constant handler (goal ≥ 1.1×, issue 18) and @nestjs/cache-manager's CacheInterceptor with its in-memory
 * store (goal ≥ 1.2×). The app runs in a child process; autocannon runs here; every candidate is run
 * `runs` times, interleaved, and reported as the median with min–max.
 * Alone: `node -r ts-node/register/transpile-only -r tsconfig-paths/register bench/suites/http.suite.ts`
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { type Figure, machine } from '../lib';
import { type BenchRow, renderRows } from './bench-row';

const CANDIDATES = {
  'constant handler (no cache)': '/constant',
  'Strata CacheInterceptor (L1 hit)': '/strata',
  '@nestjs/cache-manager CacheInterceptor (memory)': '/cache-manager',
} as const;
type Candidate = keyof typeof CANDIDATES;

export interface HttpSuiteOptions {
  /** Seconds per autocannon run. Default 5. */
  duration?: number;
  /** Runs per candidate. Default 3. */
  runs?: number;
  connections?: number;
}

export async function run(options: HttpSuiteOptions = {}): Promise<BenchRow[]> {
  const duration = options.duration ?? 5;
  const runs = Math.max(3, options.runs ?? 3);
  const connections = options.connections ?? 50;
  const { child, port } = await startServer();
  try {
    const url = (candidate: Candidate) => `http://127.0.0.1:${port}${CANDIDATES[candidate]}`;
    for (const candidate of Object.keys(CANDIDATES) as Candidate[]) await check(url(candidate), candidate);
    const samples = new Map<Candidate, number[]>();
    const perCpu = new Map<Candidate, number[]>();
    for (const candidate of Object.keys(CANDIDATES) as Candidate[]) await load(url(candidate), connections, 1); // warm-up
    const candidates = Object.keys(CANDIDATES) as Candidate[];
    for (let i = 0; i < runs; i++) {
      // Each round starts with another candidate, so none always inherits the garbage of the one before it.
      for (const candidate of [...candidates.slice(i % candidates.length), ...candidates.slice(0, i % candidates.length)]) {
        const cpuBefore = await serverCpu(child);
        const { perSecond, total } = await load(url(candidate), connections, duration);
        const cpuSeconds = ((await serverCpu(child)) - cpuBefore) / 1e6;
        samples.set(candidate, [...(samples.get(candidate) ?? []), perSecond]);
        perCpu.set(candidate, [...(perCpu.get(candidate) ?? []), total / cpuSeconds]);
      }
    }
    const figures = toFigures(samples, runs);
    const cpuFigures = toFigures(perCpu, runs);
    const note = `autocannon, ${connections} connections, ${duration} s per run, ${runs} runs per candidate interleaved, each round starting with the next candidate; req/s (median, min–max). Server: one Nest 11 + Express app in a child process.`;
    const cpuNote =
      'The same runs, as requests per CPU-second of the server process (`process.cpuUsage()`): what one request costs the ' +
      'server, which other load on the machine disturbs far less than wall-clock req/s.';
    const goals = [
      { candidate: 'Strata CacheInterceptor (L1 hit)', baseline: 'constant handler (no cache)', ratio: 1.1 },
      { candidate: 'Strata CacheInterceptor (L1 hit)', baseline: '@nestjs/cache-manager CacheInterceptor (memory)', ratio: 1.2 },
    ];
    return [
      {
        suite: 'HTTP cached route vs the same app\'s constant handler (Nest + Express)',
        figures,
        goal: { candidate: 'Strata CacheInterceptor (L1 hit)', baseline: 'constant handler (no cache)', ratio: 1.1 },
        note,
      },
      {
        suite: 'HTTP cached route vs @nestjs/cache-manager (Nest + Express)',
        figures,
        goal: { candidate: 'Strata CacheInterceptor (L1 hit)', baseline: '@nestjs/cache-manager CacheInterceptor (memory)', ratio: 1.2 },
        note,
      },
      ...goals.map((goal) => ({ suite: `HTTP, requests per server CPU-second: ${goal.candidate} vs ${goal.baseline}`, figures: cpuFigures, goal, note: cpuNote })),
    ];
  } finally {
    child.disconnect();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(path.join(__dirname, 'http-server.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, port: (message as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

/** The candidate answers 200, and the cached ones answer from their cache after the first request. */
async function check(url: string, candidate: Candidate): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${candidate}: status ${response.status}`);
    if (i === 1 && candidate !== 'constant handler (no cache)' && response.headers.get('x-cache') !== 'HIT') {
      throw new Error(`${candidate}: the second request was not a cache hit (X-Cache: ${response.headers.get('x-cache')})`);
    }
  }
}

async function load(url: string, connections: number, duration: number): Promise<{ perSecond: number; total: number }> {
  const result = await autocannon({ url, connections, duration });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx responses`);
  return { perSecond: result.requests.total / result.duration, total: result.requests.total };
}

/** CPU microseconds (user + system) the server process has used so far. */
function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'cpu' in message) {
        child.off('message', onMessage);
        resolve((message as { cpu: number }).cpu);
      }
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

function toFigures(samples: ReadonlyMap<string, number[]>, runs: number): Record<string, Figure> {
  const figures: Record<string, Figure> = {};
  for (const [name, values] of samples) {
    const sorted = [...values].sort((a, b) => a - b);
    figures[name] = { name, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], runs, samples: values };
  }
  return figures;
}

if (require.main === module) {
  const fmt = (f: Figure) => `${Math.round(f.median)} (${Math.round(f.min)}–${Math.round(f.max)})`;
  run()
    .then((rows) => process.stdout.write(`Machine: ${machine()}\n\n${renderRows(rows, fmt)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
