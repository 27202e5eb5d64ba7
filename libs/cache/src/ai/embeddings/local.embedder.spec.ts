import { cosine } from '../semantic/vector-math';
import { LocalEmbeddingProvider } from './local.embedder';

describe('LocalEmbeddingProvider', () => {
  const embedder = new LocalEmbeddingProvider();

  it('is deterministic and unit length', async () => {
    const [a, b] = await embedder.embed(['How do I reset my password?', 'How do I reset my password?']);
    expect([...a]).toEqual([...b]);
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(a.length).toBe(256);
  });

  it('puts rephrasings closer than different questions', async () => {
    const [q, para, other, unrelated] = await embedder.embed([
      'How do I reset my password?',
      'how can i reset my password',
      'How do I reset my username?',
      'What is the capital of France?',
    ]);
    expect(cosine(q, para)).toBeGreaterThan(0.9);
    expect(cosine(q, other)).toBeLessThan(cosine(q, para));
    expect(cosine(q, unrelated)).toBeLessThan(0.3);
  });

  it('gives an empty text a zero vector and refuses a size that is not a power of two', async () => {
    const [empty] = await embedder.embed(['   ']);
    expect(empty.every((x) => x === 0)).toBe(true);
    expect(() => new LocalEmbeddingProvider({ dimensions: 100 })).toThrow(/power of two/);
  });
});
