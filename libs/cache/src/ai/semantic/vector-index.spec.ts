import { CODE_BITS, SignCoder, VectorIndex, hammingCutoff, normalize, quantize } from './vector-index';
import { decodeRecord, encodeRecord } from './vector-record';

function random(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
}

function unitVector(next: () => number, dims: number): Float32Array {
  return normalize(Float32Array.from({ length: dims }, () => next() - 0.5));
}

/** A vector at cosine ≈ `similarity` from `base`. */
function near(base: Float32Array, similarity: number, next: () => number): Float32Array {
  const noise = unitVector(next, base.length);
  let dot = 0;
  for (let i = 0; i < base.length; i++) dot += noise[i] * base[i];
  for (let i = 0; i < base.length; i++) noise[i] -= dot * base[i];
  normalize(noise);
  const s = Math.sqrt(1 - similarity * similarity);
  return normalize(base.map((x, i) => similarity * x + s * noise[i]));
}

describe('VectorIndex', () => {
  const dims = 128;
  const coder = new SignCoder(dims);

  it('finds what a brute-force scan finds above the threshold, best first', () => {
    const next = random(1);
    const index = new VectorIndex(dims);
    const vectors: Float32Array[] = [];
    const bases = Array.from({ length: 50 }, () => unitVector(next, dims));
    for (let i = 0; i < 5000; i++) {
      const v = near(bases[i % 50], 0.5 + 0.5 * next(), next);
      vectors.push(v);
      index.add(coder.index(v), `k${i}`, '', Number.MAX_SAFE_INTEGER);
    }
    let missed = 0;
    for (let q = 0; q < 200; q++) {
      const target = Math.floor(next() * vectors.length);
      const query = near(vectors[target], 0.93, next);
      let best = -1;
      let bestSimilarity = 0.9;
      vectors.forEach((v, slot) => {
        let dot = 0;
        for (let i = 0; i < dims; i++) dot += v[i] * query[i];
        if (dot >= bestSimilarity) [best, bestSimilarity] = [slot, dot];
      });
      const found = index.search(query, coder.code(query), { threshold: 0.9, now: 0 });
      if (best >= 0 && (found.length === 0 || found[0].slot !== best)) missed += 1;
      for (const m of found) expect(m.similarity).toBeGreaterThanOrEqual(0.9);
      for (let i = 1; i < found.length; i++) expect(found[i - 1].similarity).toBeGreaterThanOrEqual(found[i].similarity);
    }
    // The sign-code prefilter may in theory drop a true best match; on this data it must not in practice.
    expect(missed).toBeLessThanOrEqual(2);
  });

  it('skips expired and killed slots, and compacts to the live ones', () => {
    const next = random(2);
    const index = new VectorIndex(dims);
    const v = unitVector(next, dims);
    const expired = index.add(coder.index(v), 'old', '', 100);
    const live = index.add(coder.index(v), 'live', '', 1000);
    const killed = index.add(coder.index(v), 'killed', '', 1000);
    index.kill(killed);
    const found = index.search(v, coder.code(v), { threshold: 0.99, now: 500 });
    expect(found.map((m) => index.keyOf(m.slot))).toEqual(['live']);
    expect(index.sweep(500)).toBe(2);
    expect([expired, live]).toEqual([0, 1]);
    const compacted = index.compact();
    expect(compacted.size).toBe(1);
    expect(compacted.keyOf(0)).toBe('live');
  });

  it('searches one blocking key bucket, best first, above the threshold only', () => {
    const next = random(6);
    const index = new VectorIndex(dims);
    const base = unitVector(next, dims);
    const close = near(base, 0.95, next);
    const far = near(base, 0.5, next);
    index.add(coder.index(close), 'close', '', 1000, 7);
    index.add(coder.index(far), 'far', '', 1000, 7);
    index.add(coder.index(base), 'other-block', '', 1000, 8);
    const found = index.searchBlock(7, base, { threshold: 0.9, now: 0 });
    expect(found.map((m) => index.keyOf(m.slot))).toEqual(['close']);
    expect(found[0].similarity).toBeCloseTo(0.95, 2);
    expect(index.searchBlock(9, base, { threshold: 0, now: 0 })).toEqual([]);
  });

  it('quantizes to int8 with a cosine error under 0.01', () => {
    const next = random(3);
    for (let i = 0; i < 50; i++) {
      const a = unitVector(next, dims);
      const b = near(a, 0.9, next);
      const { q, scale } = quantize(b);
      let exact = 0;
      let approx = 0;
      for (let k = 0; k < dims; k++) {
        exact += a[k] * b[k];
        approx += a[k] * q[k] * scale;
      }
      expect(Math.abs(exact - approx)).toBeLessThan(0.01);
    }
  });

  it('computes the same sign codes in every instance', () => {
    const v = unitVector(random(4), dims);
    expect([...new SignCoder(dims).code(v)]).toEqual([...new SignCoder(dims).code(v)]);
    expect(hammingCutoff(1)).toBeLessThan(hammingCutoff(0.8));
    expect(hammingCutoff(-1)).toBe(CODE_BITS);
  });

  it('round-trips records through the binary form and refuses damaged ones', () => {
    const vector = coder.index(unitVector(random(5), dims));
    const bytes = encodeRecord({ key: 'openai/gpt/qa/abc', expiresAt: 1234.5, signature: '[[],[]]', block: 0xfedcba98, vector });
    const back = decodeRecord(bytes)!;
    expect(back.key).toBe('openai/gpt/qa/abc');
    expect(back.expiresAt).toBe(1234.5);
    expect(back.block).toBe(0xfedcba98);
    expect([...back.vector.q]).toEqual([...vector.q]);
    expect([...back.vector.code]).toEqual([...vector.code]);
    expect(back.vector.scale).toBeCloseTo(vector.scale, 6);
    expect(decodeRecord(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(decodeRecord(Buffer.from([9, 9, 9]))).toBeUndefined();
  });
});
