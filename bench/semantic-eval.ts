/**
 * Measures the semantic matcher on the labelled prompt pairs of test/semantic: wrong-hit rate and recall
 * per threshold and per kind, with and without the guards, on the development set and the held-out set,
 * and what each guard costs in recall. `npx ts-node -T bench/semantic-eval.ts` (`--pairs` lists the pairs
 * it gets wrong, `--all` every pair). Environment: THRESHOLD=0.8; GUARDS='{"substitutions":false}';
 * EMBEDDER_URL, EMBEDDER_MODEL and EMBEDDER_KEY to measure an OpenAI-compatible embedding model instead
 * of the local embedder.
 */
import type { EmbeddingProvider } from '../libs/cache/src/ai/embeddings/embedding.provider';
import { HttpEmbeddingProvider } from '../libs/cache/src/ai/embeddings/http.embedder';
import { LocalEmbeddingProvider } from '../libs/cache/src/ai/embeddings/local.embedder';
import type { SemanticGuardOptions } from '../libs/cache/src/ai/semantic/guards';
import { type PairSet, byKind, loadPairs, scorePairs, thresholdTable } from '../test/semantic/pair-eval';


const pct = (x: number) => (100 * x).toFixed(1) + '%';

const GUARD_VARIANTS: ReadonlyArray<[string, SemanticGuardOptions]> = [
  ...(['numbers', 'operators', 'symbols', 'negation', 'person', 'quotes', 'code', 'entities', 'relations', 'tense', 'substitutions', 'order'] as const).map(
    (g): [string, SemanticGuardOptions] => [g, { [g]: false }],
  ),
  ['typos (no typo repair)', { typos: false }],
  ['maxAddedWords: 1', { maxAddedWords: 1 }],
];

/** The matcher's figures on both pair sets, as Markdown (bench/SEMANTIC.md carries them). */
export async function evalReport(options: { listPairs?: 'wrong' | 'all' } = {}): Promise<string> {
  const embedder: EmbeddingProvider = process.env.EMBEDDER_URL
    ? new HttpEmbeddingProvider({ baseUrl: process.env.EMBEDDER_URL, model: process.env.EMBEDDER_MODEL ?? 'text-embedding-3-small', apiKey: process.env.EMBEDDER_KEY })
    : new LocalEmbeddingProvider();
  const guards = JSON.parse(process.env.GUARDS ?? '{}') as SemanticGuardOptions;
  const t = Number(process.env.THRESHOLD ?? embedder.suggestedThreshold ?? 0.85);
  const out: string[] = [];
  for (const set of ['heldout', 'dev'] as PairSet[]) {
    const scored = await scorePairs(loadPairs(set), embedder, guards);
    const pos = scored.filter((p) => p.equivalent).length;
    const title = set === 'heldout' ? 'Held-out set (frozen before the matcher changes, never tuned on)' : 'Development set (the matcher was tuned on it)';
    out.push(`### ${title}`, '', `${scored.length} pairs (${pos} rewordings, ${scored.length - pos} hard negatives); embedder \`${embedder.id}\`, ${process.env.GUARDS ? `guards ${process.env.GUARDS}` : 'default guards'}.`, '');
    out.push('| threshold | wrong hits (guards) | recall (guards) | wrong hits (cosine only) | recall (cosine only) |', '|---|---|---|---|---|');
    for (const row of thresholdTable(scored, [0.6, 0.7, 0.8, 0.85, 0.9, 0.95])) {
      out.push(
        `| ${row.threshold.toFixed(2)}${row.threshold === t ? ' (default)' : ''} | ${pct(row.wrongHitRate)} (${row.wrongHits}/${row.hits}) | ${pct(row.recall)} | ` +
          `${pct(row.cosineOnly.wrongHitRate)} (${row.cosineOnly.wrongHits}/${row.cosineOnly.hits}) | ${pct(row.cosineOnly.recall)} |`,
      );
    }
    out.push('', `| kind (threshold ${t}) | pairs | matched | |`, '|---|---|---|---|');
    for (const k of byKind(scored, t)) out.push(`| ${k.kind} | ${k.pairs} | ${k.matched} | ${k.equivalent ? `recall ${pct(k.matched / k.pairs)}` : k.matched > 0 ? 'WRONG HITS' : 'no wrong hit'} |`);
    out.push('');
    if (!process.env.GUARDS) {
      // What each guard costs: recall and wrong hits with that guard alone turned off (or relaxed).
      out.push(`| guard turned off (threshold ${t}) | recall | wrong hits / hits |`, '|---|---|---|');
      const [base] = thresholdTable(scored, [t]);
      out.push(`| none (defaults) | ${pct(base.recall)} | ${base.wrongHits}/${base.hits} |`);
      for (const [name, relaxed] of GUARD_VARIANTS) {
        const [row] = thresholdTable(await scorePairs(loadPairs(set), embedder, relaxed), [t]);
        out.push(`| ${name} | ${pct(row.recall)} | ${row.wrongHits}/${row.hits} |`);
      }
      out.push('');
    }
    if (options.listPairs !== undefined) {
      for (const p of scored) {
        const matched = p.similarity >= t && p.conflict === undefined;
        if (matched !== p.equivalent || options.listPairs === 'all') {
          out.push(`${p.equivalent ? 'EQ' : 'NE'} ${p.kind.padEnd(16)} ${p.similarity.toFixed(3)} ${String(p.conflict ?? '-').padEnd(13)} ${JSON.stringify(p.a)} || ${JSON.stringify(p.b)}`);
        }
      }
    }
  }
  return out.join('\n');
}

if (require.main === module) {
  const list = process.argv.includes('--all') ? 'all' : process.argv.includes('--pairs') ? 'wrong' : undefined;
  void evalReport({ listPairs: list }).then((text) => console.log(text));
}
