/**
 * Shared pieces of `npm run bench` — and the contract of a suite.
 *
 * ## Suites
 * A suite is a file `bench/suites/<name>.suite.ts` that exports
 *
 * ```ts
 * export const title = 'L1 hit';                                 // optional, for the log
 * export async function run(ctx: BenchContext): Promise<Section[]> { … }
 * ```
 *
 * `bench/run.ts` finds every `*.suite.ts` in that folder (sorted by name), runs them one after another in
 * one process against one redis-server it started (libs/cache/test/harness), and writes each returned `Section` to
 * `bench/RESULTS.md` in order: a title, a table, the goals with their verdict, and notes. Nothing else
 * needs wiring: drop a file in `bench/suites/` and it runs (`npm run bench -- --only=name,other` runs some).
 *
 * Rules a suite follows, so that figures are comparable:
 * - Measure candidates of one comparison in the same process, interleaved run by run (`compare()`), so
 *   machine noise hits them alike; report the median of `ctx.runs` runs with min–max (`figureCell`).
 * - Use `ctx.value` / `ctx.json` (the same ~1 KB JSON for every library) and `ctx.redisUrl` (never the
 *   shared Redis on 6379); give every library its own key prefix or flush between cases.
 * - Compare each library at its documented defaults and, as a separate candidate, at its fastest settings.
 * - Keep to a budget: the whole bench must stay under 15 minutes (`ctx.quick` for a short smoke run).
 * - Close everything the suite opened (apps, clients, child processes) before it returns: the process must
 *   end by itself after the report (`run.ts` exits 1, naming what is still active, if it has not 5 s later).
 * - State goals with `goal()`: the verdict and the ratio are computed, never typed in.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService, type CacheModuleOptions } from '@strata/cache';

export interface BenchContext {
  /** `redis://127.0.0.1:<port>` of a redis-server started for this bench run. */
  readonly redisUrl: string;
  /** `--quick`: shorter runs, for trying a suite out; figures from it are not published. */
  readonly quick: boolean;
  /** Runs per figure (the median of these is reported). */
  readonly runs: number;
  /** How long one run of one candidate lasts, in ms (throughput figures). */
  readonly runMs: number;
  /** The ~1 KB JSON value every library caches, and its JSON text. */
  readonly value: Record<string, unknown>;
  readonly json: string;
  /** A Strata cache in a Nest application context, at its defaults (metrics and advice on) plus `options`; logger silenced. */
  strata(options: CacheModuleOptions): Promise<StrataHandle>;
  /** Imports an ES module for real (bentocache is ESM-only; TypeScript turns `import()` into `require` under CommonJS). */
  importEsm<T>(specifier: string): Promise<T>;
  /** Deletes every key of the bench's Redis (between cases that must not see each other's entries). */
  flushRedis(): Promise<void>;
  log(message: string): void;
}

export interface StrataHandle {
  cache: CacheService;
  close(): Promise<void>;
}

/** One block of RESULTS.md. */
export interface Section {
  title: string;
  /** What is measured and how (one short paragraph). */
  description?: string;
  columns: string[];
  rows: string[][];
  goals?: GoalResult[];
  notes?: string[];
}

export interface GoalResult {
  /** e.g. `Strata L1 hit ≥ 10× bentocache default get`. */
  label: string;
  /** What was measured, e.g. `0.52×` or `4 factory runs`. */
  measured: string;
  met: boolean;
  /** When missed: by how much, in words (e.g. `18% short of 0.85×`). */
  shortfall?: string;
}

export type SuiteRun = (ctx: BenchContext) => Promise<Section[]>;

export interface Figure {
  name: string;
  /** Operations per second: median, min and max over the runs. */
  median: number;
  min: number;
  max: number;
  runs: number;
  /** ops/s of each run, in run order (run i of every candidate of a comparison ran back to back). */
  samples: number[];
}

export interface MeasureOptions {
  /** Operations per run (or use `durationMs`). */
  ops?: number;
  /** Length of one run in ms: the operation count then follows each candidate's speed. */
  durationMs?: number;
  /** Operations kept in flight at once (1 = one after another). */
  concurrency?: number;
  runs?: number;
  warmupOps?: number;
}

/**
 * Runs each candidate `runs` times after a warm-up, interleaved run by run so that machine noise hits
 * them alike, and reports ops/s (median, min, max).
 */
export async function compare(
  candidates: Record<string, (i: number) => Promise<unknown> | unknown>,
  options: MeasureOptions,
): Promise<Record<string, Figure>> {
  const runs = options.runs ?? 5;
  const concurrency = options.concurrency ?? 1;
  const samples: Record<string, number[]> = {};
  for (const [name, op] of Object.entries(candidates)) {
    samples[name] = [];
    if (options.durationMs !== undefined) await measure(op, { durationMs: Math.min(options.durationMs, 300) }, concurrency);
    else await measure(op, { ops: options.warmupOps ?? Math.min(options.ops ?? 20_000, 20_000) }, concurrency);
  }
  for (let run = 0; run < runs; run++) {
    for (const [name, op] of Object.entries(candidates)) samples[name].push(await measure(op, options, concurrency));
  }
  const figures: Record<string, Figure> = {};
  for (const [name, values] of Object.entries(samples)) figures[name] = { name, ...summarize(values), runs, samples: values };
  return figures;
}

/** ops/s of one run: a fixed number of operations, or as many as fit in `durationMs`. */
async function measure(op: (i: number) => Promise<unknown> | unknown, o: MeasureOptions, concurrency: number): Promise<number> {
  const started = process.hrtime.bigint();
  let done = 0;
  if (o.durationMs === undefined) {
    const ops = o.ops ?? 10_000;
    await runOps(op, ops, concurrency, () => false);
    done = ops;
  } else {
    const deadline = started + BigInt(Math.round(o.durationMs * 1e6));
    done = await runOps(op, Number.MAX_SAFE_INTEGER, concurrency, () => process.hrtime.bigint() >= deadline);
  }
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Runs up to `ops` operations; `stop` is checked every 64 (sequential) or between operations (concurrent). */
async function runOps(op: (i: number) => Promise<unknown> | unknown, ops: number, concurrency: number, stop: () => boolean): Promise<number> {
  let next = 0;
  if (concurrency <= 1) {
    while (next < ops) {
      const end = Math.min(ops, next + 64);
      for (; next < end; next++) await op(next);
      if (stop()) break;
    }
    return next;
  }
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < ops) {
      await op(next++);
      if ((next & 15) === 0 && stop()) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return next;
}

export function summarize(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export function fmt(opsPerSecond: number): string {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)} M`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)} k`;
  return opsPerSecond.toFixed(1);
}

export function figureCell(f: Figure): string {
  return `${fmt(f.median)} ops/s (${fmt(f.min)}–${fmt(f.max)})`;
}

/** A median (min–max) cell of plain numbers: `12.3 ms (11.9–14.0)`. */
export function rangeCell(values: readonly number[], unit = '', digits = 1): string {
  const { median, min, max } = summarize(values);
  return `${median.toFixed(digits)}${unit} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
}

/**
 * `candidate / baseline`, as the median of per-run ratios: run i of both ran back to back, so a burst
 * of load from other jobs on the machine hits both sides of a ratio rather than one of them.
 */
export function pairedRatio(c: Figure, b: Figure): number {
  return summarize(c.samples.map((value, i) => value / b.samples[i])).median;
}

/** The verdict of `candidate ≥ target × baseline` (paired ratio, see `pairedRatio`). */
export function goal(figures: Record<string, Figure>, candidate: string, baseline: string, target: number, label?: string): GoalResult {
  const c = figures[candidate];
  const b = figures[baseline];
  if (c === undefined || b === undefined) throw new Error(`goal(): no figure named '${c ? baseline : candidate}'`);
  const ratio = pairedRatio(c, b);
  const met = ratio >= target;
  return {
    label: label ?? `${candidate} ≥ ${target}× ${baseline}`,
    measured: `${ratio.toFixed(2)}×`,
    met,
    shortfall: met ? undefined : `${(((target - ratio) / target) * 100).toFixed(0)}% short of ${target}×`,
  };
}

/** A throughput table: one row per candidate, with its ratio to the first candidate. */
export function throughputSection(title: string, figures: Record<string, Figure>, extra: Partial<Section> = {}): Section {
  const list = Object.values(figures);
  const base = list[0];
  return {
    title,
    columns: ['candidate', 'throughput (median of runs, min–max)', `× ${base.name}`],
    rows: list.map((f) => [f.name, figureCell(f), pairedRatio(f, base).toFixed(2)]),
    ...extra,
  };
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** Versions of the libraries compared, from their package.json (read from disk: some packages do not export it). */
export function versions(names: readonly string[]): string {
  return names
    .map((name) => {
      try {
        const file = path.join(process.cwd(), 'node_modules', name, 'package.json');
        return `${name} ${(JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version}`;
      } catch {
        return `${name} (version unknown)`;
      }
    })
    .join(', ');
}

export function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'redis-server (version unknown)';
  }
}

const silent = { log() {}, warn() {}, error() {} };

export async function openStrata(options: CacheModuleOptions): Promise<StrataHandle> {
  const moduleRef = await Test.createTestingModule({
    imports: [CacheModule.forRoot({ logger: silent, ...options })],
  }).compile();
  const app = await moduleRef.init();
  return { cache: app.get(CacheService), close: () => app.close() };
}

// A real dynamic import: under CommonJS, TypeScript compiles `import()` to `require()`, which cannot load ESM.
const esmImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
export function importEsm<T>(specifier: string): Promise<T> {
  return esmImport(specifier) as Promise<T>;
}

/** A ~1 KB JSON value, the same for every library. */
export function oneKbValue(): Record<string, unknown> {
  return {
    id: 'tpl_8f3a2c',
    name: 'Quarterly revenue summary',
    category: 'finance',
    score: 0.9375,
    tags: ['finance', 'summary', 'quarterly', 'revenue', 'board'],
    author: { id: 'u_193', name: 'Ada Lovelace', email: 'ada@example.com' },
    sections: Array.from({ length: 6 }, (_, i) => ({
      title: `Section ${i + 1}`,
      body: 'Revenue grew in every region, led by enterprise renewals and new seats.',
      weight: i / 10,
    })),
    updatedAt: '2026-11-21T10:00:00.000Z',
  };
}

/** The context `run.ts` hands every suite (and the stampede children build for themselves). */
export function makeContext(redisUrl: string, quick: boolean, log: (message: string) => void = () => undefined): BenchContext & { close(): Promise<void> } {
  const value = oneKbValue();
  let admin: import('ioredis').Redis | undefined;
  return {
    redisUrl,
    quick,
    runs: quick ? 3 : 11,
    runMs: quick ? 150 : 400,
    value,
    json: JSON.stringify(value),
    strata: openStrata,
    importEsm,
    flushRedis: async () => {
      if (admin === undefined) {
        const { Redis } = require('ioredis') as typeof import('ioredis');
        admin = new Redis(redisUrl);
      }
      await admin.flushall();
    },
    log,
    close: async () => {
      admin?.disconnect();
    },
  };
}
