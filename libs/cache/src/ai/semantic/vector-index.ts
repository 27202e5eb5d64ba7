import { InvalidArgumentError } from '../../core/errors';
/**
 * The in-memory search structure of one semantic scope: every vector quantized to int8 (one byte a
 * dimension, a float scale per vector) plus a 256-bit sign code (random-hyperplane LSH). A search
 * scans the codes (Hamming distance: 8 popcounts a vector, ~15 ns), keeps the few closest, and
 * re-ranks only those with the int8 dot product. The codes are computed once, by the writer, and
 * travel with the vector (see `vector-record.ts`), so loading 100,000 vectors costs no arithmetic.
 */

export const CODE_BITS = 256;
export const CODE_WORDS = CODE_BITS / 32;

export interface IndexedVector {
  /** The int8 components. */
  readonly q: Int8Array;
  /** Multiply a dot product of `q` by this to get the cosine (the vector was unit length). */
  readonly scale: number;
  readonly code: Int32Array;
}

export interface IndexMatch {
  slot: number;
  similarity: number;
}

export interface IndexSearchOptions {
  threshold: number;
  /** How many vectors, closest by Hamming distance, get the exact re-rank. Default 128. */
  candidates?: number;
  now: number;
}

/** Unit-length vector → int8 components with a scale (max-abs quantization). */
export function quantize(unit: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (let i = 0; i < unit.length; i++) max = Math.max(max, Math.abs(unit[i]));
  const q = new Int8Array(unit.length);
  if (max === 0) return { q, scale: 0 };
  const k = 127 / max;
  for (let i = 0; i < unit.length; i++) q[i] = Math.round(unit[i] * k);
  return { q, scale: max / 127 };
}

/** Scales a vector to unit length in place; a zero vector stays zero. */
export function normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
  if (norm > 0 && Math.abs(norm - 1) > 1e-6) {
    const k = 1 / Math.sqrt(norm);
    for (let i = 0; i < vector.length; i++) vector[i] *= k;
  }
  return vector;
}

/**
 * Computes 256-bit sign codes: bit b is set when the vector lies on the positive side of hyperplane b.
 * The hyperplanes are Gaussian, from a seed fixed per vector length, so every instance (and every
 * version of this library) computes the same code for the same vector.
 */
export class SignCoder {
  private readonly planes: Float32Array;

  constructor(readonly dims: number) {
    const planes = new Float32Array(CODE_BITS * dims);
    let seed = (0x9e3779b9 ^ dims) >>> 0;
    const uniform = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (let i = 0; i < planes.length; i += 2) {
      // Box-Muller: two normals per pair of uniforms.
      const r = Math.sqrt(-2 * Math.log(uniform() + 1e-12));
      const theta = 2 * Math.PI * uniform();
      planes[i] = r * Math.cos(theta);
      if (i + 1 < planes.length) planes[i + 1] = r * Math.sin(theta);
    }
    this.planes = planes;
  }

  code(vector: Float32Array): Int32Array {
    const dims = this.dims;
    if (vector.length !== dims) throw new InvalidArgumentError(`semantic cache: a vector of ${vector.length} dimensions for a coder of ${dims}; every vector of one index must come from the same embedder`);
    const planes = this.planes;
    const code = new Int32Array(CODE_WORDS);
    for (let b = 0; b < CODE_BITS; b++) {
      let dot = 0;
      const base = b * dims;
      for (let i = 0; i < dims; i++) dot += planes[base + i] * vector[i];
      if (dot > 0) code[b >>> 5] |= 1 << (b & 31);
    }
    return code;
  }

  /** Quantizes a unit vector and computes its code: what the index stores. */
  index(unit: Float32Array): IndexedVector {
    const { q, scale } = quantize(unit);
    return { q, scale, code: this.code(unit) };
  }
}

/**
 * The Hamming distance over `bits` code bits above which a pair is all but certain to be under
 * `threshold`: the expected distance at that cosine plus five standard deviations (each bit differs
 * with probability θ/π, independently).
 */
export function hammingCutoff(threshold: number, bits = CODE_BITS): number {
  const p = Math.acos(Math.min(1, Math.max(-1, threshold))) / Math.PI;
  return Math.min(bits, Math.ceil(bits * p + 5 * Math.sqrt(bits * p * (1 - p))));
}

/** Popcount of 16-bit values: two lookups a word beat the bit-twiddling popcount about 2x in V8. */
const POP16 = (() => {
  const table = new Uint8Array(65536);
  for (let i = 1; i < 65536; i++) table[i] = table[i >> 1] + (i & 1);
  return table;
})();

/** Grows by doubling; slots are never reused (a dead slot is skipped until the index is rebuilt). */
export class VectorIndex {
  private capacity = 0;
  private count = 0;
  private deadCount = 0;
  private vectors = new Int8Array(0);
  private scales = new Float32Array(0);
  private codes = new Int32Array(0);
  private expires = new Float64Array(0);
  private dead = new Uint8Array(0);
  private distances = new Uint16Array(0);
  private survivors = new Int32Array(0);
  private readonly keys: string[] = [];
  private readonly signatures: string[] = [];
  private readonly blockOfSlot: number[] = [];
  /** Slots by blocking key (see `blockOf` in guards.ts). */
  private readonly blocks = new Map<number, number[]>();

  constructor(readonly dims: number) {}

  get size(): number {
    return this.count;
  }

  /** Slots neither removed nor known dead (expiry is checked at search time). */
  get live(): number {
    return this.count - this.deadCount;
  }

  add(vector: IndexedVector, key: string, signature: string, expiresAt: number, block = 0): number {
    if (vector.q.length !== this.dims) throw new InvalidArgumentError(`semantic cache: a vector of ${vector.q.length} dimensions in an index of ${this.dims}; every vector of one index must come from the same embedder`);
    if (this.count === this.capacity) this.grow(Math.max(64, this.capacity * 2));
    const slot = this.count++;
    this.vectors.set(vector.q, slot * this.dims);
    this.scales[slot] = vector.scale;
    this.codes.set(vector.code, slot * CODE_WORDS);
    this.expires[slot] = expiresAt;
    this.keys[slot] = key;
    this.signatures[slot] = signature;
    this.blockOfSlot[slot] = block;
    const bucket = this.blocks.get(block);
    if (bucket === undefined) this.blocks.set(block, [slot]);
    else bucket.push(slot);
    return slot;
  }

  /** The slots of one blocking key whose cosine with `query` is at least `threshold`, best first: O(bucket). */
  searchBlock(block: number, query: Float32Array, options: IndexSearchOptions): IndexMatch[] {
    const bucket = this.blocks.get(block);
    if (bucket === undefined) return [];
    const matches: IndexMatch[] = [];
    for (const slot of bucket) {
      if (this.dead[slot] === 1 || this.expires[slot] <= options.now) continue;
      const similarity = this.similarity(slot, query);
      if (similarity >= options.threshold) matches.push({ slot, similarity });
    }
    return matches.sort((a, b) => b.similarity - a.similarity);
  }

  private similarity(slot: number, query: Float32Array): number {
    const dims = this.dims;
    const vectors = this.vectors;
    let dot = 0;
    for (let k = 0, o = slot * dims; k < dims; k++) dot += query[k] * vectors[o + k];
    return Math.min(1, dot * this.scales[slot]);
  }

  keyOf(slot: number): string {
    return this.keys[slot];
  }

  signatureOf(slot: number): string {
    return this.signatures[slot];
  }

  kill(slot: number): void {
    if (slot < this.count && this.dead[slot] === 0) {
      this.dead[slot] = 1;
      this.deadCount += 1;
      this.signatures[slot] = '';
    }
  }

  /** Marks every slot whose entry has expired; returns how many are dead in all. */
  sweep(now: number): number {
    for (let slot = 0; slot < this.count; slot++) if (this.dead[slot] === 0 && this.expires[slot] <= now) this.kill(slot);
    return this.deadCount;
  }

  /**
   * The slots whose cosine with `query` is at least `threshold`, best first. `query` must be unit
   * length; `code` its sign code.
   */
  search(query: Float32Array, code: Int32Array, options: IndexSearchOptions): IndexMatch[] {
    const n = this.count;
    if (n === 0) return [];
    const survivors = this.firstPass(code, hammingCutoff(options.threshold, CODE_BITS / 2));
    const cutoff = hammingCutoff(options.threshold);
    // Second half of the code for the survivors, then the `candidates` closest by full distance.
    const codes = this.codes;
    const T = POP16;
    const histogram = new Uint32Array(CODE_BITS + 1);
    const distances = this.distances;
    const q4 = code[4], q5 = code[5], q6 = code[6], q7 = code[7];
    for (let i = 0; i < survivors.length; i++) {
      const slot = survivors[i];
      const o = slot * CODE_WORDS;
      let x: number;
      const d = distances[slot] +
        T[(x = q4 ^ codes[o + 4]) & 0xffff] + T[x >>> 16] + T[(x = q5 ^ codes[o + 5]) & 0xffff] + T[x >>> 16] +
        T[(x = q6 ^ codes[o + 6]) & 0xffff] + T[x >>> 16] + T[(x = q7 ^ codes[o + 7]) & 0xffff] + T[x >>> 16];
      distances[slot] = d;
      if (d <= cutoff) histogram[d] += 1;
    }
    const want = options.candidates ?? 128;
    let limit = -1;
    for (let d = 0, seen = 0; d <= cutoff; d++) {
      seen += histogram[d];
      if (histogram[d] > 0) limit = d;
      if (seen >= want) break;
    }
    if (limit < 0) return [];
    const now = options.now;
    const matches: IndexMatch[] = [];
    for (let i = 0; i < survivors.length; i++) {
      const slot = survivors[i];
      if (distances[slot] > limit || this.dead[slot] === 1 || this.expires[slot] <= now) continue;
      const similarity = this.similarity(slot, query);
      if (similarity >= options.threshold) matches.push({ slot, similarity });
    }
    return matches.sort((a, b) => b.similarity - a.similarity);
  }

  /** Slots within `cutoff` of the query on the first 128 code bits; their partial distance is left in `distances`. */
  private firstPass(code: Int32Array, cutoff: number): Int32Array {
    const n = this.count;
    const codes = this.codes;
    const distances = this.distances;
    const T = POP16;
    const out = this.survivors;
    let found = 0;
    const q0 = code[0], q1 = code[1], q2 = code[2], q3 = code[3];
    for (let slot = 0, o = 0; slot < n; slot++, o += CODE_WORDS) {
      let x: number;
      const d =
        T[(x = q0 ^ codes[o]) & 0xffff] + T[x >>> 16] + T[(x = q1 ^ codes[o + 1]) & 0xffff] + T[x >>> 16] +
        T[(x = q2 ^ codes[o + 2]) & 0xffff] + T[x >>> 16] + T[(x = q3 ^ codes[o + 3]) & 0xffff] + T[x >>> 16];
      if (d <= cutoff) {
        distances[slot] = d;
        out[found++] = slot;
      }
    }
    return out.subarray(0, found);
  }

  /** A new index holding only the live slots (slot numbers change). */
  compact(): VectorIndex {
    const next = new VectorIndex(this.dims);
    const dims = this.dims;
    for (let slot = 0; slot < this.count; slot++) {
      if (this.dead[slot] === 1) continue;
      const vector = {
        q: this.vectors.subarray(slot * dims, (slot + 1) * dims),
        scale: this.scales[slot],
        code: this.codes.subarray(slot * CODE_WORDS, (slot + 1) * CODE_WORDS),
      };
      next.add(vector, this.keys[slot], this.signatures[slot], this.expires[slot], this.blockOfSlot[slot]);
    }
    return next;
  }

  /** Typed arrays plus the key and signature strings (one byte a character, plus V8's string and slot overhead). */
  get approximateBytes(): number {
    let strings = 0;
    for (let slot = 0; slot < this.count; slot++) strings += this.keys[slot].length + this.signatures[slot].length + 2 * (16 + 8);
    // A block number and its place in a bucket: two array slots, plus a map entry for each bucket.
    return this.typedBytes + strings + this.count * 16 + this.blocks.size * 48;
  }

  /** Bytes held by the typed arrays (capacity included). */
  get typedBytes(): number {
    return this.vectors.byteLength + this.scales.byteLength + this.codes.byteLength + this.expires.byteLength +
      this.dead.byteLength + this.distances.byteLength + this.survivors.byteLength;
  }

  private grow(capacity: number): void {
    const copy = <T extends Int8Array | Float32Array | Int32Array | Float64Array | Uint8Array | Uint16Array>(
      old: T,
      make: (length: number) => T,
      width: number,
    ): T => {
      const next = make(capacity * width);
      next.set(old as never);
      return next;
    };
    this.vectors = copy(this.vectors, (l) => new Int8Array(l), this.dims);
    this.scales = copy(this.scales, (l) => new Float32Array(l), 1);
    this.codes = copy(this.codes, (l) => new Int32Array(l), CODE_WORDS);
    this.expires = copy(this.expires, (l) => new Float64Array(l), 1);
    this.dead = copy(this.dead, (l) => new Uint8Array(l), 1);
    this.distances = new Uint16Array(capacity);
    this.survivors = new Int32Array(capacity);
    this.capacity = capacity;
  }
}
