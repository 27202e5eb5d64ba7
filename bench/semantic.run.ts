/**
 * `npm run bench:semantic` (not part of `npm test`): runs bench/suites/semantic.suite.ts and writes
 * bench/SEMANTIC.md. `--entries 20000` for a quicker run. Node is started with --expose-gc so the
 * memory per entry can be measured.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { evalReport } from './semantic-eval';
import { run } from './suites/semantic.suite';

async function main(): Promise<void> {
  const at = process.argv.indexOf('--entries');
  const entries = at > 0 ? Number(process.argv[at + 1]) : 100_000;
  const result = await run({ entries, log: (line) => console.error(line) });
  const ms = (x: number) => x.toFixed(2);
  const lines = [
    '# Semantic cache benchmark',
    '',
    `${result.entries.toLocaleString('en')} cached prompts in one scope, real redis-server on loopback. ${result.machine}; load average ${result.loadAverage} (the machine is shared).`,
    '',
    '| operation | samples | p50 ms | p95 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|',
    ...result.figures.map((f) => `| ${f.name} | ${f.samples} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.p99)} | ${ms(f.max)} |`),
    '',
    `- rephrased prompts found: ${(100 * result.hitRate).toFixed(1)}% with the blocking key, ${(100 * result.scanHitRate).toFixed(1)}% with the scan`,
    `- cold load (first lookup of a new instance, reading every vector from Redis): ${ms(result.coldLoadMs)} ms`,
    `- memory per entry: ${result.bytesPerEntry.measuredHeap === undefined ? 'n/a (run with --expose-gc)' : `${Math.round(result.bytesPerEntry.measuredHeap)} B measured (heap + array buffers of a fresh instance after loading)`}; ${Math.round(result.bytesPerEntry.estimated)} B counted by the index`,
    `- filling ${result.entries.toLocaleString('en')} answers through warmUp: ${result.fillSeconds.toFixed(1)} s`,
    '',
    '## Matching: wrong hits and recall on labelled prompt pairs',
    '',
    'Pairs in test/semantic (`npx ts-node -T bench/semantic-eval.ts`, `--pairs` lists the pairs it gets wrong). A wrong hit is a',
    'hard negative that matched (an answer served to a question it does not answer); recall is the share of true rewordings that matched.',
    '',
    await evalReport(),
  ];
  const text = lines.join('\n');
  console.log(text);
  writeFileSync(path.join(__dirname, 'SEMANTIC.md'), text);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
