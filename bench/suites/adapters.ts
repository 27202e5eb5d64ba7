/**
 * Suites written before the `run(ctx) → Section[]` contract (decorators, http, invalidation, semantic)
 * keep their own `run(options)` so they can run alone; these adapters give `bench/run.ts` the common shape.
 */
import { type BenchContext, type GoalResult, type Section, figureCell } from '../lib';
import type { BenchRow } from './bench-row';
import type { InvalidationBenchResult } from './invalidation.suite';
import type { SemanticBenchResult } from './semantic.suite';

export function rowsToSections(rows: readonly BenchRow[]): Section[] {
  return rows.map((row) => {
    const goals: GoalResult[] = [];
    if (row.goal) {
      const ratio = row.figures[row.goal.candidate].median / row.figures[row.goal.baseline].median;
      const met = ratio >= row.goal.ratio;
      goals.push({
        label: `${row.goal.candidate} ≥ ${row.goal.ratio}× ${row.goal.baseline}`,
        measured: `${ratio.toFixed(2)}×`,
        met,
        shortfall: met ? undefined : `${((1 - ratio / row.goal.ratio) * 100).toFixed(0)}% short of ${row.goal.ratio}×`,
      });
    }
    return {
      title: row.suite,
      description: row.note,
      columns: ['candidate', 'throughput'],
      rows: Object.values(row.figures).map((f) => [f.name, figureCell(f)]),
      goals,
    };
  });
}

export function invalidationSections(result: InvalidationBenchResult): Section[] {
  const { tags, pattern } = result;
  return [
    {
      title: 'Invalidation: tags (O(1)) and patterns (SCAN + UNLINK)',
      columns: ['case', 'figure'],
      rows: [
        [`invalidateTags, tag over ${tags.small.entries} entries`, `p50 ${tags.small.p50Ms.toFixed(2)} ms, p99 ${tags.small.p99Ms.toFixed(2)} ms`],
        [`invalidateTags, tag over ${tags.large.entries} entries`, `p50 ${tags.large.p50Ms.toFixed(2)} ms, p99 ${tags.large.p99Ms.toFixed(2)} ms`],
        [`invalidatePattern over ${pattern.matching} keys`, `${pattern.removed} removed in ${pattern.seconds.toFixed(1)} s, ${pattern.leftMatching} left, ${pattern.othersLeft}/${pattern.others} others kept`],
        [
          '`redis-cli --latency` while it ran (idle before)',
          `max ${pattern.latency.during.maxMs} ms, avg ${pattern.latency.during.avgMs} ms over ${pattern.latency.during.samples} samples ` +
            `(idle: max ${pattern.latency.idle.maxMs} ms, avg ${pattern.latency.idle.avgMs} ms)`,
        ],
      ],
      goals: [
        { label: 'tag over 100,000 entries within ±50% of a tag over 100, and ≤ 2 ms', measured: `${tags.ratio.toFixed(2)}×, p50 ${tags.large.p50Ms.toFixed(2)} ms`, met: tags.goalMet, shortfall: tags.goalMet ? undefined : 'see the table' },
        { label: 'pattern over 1,000,000 keys: redis-cli --latency max ≤ 5 ms, 0 matching keys left', measured: `latency max ${pattern.latency.during.maxMs} ms, ${pattern.leftMatching} left`, met: pattern.goalMet, shortfall: pattern.goalMet ? undefined : 'latency max above 5 ms on this shared machine (see the details below)' },
      ],
      notes: result.markdown.split('\n').filter((line) => line.trim().length > 0 && !line.startsWith('#') && !line.startsWith('|')),
    },
  ];
}

export function semanticSections(result: SemanticBenchResult): Section[] {
  const lookup = result.figures.find((f) => /^lookup, hit \(default/.test(f.name));
  const met = lookup !== undefined && lookup.p99 <= 5;
  return [
    {
      title: `Semantic cache: ${result.entries.toLocaleString('en')} prompts in one scope`,
      description: `Fill ${result.fillSeconds.toFixed(0)} s; cold load of the index ${result.coldLoadMs.toFixed(0)} ms; ~${Math.round(result.bytesPerEntry.estimated)} bytes per entry; hit rate on rephrased prompts ${(result.hitRate * 100).toFixed(0)}%.`,
      columns: ['operation', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      rows: result.figures.map((f) => [f.name, f.p50.toFixed(2), f.p95.toFixed(2), f.p99.toFixed(2), f.max.toFixed(2)]),
      goals: lookup ? [{ label: 'semantic lookup p99 ≤ 5 ms at 100,000 prompts', measured: `${lookup.p99.toFixed(2)} ms`, met, shortfall: met ? undefined : `${(lookup.p99 - 5).toFixed(2)} ms over` }] : [],
    },
  ];
}

/** The adapter for a suite that does not take a BenchContext, by suite name. */
export const ADAPTED: Record<string, (module: Record<string, unknown>, ctx: BenchContext) => Promise<Section[]>> = {
  decorators: async (m, ctx) => rowsToSections(await (m.run as (o: { scale?: number }) => Promise<BenchRow[]>)({ scale: ctx.quick ? 0.2 : 1 })),
  http: async (m, ctx) => rowsToSections(await (m.run as (o: { runs?: number; duration?: number }) => Promise<BenchRow[]>)({ runs: ctx.quick ? 2 : 5, duration: ctx.quick ? 2 : 5 })),
  invalidation: async (m, ctx) => invalidationSections(await (m.run as (o: { quick?: boolean }) => Promise<InvalidationBenchResult>)({ quick: ctx.quick })),
  semantic: async (m, ctx) =>
    semanticSections(await (m.run as (o: { entries?: number; log?: (line: string) => void }) => Promise<SemanticBenchResult>)({ entries: ctx.quick ? 10_000 : 100_000, log: (line) => ctx.log(line) })),
};
