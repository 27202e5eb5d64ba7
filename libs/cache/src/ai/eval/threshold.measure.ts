/**
 * Measures the semantic cache on the labelled pairs: wrong-hit rate and recall per threshold, with and
 * without the guards. `npx ts-node -r tsconfig-paths/register libs/cache/src/ai/eval/threshold.measure.ts`
 * (add `--pairs` to list every pair with its similarity and guard verdict).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalEmbeddingProvider } from '../embeddings/local.embedder';
import { type LabelledPair, scorePairs, thresholdTable } from './pair-eval';

async function main(): Promise<void> {
  const pairs = JSON.parse(readFileSync(path.join(__dirname, 'pairs.json'), 'utf8')) as LabelledPair[];
  const dims = Number(process.env.DIMS ?? 256);
  const scored = await scorePairs(pairs, new LocalEmbeddingProvider({ dimensions: dims }));
  const thresholds = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
  const pct = (x: number) => (100 * x).toFixed(1) + '%';
  for (const split of ['all', 'dev', 'holdout', 'holdout2'] as const) {
    const subset = split === 'all' ? scored : scored.filter((p) => p.split === split);
    if (subset.length === 0) continue;
    const pos = subset.filter((p) => p.equivalent).length;
    console.log(`\n${split}: ${subset.length} pairs (${pos} equivalent, ${subset.length - pos} not), local embedder ${dims} dims`);
    console.log('| threshold | wrong hits (guards) | recall (guards) | false matches / negatives | wrong hits (cosine only) | recall (cosine only) |');
    console.log('|---|---|---|---|---|---|');
    for (const row of thresholdTable(subset, thresholds)) {
      console.log(
        `| ${row.threshold.toFixed(2)} | ${pct(row.wrongHitRate)} (${row.wrongHits}/${row.hits}) | ${pct(row.recall)} | ${pct(row.falseMatchRate)} | ` +
          `${pct(row.cosineOnly.wrongHitRate)} (${row.cosineOnly.wrongHits}/${row.cosineOnly.hits}) | ${pct(row.cosineOnly.recall)} |`,
      );
    }
  }
  const kinds = new Map<string, { n: number; matched: number; eq: boolean }>();
  const t = Number(process.env.THRESHOLD ?? 0.8);
  for (const p of scored) {
    const k = kinds.get(p.kind) ?? { n: 0, matched: 0, eq: p.equivalent };
    k.n += 1;
    if (p.similarity >= t && p.conflict === undefined) k.matched += 1;
    kinds.set(p.kind, k);
  }
  console.log(`\nby kind at ${t}: ` + [...kinds].map(([kind, k]) => `${kind}${k.eq ? '+' : '-'} ${k.matched}/${k.n}`).join(', '));
  if (process.argv.includes('--pairs')) {
    for (const p of scored) {
      const matched = p.similarity >= t && p.conflict === undefined;
      if (matched !== p.equivalent || process.argv.includes('--all')) {
        console.log(`${p.equivalent ? 'EQ' : 'NE'} ${p.kind.padEnd(16)} ${p.similarity.toFixed(3)} ${String(p.conflict ?? '-').padEnd(13)} ${p.a} || ${p.b}`);
      }
    }
  }
}

void main();
