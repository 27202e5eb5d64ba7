/**
 * Measures the semantic matcher on the labelled prompt pairs of test/semantic: wrong-hit rate and recall
 * per threshold and per kind, with and without the guards, on the development set and the held-out set.
 * `npx ts-node -r tsconfig-paths/register bench/semantic-eval.ts` (`--pairs` lists the pairs it gets wrong,
 * `--all` every pair; THRESHOLD=0.8 sets the threshold of the per-kind table).
 */
import { LocalEmbeddingProvider } from '../libs/cache/src/ai/embeddings/local.embedder';
import { type PairSet, byKind, loadPairs, scorePairs, thresholdTable } from '../test/semantic/pair-eval';

async function main(): Promise<void> {
  const embedder = new LocalEmbeddingProvider();
  const t = Number(process.env.THRESHOLD ?? embedder.suggestedThreshold);
  const pct = (x: number) => (100 * x).toFixed(1) + '%';
  for (const set of ['dev', 'heldout'] as PairSet[]) {
    const scored = await scorePairs(loadPairs(set), embedder);
    const pos = scored.filter((p) => p.equivalent).length;
    console.log(`\n${set}: ${scored.length} pairs (${pos} equivalent, ${scored.length - pos} not), embedder ${embedder.id}`);
    console.log('| threshold | wrong hits (guards) | recall (guards) | wrong hits (cosine only) | recall (cosine only) |');
    console.log('|---|---|---|---|---|');
    for (const row of thresholdTable(scored, [0.6, 0.7, 0.8, 0.85, 0.9, 0.95])) {
      console.log(
        `| ${row.threshold.toFixed(2)} | ${pct(row.wrongHitRate)} (${row.wrongHits}/${row.hits}) | ${pct(row.recall)} | ` +
          `${pct(row.cosineOnly.wrongHitRate)} (${row.cosineOnly.wrongHits}/${row.cosineOnly.hits}) | ${pct(row.cosineOnly.recall)} |`,
      );
    }
    console.log(`\n| kind (${set}, threshold ${t}) | pairs | matched |\n|---|---|---|`);
    for (const k of byKind(scored, t)) console.log(`| ${k.kind} (${k.equivalent ? 'rewording' : 'hard negative'}) | ${k.pairs} | ${k.matched} |`);
    if (process.argv.includes('--pairs')) {
      for (const p of scored) {
        const matched = p.similarity >= t && p.conflict === undefined;
        if (matched !== p.equivalent || process.argv.includes('--all')) {
          console.log(`${p.equivalent ? 'EQ' : 'NE'} ${p.kind.padEnd(16)} ${p.similarity.toFixed(3)} ${String(p.conflict ?? '-').padEnd(13)} ${JSON.stringify(p.a)} || ${JSON.stringify(p.b)}`);
        }
      }
    }
  }
}

void main();
