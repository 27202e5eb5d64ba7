import type { Figure } from '../lib';

/** One table of a suite: the figures of its candidates and, optionally, the ratio it must reach. */
export interface BenchRow {
  suite: string;
  figures: Record<string, Figure>;
  goal?: { candidate: string; baseline: string; ratio: number };
  /** How the figures were taken, when it differs from the default (ops/s, interleaved in one process). */
  note?: string;
}

/** Prints rows as Markdown, with each goal's ratio and verdict (for running one suite alone). */
export function renderRows(rows: readonly BenchRow[], cell: (figure: Figure) => string): string {
  const out: string[] = [];
  for (const row of rows) {
    out.push(`## ${row.suite}`, '');
    if (row.note) out.push(row.note, '');
    out.push('| candidate | throughput |', '|---|---|');
    for (const figure of Object.values(row.figures)) out.push(`| ${figure.name} | ${cell(figure)} |`);
    if (row.goal) {
      const ratio = row.figures[row.goal.candidate].median / row.figures[row.goal.baseline].median;
      const verdict = ratio >= row.goal.ratio ? 'met' : `missed by ${((row.goal.ratio - ratio) * 100).toFixed(0)} points`;
      out.push('', `Ratio ${row.goal.candidate} / ${row.goal.baseline}: **${ratio.toFixed(2)}×** (goal ≥ ${row.goal.ratio}×: ${verdict}).`);
    }
    out.push('');
  }
  return out.join('\n');
}
