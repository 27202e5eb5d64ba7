/**
 * `npm run bench`: every suite in bench/suites (see the contract at the top of bench/lib.ts), side by
 * side in one run against one redis-server the bench starts on a free loopback port (libs/cache/test/harness), so
 * results never depend on what else uses the shared Redis. Writes bench/RESULTS.md.
 *
 *   npm run bench                      # everything (≤ 15 minutes)
 *   npm run bench -- --only=hits       # some suites, by file name
 *   npm run bench -- --quick           # short runs, to try things out (RESULTS.md is not written)
 */
import 'reflect-metadata';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startRedis } from '../libs/cache/test/harness';
import { type Section, type SuiteRun, machine, makeContext, redisVersion, versions } from './lib';
import { ADAPTED } from './suites/adapters';

/** Suites run in this order; any other `*.suite.ts` follows, by name. */
const ORDER = ['hits', 'decorators', 'http', 'stampede', 'invalidation', 'compression', 'semantic'];
const LIBRARIES = ['lru-cache', 'ioredis', 'bentocache', 'cacheable', 'cache-manager', 'keyv', '@keyv/redis', '@nestjs/cache-manager', 'autocannon'];

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
  const dir = path.join(__dirname, 'suites');
  const names = readdirSync(dir)
    .filter((file) => file.endsWith('.suite.ts'))
    .map((file) => file.slice(0, -'.suite.ts'.length))
    .filter((name) => only === undefined || only.includes(name))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const started = Date.now();
  const redis = await startRedis();
  const ctx = makeContext(redis.url, quick, (message) => process.stderr.write(`  · ${message}\n`));
  const results: Array<{ name: string; sections: Section[]; seconds: number }> = [];
  try {
    for (const name of names) {
      process.stderr.write(`suite ${name}\n`);
      const suiteStarted = Date.now();
      const suite = require(path.join(dir, `${name}.suite.ts`)) as Record<string, unknown>;
      await ctx.flushRedis();
      const adapted = ADAPTED[name];
      const sections = adapted ? await adapted(suite, ctx) : await (suite.run as SuiteRun)(ctx);
      results.push({ name, sections, seconds: (Date.now() - suiteStarted) / 1000 });
    }
  } finally {
    await ctx.close();
    await redis.stop();
  }
  const report = render(results, (Date.now() - started) / 1000, quick);
  if (!quick && only === undefined) writeFileSync(path.join(__dirname, 'RESULTS.md'), report);
  process.stdout.write(report);
  exitIfStillOpen();
}

/**
 * Every suite closes what it opened, so the process ends by itself once the report is out. If it has
 * not ended 5 s later, something was left open (e.g. a Redis client reconnecting to the stopped
 * redis-server): name what keeps it alive and exit 1, rather than run forever or hide the leak.
 */
function exitIfStillOpen(): void {
  setTimeout(() => {
    const open = new Map<string, number>();
    for (const kind of process.getActiveResourcesInfo()) open.set(kind, (open.get(kind) ?? 0) + 1);
    const list = [...open].map(([kind, n]) => `${n} × ${kind}`).join(', ');
    // A Redis client retrying the stopped server shows as a Timeout between attempts, a TCPSocketWrap during one.
    process.stderr.write(`bench: still running 5 s after the report (active: ${list}): a suite did not close something it opened.\n`);
    process.exit(1);
  }, 5_000).unref();
}

function rank(name: string): number {
  const at = ORDER.indexOf(name);
  return at === -1 ? ORDER.length : at;
}

function render(results: Array<{ name: string; sections: Section[]; seconds: number }>, seconds: number, quick: boolean): string {
  const ctxRuns = quick ? 3 : 11;
  const out: string[] = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()}${quick ? ' (--quick: not for publishing)' : ''}; the run took ${(seconds / 60).toFixed(1)} minutes.`,
    '',
    `- Machine: ${machine()} — shared with other jobs, so figures are noisy: compare rows of one table (measured interleaved in one process), not across runs.`,
    `- Redis: ${redisVersion()}, started by the bench on loopback, no persistence.`,
    `- Libraries: ${versions(LIBRARIES)}.`,
    `- Each throughput figure is the median of ${ctxRuns} runs (min–max) of ${quick ? 150 : 400} ms each, after a warm-up; candidates of one table are interleaved run by run. Ratios (the × columns and the goals) are the median of per-run ratios: run i of a candidate and of its baseline ran back to back.`,
    '',
  ];
  const goals = results.flatMap((r) => r.sections.flatMap((s) => s.goals ?? []));
  if (goals.length > 0) {
    out.push('## Goals', '', '| goal | measured | verdict |', '|---|---|---|');
    for (const g of goals) out.push(`| ${g.label} | ${g.measured} | ${g.met ? 'met' : `**missed**: ${g.shortfall ?? ''}`} |`);
    out.push('');
  }
  for (const result of results) {
    for (const section of result.sections) {
      out.push(`## ${section.title}`, '');
      if (section.description) out.push(section.description, '');
      out.push(`| ${section.columns.join(' | ')} |`, `|${section.columns.map(() => '---').join('|')}|`);
      for (const row of section.rows) out.push(`| ${row.join(' | ')} |`);
      out.push('');
      for (const g of section.goals ?? []) {
        out.push(`- Goal: ${g.label} — **${g.measured}**, ${g.met ? 'met' : `missed (${g.shortfall ?? ''})`}.`);
      }
      for (const note of section.notes ?? []) out.push(`- ${note}`);
      if ((section.goals?.length ?? 0) + (section.notes?.length ?? 0) > 0) out.push('');
    }
    out.push(`<sub>suite \`${result.name}\`: ${result.seconds.toFixed(0)} s</sub>`, '');
  }
  return out.join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
