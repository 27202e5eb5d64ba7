import os from 'node:os';

export interface Figure {
  name: string;
  /** Operations per second: median, min and max over the runs. */
  median: number;
  min: number;
  max: number;
  runs: number;
}

export interface MeasureOptions {
  /** Operations per run. */
  ops: number;
  /** Operations kept in flight at once (1 = one after another). */
  concurrency?: number;
  runs?: number;
  warmupOps?: number;
}

/**
 * Runs `op` `ops` times with `concurrency` in flight, `runs` times after a warm-up, and reports ops/s.
 * Every candidate of a comparison is measured in the same process, interleaved run by run, so that
 * machine noise hits them alike.
 */
export async function compare(
  candidates: Record<string, (i: number) => Promise<unknown> | unknown>,
  options: MeasureOptions,
): Promise<Record<string, Figure>> {
  const runs = options.runs ?? 5;
  const samples: Record<string, number[]> = {};
  for (const [name, op] of Object.entries(candidates)) {
    samples[name] = [];
    await once(op, options.warmupOps ?? Math.min(options.ops, 20_000), options.concurrency ?? 1);
  }
  for (let run = 0; run < runs; run++) {
    for (const [name, op] of Object.entries(candidates)) {
      const started = process.hrtime.bigint();
      await once(op, options.ops, options.concurrency ?? 1);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      samples[name].push(options.ops / seconds);
    }
  }
  const figures: Record<string, Figure> = {};
  for (const [name, values] of Object.entries(samples)) {
    const sorted = [...values].sort((a, b) => a - b);
    figures[name] = { name, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], runs };
  }
  return figures;
}

async function once(op: (i: number) => Promise<unknown> | unknown, ops: number, concurrency: number): Promise<void> {
  if (concurrency <= 1) {
    for (let i = 0; i < ops; i++) await op(i);
    return;
  }
  let next = 0;
  const worker = async () => {
    while (next < ops) await op(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export function fmt(opsPerSecond: number): string {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)} M`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)} k`;
  return opsPerSecond.toFixed(1);
}

export function figureCell(f: Figure): string {
  return `${fmt(f.median)} ops/s (${fmt(f.min)}–${fmt(f.max)})`;
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
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
