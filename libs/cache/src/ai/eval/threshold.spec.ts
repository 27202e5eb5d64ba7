import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalEmbeddingProvider } from '../embeddings/local.embedder';
import { type LabelledPair, scorePairs, thresholdTable } from './pair-eval';

/**
 * The default threshold of the local embedder, with the default guards, on the labelled pairs: at most
 * 1% of the pairs it lets match may be wrong, and it must still match most equivalent pairs (a cache
 * that never matches would pass the first test).
 */
describe('semantic threshold on the labelled pairs', () => {
  const pairs = JSON.parse(readFileSync(path.join(__dirname, 'pairs.json'), 'utf8')) as LabelledPair[];
  const embedder = new LocalEmbeddingProvider();

  it('has at least 300 pairs, most of them hard negatives', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(300);
    const negatives = pairs.filter((p) => !p.equivalent);
    expect(negatives.filter((p) => p.kind !== 'unrelated').length).toBeGreaterThan(0.9 * negatives.length);
  });

  it('keeps wrong hits at or under 1% at the default threshold, on every split, with useful recall', async () => {
    const scored = await scorePairs(pairs, embedder);
    for (const split of ['dev', 'holdout', 'holdout2', 'all'] as const) {
      const subset = split === 'all' ? scored : scored.filter((p) => p.split === split);
      const [row] = thresholdTable(subset, [embedder.suggestedThreshold]);
      // The split is in the object so that a failure says which one.
      expect({ split, wrongHits: row.wrongHitRate <= 0.01 ? 'ok' : row.wrongHitRate, recall: row.recall > 0.7 ? 'ok' : row.recall }).toEqual({
        split,
        wrongHits: 'ok',
        recall: 'ok',
      });
    }
  });

  it('shows that the guards, not the threshold, carry the precision', async () => {
    const [row] = thresholdTable(await scorePairs(pairs, embedder), [embedder.suggestedThreshold]);
    expect(row.cosineOnly.wrongHitRate).toBeGreaterThan(0.1);
  });
});
