import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import type Redis from 'ioredis';
import type { CacheService } from '../src';
import { EntryCodec, FLAG_COMPRESSED, FLAG_LZ4, HEADER_CHECKED, HEADER_PLAIN } from '../src/codec/entry.codec';
import { useRedis, waitFor } from './harness';
import { CacheFactory } from './cache-factory';

const MiB = 1024 * 1024;
const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');

/** A brotli stream of `prefix` (incompressible) followed by `zeros` zero bytes, built without holding the zeros. */
function bomb(prefix: Buffer, zeros: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('close', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    const block = Buffer.alloc(16 * MiB);
    let left = zeros;
    const write = (): void => {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!stream.write(block.subarray(0, n))) return void stream.once('drain', write);
      }
      stream.end();
    };
    stream.write(prefix);
    write();
  });
}

/** L2 bytes nobody should trust: random, bit-flipped, moved between keys, or a decompression bomb. */
describe('L2 bytes that do not decode', () => {
  const apps = new CacheFactory();
  // Declared before useRedis(), so the apps close while their Redis still runs.
  afterAll(() => apps.closeAll());
  const redis = useRedis();
  let admin: Redis;
  let plain: CacheService;
  let sealed: CacheService;
  let tenantB: CacheService;
  const protoBefore = protoKeys();

  beforeAll(async () => {
    admin = redis.client();
    // A generous command timeout: a 10 MiB entry must arrive to be judged, even on a busy machine.
    plain = (await apps.create({ redis: redis.url, prefix: 'plain', memory: false, commandTimeout: '10s' })).cache;
    const encryption = { keys: { k1: randomBytes(32) }, activeKeyId: 'k1' };
    sealed = (await apps.create({ redis: redis.url, prefix: 'sealed', memory: false, encryption })).cache.forTenant('acme');
    tenantB = sealed.forTenant('globex');
  });
  afterEach(() => expect(protoKeys()).toBe(protoBefore));

  it('random bytes: every one a miss, no crash, no prototype pollution', async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 300 }), async (bytes) => {
        const key = `rnd${i++}`;
        await admin.set(plain.keyOf(key), Buffer.from(bytes));
        await admin.set(sealed.keyOf(key), Buffer.from(bytes));
        expect(await plain.get(key)).toBeUndefined();
        expect(await sealed.get(key)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    expect(plain.stats().corrupt).toBeGreaterThanOrEqual(300);
  });

  it('crafted envelopes with __proto__ and constructor keys: decoded as plain data, Object.prototype untouched', async () => {
    let i = 0;
    const hostile = fc.record({ __proto__: fc.record({ polluted: fc.constant(true) }), constructor: fc.record({ prototype: fc.record({ polluted: fc.constant(true) }) }) });
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile, fc.jsonValue()), async (value) => {
        const key = `proto${i++}`;
        const text = JSON.stringify({ c: 1, e: Date.now() + 60_000, s: Date.now() + 60_000, t: [], v: value }).replace('"___proto__"', '"__proto__"');
        await admin.set(plain.keyOf(key), Buffer.concat([Buffer.from([HEADER_PLAIN]), Buffer.from(text)]));
        const got = await plain.get<Record<string, unknown>>(key);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        if (got !== null && typeof got === 'object' && !Array.isArray(got)) expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
      }),
      { numRuns: 200 },
    );
  });

  it('bit flips: every flipped entry is a miss, encrypted (GCM) or not (CRC-32)', async () => {
    const value = { answer: 'forty-two', score: 0.93, tags: ['a', 'b'], at: new Date(0) };
    await plain.set('orig', value, { ttl: '1h' });
    await sealed.set('orig', value, { ttl: '1h' });
    const plainBytes = (await admin.getBuffer(plain.keyOf('orig')))!;
    const sealedBytes = (await admin.getBuffer(sealed.keyOf('orig')))!;
    const outcomes = { plain: { rejected: 0, accepted: 0 }, sealed: { rejected: 0, accepted: 0 } };
    let i = 0;
    const flips = (length: number) => fc.uniqueArray(fc.nat({ max: length * 8 - 1 }), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(flips(plainBytes.length), flips(sealedBytes.length), async (plainBits, sealedBits) => {
        const key = `flip${i++}`;
        const flip = (bytes: Buffer, bits: number[]) => {
          const out = Buffer.from(bytes);
          for (const bit of bits) out[bit >> 3] ^= 1 << (bit & 7);
          return out;
        };
        await admin.set(plain.keyOf(key), flip(plainBytes, plainBits));
        await admin.set(sealed.keyOf(key), flip(sealedBytes, sealedBits));
        const p = await plain.get(key);
        outcomes.plain[p === undefined ? 'rejected' : 'accepted'] += 1;
        const s = await sealed.get(key);
        outcomes.sealed[s === undefined ? 'rejected' : 'accepted'] += 1;
        expect(p).toBeUndefined();
        expect(s).toBeUndefined();
      }),
      { numRuns: 500 },
    );
    process.stdout.write(
      `bit flips (1-3 bits, 500 runs): encrypted ${outcomes.sealed.rejected}/500 rejected; ` +
        `plaintext (checksummed) ${outcomes.plain.rejected}/500 rejected\n`,
    );
    expect(outcomes.sealed.rejected).toBe(500);
    expect(outcomes.plain.rejected).toBe(500);
  });

  it('encrypted entries moved to another key, or another tenant, are misses', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue(), async (from, to, value) => {
        fc.pre(from !== to);
        await sealed.set(from, value, { ttl: '1h' });
        const bytes = (await admin.getBuffer(sealed.keyOf(from)))!;
        await admin.set(sealed.keyOf(to), bytes);
        await admin.set(tenantB.keyOf(from), bytes);
        expect(await sealed.get(to)).toBeUndefined();
        expect(await tenantB.get(from)).toBeUndefined();
        expect(await sealed.get(from)).toEqual(value);
      }),
      { numRuns: 200 },
    );
  });

  it('an LZ4 entry whose size field claims 4 GiB is a miss, and is deleted', async () => {
    const body = Buffer.alloc(64, 1);
    body.writeUInt32LE(0xffff_fff0, 0);
    await admin.set(plain.keyOf('lz4bomb'), Buffer.concat([Buffer.from([HEADER_PLAIN | FLAG_COMPRESSED | FLAG_LZ4]), body]));
    expect(await plain.get('lz4bomb')).toBeUndefined();
    await waitFor(async () => (await admin.exists(plain.keyOf('lz4bomb'))) === 0, { message: 'the entry was not deleted' });
  });

  it("entries of either codec stay readable when the 'compression' option changes (the header names the codec)", async () => {
    const brotli = (await apps.create({ redis: redis.url, prefix: 'plain', memory: false, compression: 'brotli' })).cache;
    const value = { rows: Array.from({ length: 60 }, (_, i) => ({ id: i, name: 'Ada Lovelace', status: 'delivered' })) };
    await plain.set('by-lz4', value);
    await brotli.set('by-brotli', value);
    const header = async (key: string) => (await admin.getBuffer(plain.keyOf(key)))![0] & (FLAG_COMPRESSED | FLAG_LZ4);
    expect(await header('by-lz4')).toBe(FLAG_COMPRESSED | FLAG_LZ4);
    expect(await header('by-brotli')).toBe(FLAG_COMPRESSED);
    for (const reader of [plain, brotli]) {
      expect(await reader.get('by-lz4')).toEqual(value);
      expect(await reader.get('by-brotli')).toEqual(value);
    }
  });

  it('a 1 MiB value that inflates to 1 GiB is rejected quickly, with bounded memory', async () => {
    const compressed = await bomb(randomBytes(MiB - 256 * 1024), 1024 * MiB);
    expect(compressed.length).toBeLessThanOrEqual(1.1 * MiB);
    // Checksummed like a real entry, so the reader gets as far as inflating it.
    const header = Buffer.from([HEADER_CHECKED | FLAG_COMPRESSED]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(compressed, zlib.crc32(header)));
    // Up to three tries: one read is a single timing on a shared machine (a GC pause or a neighbour's burst
    // lands on it); rejected, counted and deleted every time, with bounded memory every time, and quick in one.
    let timing = { elapsed: Number.POSITIVE_INFINITY, baseline: 0 };
    for (let attempt = 1; attempt <= 3 && !(timing.elapsed < 5 * timing.baseline); attempt += 1) {
      await admin.set(plain.keyOf('bomb'), Buffer.concat([header, crc, compressed]));
      const fetched = performance.now();
      await admin.getBuffer(plain.keyOf('bomb'));
      const fetchMs = performance.now() - fetched;
      const before = process.memoryUsage();
      const started = performance.now();
      const corrupt = plain.stats().corrupt;
      expect(await plain.get('bomb')).toBeUndefined();
      expect(plain.stats().corrupt).toBe(corrupt + 1);
      const elapsed = performance.now() - started;
      const after = process.memoryUsage();
      const grew = (after.rss - before.rss) / MiB;
      process.stdout.write(
        `zip bomb (try ${attempt}): ${(compressed.length / MiB).toFixed(2)} MiB stored, would inflate to 1 GiB; rejected in ${elapsed.toFixed(0)} ms, ` +
          `rss +${grew.toFixed(0)} MiB (read bound maxValueBytes + 1 MiB)\n`,
      );
      // The baseline, on the same bytes: fetching them raw (above), and inflating them up to the bound.
      const bounded = performance.now();
      expect(() => zlib.brotliDecompressSync(compressed, { maxOutputLength: 9 * MiB })).toThrow();
      const boundMs = performance.now() - bounded;
      process.stdout.write(`zip bomb baseline: raw fetch ${fetchMs.toFixed(1)} ms, inflating to the bound ${boundMs.toFixed(1)} ms\n`);
      expect(grew).toBeLessThan(256);
      await waitFor(async () => (await admin.exists(plain.keyOf('bomb'))) === 0, { message: 'the bomb was not deleted' });
      timing = { elapsed, baseline: fetchMs + boundMs };
    }
    expect(timing.elapsed).toBeLessThan(5 * timing.baseline);
  });

  describe('hostile entries that decode: each a counted corrupt miss, the key removed', () => {
    // Written with a codec that checks nothing about the value, as a hostile writer would.
    // Brotli: the codec that packs the most into a small entry (LZ4's size field is checked before it inflates).
    const raw = new EntryCodec({ compressThreshold: 1024, maxInflatedBytes: 2 ** 28, compression: 'brotli' });
    const entryOf = (text: string, tags: string[] = []) =>
      raw.encode({ value: undefined, createdAt: Date.now(), expiresAt: Date.now() + 3_600_000, staleUntil: Date.now() + 3_600_000, tags }, { text, tagged: false });

    async function expectCorruptMiss(key: string, bytes: Buffer): Promise<void> {
      await admin.set(plain.keyOf(key), bytes);
      const corruptBefore = plain.stats().corrupt;
      let computed = 0;
      expect(await plain.get(key)).toBeUndefined();
      expect(plain.stats().corrupt).toBe(corruptBefore + 1);
      await waitFor(async () => (await admin.exists(plain.keyOf(key))) === 0, { message: `${key} was not deleted` });
      // The next read is a plain miss: the factory runs once and its value is served and stored.
      await admin.set(plain.keyOf(key), bytes);
      expect(await plain.getOrSet(key, () => ++computed)).toBe(1);
      expect(computed).toBe(1);
    }

    it('a value nested 200,000 levels deep', async () => {
      const depth = 200_000;
      await expectCorruptMiss('nested', entryOf('['.repeat(depth) + ']'.repeat(depth)));
    });

    it('a value nested past the limit a write refuses too (1,001 levels), while 1,000 levels reads back', async () => {
      await expectCorruptMiss('nested1001', entryOf('['.repeat(1001) + ']'.repeat(1001)));
      let deep: unknown = 'bottom';
      for (let i = 0; i < 999; i++) deep = [deep];
      expect(await plain.set('nested1000', deep)).toBe(true);
      expect(JSON.stringify(await plain.get('nested1000'))).toBe(JSON.stringify(deep));
      expect(await plain.set('nested1002', [deep, [[deep]]])).toBe(false);
    });

    it('an 11 KB entry that inflates to 60 MB, over maxValueBytes (8 MiB): refused, never inflated past the bound', async () => {
      const bytes = entryOf(JSON.stringify('a'.repeat(60 * 1000 * 1000)));
      expect(bytes[0] & FLAG_COMPRESSED).toBe(FLAG_COMPRESSED);
      expect(bytes.length).toBeLessThan(100 * 1024);
      await expectCorruptMiss('inflates60', bytes);
    });

    it('an entry stored uncompressed over maxValueBytes', async () => {
      const plainRaw = new EntryCodec({ compressThreshold: Infinity });
      const text = JSON.stringify('b'.repeat(10 * MiB));
      const bytes = plainRaw.encode({ value: undefined, createdAt: Date.now(), expiresAt: Date.now() + 60_000, staleUntil: Date.now() + 60_000, tags: [] }, { text, tagged: false });
      await expectCorruptMiss('huge', bytes);
    });

    it('an entry carrying 100,000 tags: no lookup of its tags, and a write with as many is refused', async () => {
      const tags = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
      const mgetsBefore = await commandCalls(admin, 'mget');
      await expectCorruptMiss('tagged', entryOf('"v"', tags));
      // The tags' times were never asked for: no MGET went out for them.
      expect(await commandCalls(admin, 'mget')).toBe(mgetsBefore);
      expect(await plain.set('manyTags', 'v', { tags: tags.slice(0, 1001) })).toBe(false);
      expect(await plain.set('fewTags', 'v', { tags: tags.slice(0, 1000) })).toBe(true);
    });
  });
});

/** How many times Redis ran a command since it started (INFO commandstats). */
async function commandCalls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info('commandstats');
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return match === null ? 0 : Number(match[1]);
}
