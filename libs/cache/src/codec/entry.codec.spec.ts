import fc from 'fast-check';
import type { CacheEntry } from '../core/entry';
import { CorruptEntryError, InvalidArgumentError, InvalidOptionError } from '../core/errors';
import { compress, lz4Compress } from './compression';
import { crc32 } from 'node:zlib';
import { EntryCodec, FLAG_CHECKSUM, FLAG_COMPRESSED, FLAG_ENCRYPTED, FLAG_LZ4, FLAG_TAGGED, HEADER_PLAIN, HEADER_TEXT } from './entry.codec';
import { llmText } from '../../test/fixtures/llm-text.fixture';

const codec = new EntryCodec({ compressThreshold: 1024, maxInflatedBytes: 1024 * 1024 });
/** The codec for bytes over CPU (a cold tier); the default one reads what it writes and vice versa. */
const brotli = new EntryCodec({ compressThreshold: 1024, maxInflatedBytes: 1024 * 1024, compression: 'brotli' });
const LZ4 = FLAG_COMPRESSED | FLAG_LZ4;
const times = { createdAt: 1_700_000_000_000, expiresAt: 1_700_000_060_000, staleUntil: 1_700_000_360_000 };

function entryOf(value: unknown, tags: string[] = ['t:users', 'tenant:7']): CacheEntry {
  return { value, tags, ...times };
}
function encodeValue(value: unknown, c: EntryCodec = codec): Buffer {
  return c.encode(entryOf(value), c.serializeValue(value));
}
/** An entry as written: the header, and (unless it claims encryption) the body's checksum, so tests reach the envelope checks. */
function withHeader(header: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (header & FLAG_ENCRYPTED) return Buffer.concat([Buffer.from([header]), body]);
  const first = Buffer.from([header | FLAG_CHECKSUM]);
  const sum = Buffer.alloc(4);
  sum.writeUInt32BE(crc32(body, crc32(first)));
  return Buffer.concat([first, sum, body]);
}

/** The header of a plain entry as written: version 1, checksummed. */
const PLAIN = HEADER_PLAIN | FLAG_CHECKSUM;
/** The header of a string value as written: version 2 (the text payload), checksummed. */
const TEXT = HEADER_TEXT | FLAG_CHECKSUM;

const objectProtoNames = Object.getOwnPropertyNames(Object.prototype);
function expectPrototypesUntouched(): void {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(objectProtoNames);
}

describe('EntryCodec', () => {
  describe('round trip', () => {
    const values: [string, unknown][] = [
      ['a string', 'hello, wörld ✓ \u{1F600}'],
      ['a number', 42.5],
      ['zero', 0],
      ['a boolean', false],
      ['null', null],
      ['an empty string', ''],
      ['an array', [1, 'two', { three: 3 }, null]],
      ['an object', { id: 7, name: 'Ada', roles: ['admin'], nested: { deep: [true] } }],
      ['a Date', new Date('2024-02-29T12:00:00.000Z')],
      ['a Buffer', Buffer.from([0, 1, 2, 255])],
      ['a Uint8Array', new Uint8Array([9, 8, 7])],
      ['a Map', new Map<unknown, unknown>([['a', 1], [2, { b: new Date(0) }]])],
      ['a Set', new Set(['x', 1, null])],
      ['a BigInt', 123456789012345678901234567890n],
      ['special numbers', [NaN, -0, Infinity]],
      ['a tag look-alike', { $t: 'Date', v: 0 }],
      ['a large object', Array.from({ length: 200 }, (_, i) => ({ id: i, email: `user${i}@example.com` }))],
      ['a large tagged value', new Map(Array.from({ length: 200 }, (_, i) => [i, new Date(i * 1e9)]))],
    ];
    it.each(values)('%s', (_name, value) => {
      const entry = entryOf(value);
      const decoded = codec.decode(codec.encode(entry, codec.serializeValue(value)));
      expect(decoded).toStrictEqual(entry);
      expect(codec.parseValue(codec.serializeValue(value))).toStrictEqual(value);
    });

    it('keeps empty and unusual tags', () => {
      const entry = entryOf('v', ['', 'a"b', 'ключ', '\u0000']);
      expect(codec.decode(codec.encode(entry, codec.serializeValue('v')))).toStrictEqual(entry);
    });
  });

  describe('header and payload', () => {
    it('writes the plain case as the version byte (checksummed), the CRC-32 of the body, then the envelope JSON', () => {
      const bytes = encodeValue({ x: 1 });
      expect(bytes[0]).toBe(0b0010_1000);
      expect(bytes.readUInt32BE(1)).toBe(crc32(bytes.subarray(5), crc32(bytes.subarray(0, 1))));
      expect(bytes.subarray(5).toString('utf8')).toBe(
        `{"c":${times.createdAt},"e":${times.expiresAt},"s":${times.staleUntil},"t":["t:users","tenant:7"],"v":{"x":1}}`,
      );
    });

    it('writes a string as the text payload: the envelope without "v", a line feed, then the string in UTF-8', async () => {
      const text = 'a line\nand "quotes", a tab\t, wörld ✓ \u{1F600}\n{"v":1}';
      const bytes = encodeValue(text);
      expect(bytes[0]).toBe(TEXT);
      expect(bytes.readUInt32BE(1)).toBe(crc32(bytes.subarray(5), crc32(bytes.subarray(0, 1))));
      expect(bytes.subarray(5).toString('utf8')).toBe(
        `{"c":${times.createdAt},"e":${times.expiresAt},"s":${times.staleUntil},"t":["t:users","tenant:7"]}\n${text}`,
      );
      expect(codec.decode(bytes)).toStrictEqual(entryOf(text));
      // Compressed, by either codec, and read by either.
      const long = llmText(8 * 1024, 3);
      for (const writer of [codec, brotli]) {
        const packed = await writer.encodeAsync(entryOf(long), writer.serializeValue(long));
        expect(packed[0] & ~LZ4).toBe(TEXT);
        expect(packed[0] & FLAG_COMPRESSED).toBe(FLAG_COMPRESSED);
        for (const reader of [codec, brotli]) expect(reader.decode(packed)).toStrictEqual(entryOf(long));
      }
      expect(codec.decode(encodeValue('')).value).toBe('');
    });

    it("keeps a string as itself: no JSON on the way in, none for L1's copy", () => {
      const text = 'a line\nand "quotes" ✓';
      const stringify = jest.spyOn(JSON, 'stringify');
      const parse = jest.spyOn(JSON, 'parse');
      try {
        const serialized = codec.serializeValue(text);
        expect(serialized).toEqual({ text, tagged: false, shallow: true, raw: true });
        expect(codec.parseValue(serialized)).toBe(text);
        expect(stringify.mock.calls.filter(([value]) => value === text)).toEqual([]);
        expect(parse).not.toHaveBeenCalled();
      } finally {
        stringify.mockRestore();
        parse.mockRestore();
      }
    });

    it('keeps version 1 for a string UTF-8 cannot carry (a lone surrogate), and reads version 1 strings written before the text payload', () => {
      const lone = 'half of \ud83d an emoji';
      const bytes = encodeValue(lone);
      expect(bytes[0]).toBe(PLAIN);
      expect(codec.decode(bytes).value).toBe(lone);
      const before = withHeader(HEADER_PLAIN, '{"c":1,"e":2,"s":3,"t":["a"],"v":"line\\none"}');
      expect(codec.decode(before)).toStrictEqual({ value: 'line\none', createdAt: 1, expiresAt: 2, staleUntil: 3, tags: ['a'] });
    });

    it('flags values that need the reviver', () => {
      expect(encodeValue(new Date(0))[0]).toBe(PLAIN | FLAG_TAGGED);
      expect(encodeValue({ d: 'not a date' })[0]).toBe(PLAIN);
    });

    it("compresses values from the threshold on (the value's size, not the envelope's), and only when it helps", () => {
      const c = new EntryCodec({ compressThreshold: 200 });
      const justBelow = 'a'.repeat(200 - 1); // a string's own length (for other values, their JSON text's)
      const atThreshold = `${justBelow}a`;
      expect(encodeValue(justBelow, c)[0]).toBe(TEXT);
      expect(encodeValue(atThreshold, c)[0]).toBe(TEXT | LZ4);
      // Brotli's output for a 32-byte envelope is 36 bytes: compressing it would only cost space.
      const always = new EntryCodec({ compressThreshold: 0, compression: 'brotli' });
      const tiny = always.encode({ value: 1, createdAt: 1, expiresAt: 2, staleUntil: 3, tags: [] }, always.serializeValue(1));
      expect(tiny.subarray(5).toString('latin1')).toBe('{"c":1,"e":2,"s":3,"t":[],"v":1}');
      expect(tiny[0]).toBe(PLAIN);
      expect(always.encode(entryOf('a'.repeat(100)), always.serializeValue('a'.repeat(100)))[0]).toBe(TEXT | FLAG_COMPRESSED);
      expect(encodeValue('a'.repeat(10_000), new EntryCodec({ compressThreshold: Infinity }))[0]).toBe(TEXT);
    });

    // The synchronous encode uses brotli q5 (see compression.ts): 32.2–37.4 % across these eight
    // texts, 34.5 % on average. The write path (encodeAsync) is tested against ≤ 30 % below.
    it('encode: stores a 10 KB LLM-like text at about a third of its size (mean ≤ 35 %, worst ≤ 38 %)', () => {
      const ratios = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => {
        const text = llmText(10 * 1024, seed);
        const bytes = encodeValue(text, brotli);
        expect(bytes[0]).toBe(TEXT | FLAG_COMPRESSED);
        expect(codec.decode(bytes).value).toBe(text);
        return bytes.length / Buffer.byteLength(text);
      });
      expect(ratios.reduce((a, b) => a + b) / ratios.length).toBeLessThanOrEqual(0.35);
      expect(Math.max(...ratios)).toBeLessThanOrEqual(0.38);
    });

    // The write path compresses 4–16 KiB payloads with brotli q11 on the threadpool: 28.3 % on
    // average over twelve 10 KB texts (worst 31.4 %: the fixture varies its topics and vocabulary).
    it('encodeAsync: stores 10 KB LLM-like text at ≤ 30 % of its size on average (worst ≤ 33 %)', async () => {
      const ratios = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const text = llmText(10 * 1024, i + 1);
          const bytes = await brotli.encodeAsync(entryOf(text), brotli.serializeValue(text));
          expect(codec.decode(bytes).value).toBe(text);
          return bytes.length / Buffer.byteLength(text);
        }),
      );
      expect(ratios.reduce((a, b) => a + b) / ratios.length).toBeLessThanOrEqual(0.3);
      expect(Math.max(...ratios)).toBeLessThanOrEqual(0.33);
    });

    it('encodeAsync compresses small values synchronously with the fast quality, like encode', async () => {
      const text = llmText(2048, 3);
      for (const c of [codec, brotli]) expect(await c.encodeAsync(entryOf(text), c.serializeValue(text))).toEqual(c.encode(entryOf(text), c.serializeValue(text)));
    });

    // LZ4 is the default: cheap to read on every hit, at about twice Brotli's bytes on JSON.
    it('LZ4 by default, Brotli on request; each codec reads entries of the other (the header says which)', async () => {
      const value = { rows: Array.from({ length: 40 }, (_, i) => ({ id: i, name: 'Ada Lovelace', status: 'delivered' })) };
      const fast = await codec.encodeAsync(entryOf(value), codec.serializeValue(value));
      const small = await brotli.encodeAsync(entryOf(value), brotli.serializeValue(value));
      expect(fast[0]).toBe(PLAIN | LZ4);
      expect(small[0]).toBe(PLAIN | FLAG_COMPRESSED);
      expect(fast.length).toBeLessThan(Buffer.byteLength(JSON.stringify(value)) / 2);
      for (const c of [codec, brotli]) {
        expect(c.decode(fast).value).toEqual(value);
        expect(c.decode(small).value).toEqual(value);
      }
      const tagged = { when: new Date(0), text: llmText(3000, 2) };
      const bytes = codec.encode(entryOf(tagged), codec.serializeValue(tagged));
      expect(bytes[0]).toBe(PLAIN | FLAG_TAGGED | LZ4);
      expect(brotli.decode(bytes).value).toEqual(tagged);
    });

    it('a value over the threshold that LZ4 does not shrink by an eighth is stored plain (no codec flag), and reads back', async () => {
      // 1 KiB of prose: LZ4 saves ~9 %, not worth an inflate on every read.
      const text = llmText(1000, 7);
      const lz4 = new EntryCodec({ compressThreshold: 100 });
      for (const bytes of [lz4.encode(entryOf(text), lz4.serializeValue(text)), await lz4.encodeAsync(entryOf(text), lz4.serializeValue(text))]) {
        expect(bytes[0]).toBe(TEXT);
        expect(codec.decode(bytes).value).toBe(text);
      }
    });

    it('LZ4 compresses large values on the threadpool and stores the same bytes', async () => {
      const text = llmText(100 * 1024, 5);
      const bytes = await codec.encodeAsync(entryOf(text), codec.serializeValue(text));
      expect(bytes).toEqual(codec.encode(entryOf(text), codec.serializeValue(text)));
      expect(codec.decode(bytes).value).toBe(text);
    });

    it('refuses an unknown compression codec at construction', () => {
      expect(() => new EntryCodec({ compression: 'zstd' as 'lz4' })).toThrow(InvalidOptionError);
    });
  });

  describe('refuses corrupt bytes with CorruptEntryError', () => {
    const ok = `{"c":1,"e":2,"s":3,"t":["a"],"v":1}`;
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['a header alone', Buffer.from([HEADER_PLAIN])],
      ['version 0', withHeader(0x00, ok)],
      ['version 3', withHeader(0x60, ok)],
      ['a text payload without the line feed that ends its envelope', withHeader(HEADER_TEXT, ok)],
      ['a text payload whose envelope is not JSON', withHeader(HEADER_TEXT, '{"c":1,"e":2\nhi')],
      ['a text payload whose envelope is an array', withHeader(HEADER_TEXT, '[1,2,3]\nhi')],
      ['a text payload with a string time', withHeader(HEADER_TEXT, '{"c":"1","e":2,"s":3,"t":[]}\nhi')],
      ['a text payload with a non-string tag', withHeader(HEADER_TEXT, '{"c":1,"e":2,"s":3,"t":[1]}\nhi')],
      ['a text payload marked tagged', withHeader(HEADER_TEXT | FLAG_TAGGED, '{"c":1,"e":2,"s":3,"t":[]}\nhi')],
      ['a text payload, LZ4 flag on plain bytes', withHeader(HEADER_TEXT | LZ4, '{"c":1,"e":2,"s":3,"t":[]}\nhi')],
      ['version 7', withHeader(0xe0, ok)],
      ['the LZ4 flag without the compressed flag', withHeader(HEADER_PLAIN | FLAG_LZ4, ok)],
      ['no checksum and no encryption', Buffer.concat([Buffer.from([HEADER_PLAIN]), Buffer.from(ok)])],
      ['a checksum that does not match', Buffer.concat([Buffer.from([HEADER_PLAIN | FLAG_CHECKSUM, 0, 0, 0, 0]), Buffer.from(ok)])],
      ['a flipped bit in the body', (() => { const b = withHeader(HEADER_PLAIN, ok); b[b.length - 3] ^= 0b100; return b; })()],
      ['truncated before its checksum', Buffer.from([HEADER_PLAIN | FLAG_CHECKSUM, 1, 2])],
      ['the encrypted flag', withHeader(HEADER_PLAIN | FLAG_ENCRYPTED, ok)],
      ['compressed flag on plain JSON', withHeader(HEADER_PLAIN | FLAG_COMPRESSED, ok)],
      ['truncated compressed data', withHeader(HEADER_PLAIN | FLAG_COMPRESSED, compress(Buffer.from(ok)).subarray(0, 10))],
      ['compressed garbage', withHeader(HEADER_PLAIN | FLAG_COMPRESSED, Buffer.from('garbage garbage garbage'))],
      ['LZ4 flag on plain JSON', withHeader(HEADER_PLAIN | LZ4, ok)],
      ['LZ4 flag on Brotli data', withHeader(HEADER_PLAIN | LZ4, compress(Buffer.from(ok)))],
      ['truncated LZ4 data', withHeader(HEADER_PLAIN | LZ4, lz4Compress(Buffer.from(ok.repeat(4))).subarray(0, 12))],
      ['LZ4 data shorter than its size field', withHeader(HEADER_PLAIN | LZ4, Buffer.from([1, 0]))],
      ['LZ4 data whose recorded size is wrong', withHeader(HEADER_PLAIN | LZ4, (() => { const b = lz4Compress(Buffer.from(ok)); b.writeUInt32LE(ok.length + 1, 0); return b; })())],
      ['Brotli flag on LZ4 data', withHeader(HEADER_PLAIN | FLAG_COMPRESSED, lz4Compress(Buffer.from(ok)))],
      ['truncated JSON', withHeader(HEADER_PLAIN, ok.slice(0, -1))],
      ['not JSON', withHeader(HEADER_PLAIN, 'hello')],
      ['JSON null', withHeader(HEADER_PLAIN, 'null')],
      ['a JSON array', withHeader(HEADER_PLAIN, '[1,2,3]')],
      ['a string time', withHeader(HEADER_PLAIN, '{"c":"1","e":2,"s":3,"t":[],"v":1}')],
      ['a missing time', withHeader(HEADER_PLAIN, '{"c":1,"s":3,"t":[],"v":1}')],
      ['a null time', withHeader(HEADER_PLAIN, '{"c":1,"e":null,"s":3,"t":[],"v":1}')],
      ['an infinite time', withHeader(HEADER_PLAIN, '{"c":1,"e":2,"s":1e999,"t":[],"v":1}')],
      ['tags not an array', withHeader(HEADER_PLAIN, '{"c":1,"e":2,"s":3,"t":"a","v":1}')],
      ['a non-string tag', withHeader(HEADER_PLAIN, '{"c":1,"e":2,"s":3,"t":["a",1],"v":1}')],
      ['no value', withHeader(HEADER_PLAIN, '{"c":1,"e":2,"s":3,"t":[]}')],
      ['a malformed tag', withHeader(HEADER_PLAIN | FLAG_TAGGED, '{"c":1,"e":2,"s":3,"t":[],"v":{"$t":"Map","v":1}}')],
      ['a tagged envelope', withHeader(HEADER_PLAIN | FLAG_TAGGED, '{"$t":"Date","v":1}')],
      ['an undefined value', withHeader(HEADER_PLAIN | FLAG_TAGGED, '{"c":1,"e":2,"s":3,"t":[],"v":{"$t":"U"}}')],
    ];
    it.each(cases)('%s', (_name, bytes) => {
      expect(() => codec.decode(bytes)).toThrow(CorruptEntryError);
    });

    it.each([['LZ4', codec], ['Brotli', brotli]])('a %s payload that inflates past maxInflatedBytes', (_name, writer) => {
      const small = new EntryCodec({ maxInflatedBytes: 4096 });
      const bytes = encodeValue(llmText(10 * 1024, 4), writer);
      expect(bytes[0] & FLAG_COMPRESSED).toBe(FLAG_COMPRESSED);
      expect(() => small.decode(bytes)).toThrow(/inflates to more than 4096 bytes/);
    });

    it('an LZ4 payload claiming gigabytes fails before anything is allocated', () => {
      const bomb = lz4Compress(Buffer.from('x'.repeat(64)));
      bomb.writeUInt32LE(0xffff_fff0, 0);
      expect(() => codec.decode(withHeader(HEADER_PLAIN | LZ4, bomb))).toThrow(/inflates to more than/);
    });
  });

  describe('never pollutes prototypes', () => {
    const bodies = [
      '{"c":1,"e":2,"s":3,"t":[],"v":{"__proto__":{"polluted":1}}}',
      '{"__proto__":{"polluted":1},"c":1,"e":2,"s":3,"t":[],"v":{"constructor":{"prototype":{"polluted":1}}}}',
      '{"c":1,"e":2,"s":3,"t":[],"v":{"$t":"Obj","v":[["__proto__",{"polluted":1}]]}}',
      '{"c":1,"e":2,"s":3,"t":[],"v":{"$t":"Map","v":[["__proto__",{"__proto__":{"polluted":1}}]]}}',
    ];
    const variants = bodies.flatMap((body, i): [string, Buffer][] => [
      [`#${i} plain`, withHeader(HEADER_PLAIN, body)],
      [`#${i} tagged`, withHeader(HEADER_PLAIN | FLAG_TAGGED, body)],
      [`#${i} tagged+compressed`, withHeader(HEADER_PLAIN | FLAG_TAGGED | FLAG_COMPRESSED, compress(Buffer.from(body)))],
      [`#${i} tagged+LZ4`, withHeader(HEADER_PLAIN | FLAG_TAGGED | LZ4, lz4Compress(Buffer.from(body)))],
      [`#${i} LZ4`, withHeader(HEADER_PLAIN | LZ4, lz4Compress(Buffer.from(body)))],
      [`#${i} text`, withHeader(HEADER_TEXT, body.replace(/,"v":.*\}$/, '}') + '\n{"__proto__":{"polluted":1}}')],
    ]);
    it.each(variants)('payload %s', (_name, bytes) => {
      const entry = codec.decode(bytes);
      expect(Object.getPrototypeOf(entry)).toBe(Object.prototype);
      expectPrototypesUntouched();
    });

    it('round-trips a value carrying a __proto__ key as data', () => {
      const value = JSON.parse('{"__proto__":{"polluted":1},"x":1}') as Record<string, unknown>;
      value['when'] = new Date(0); // takes the tagged path too
      const decoded = codec.decode(encodeValue(value)).value as object;
      expect(decoded).toEqual(value);
      expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ polluted: 1 });
      expectPrototypesUntouched();
    });
  });

  describe('fuzzing', () => {
    function expectWellFormedOrCorrupt(bytes: Buffer): void {
      let entry: CacheEntry;
      try {
        entry = codec.decode(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptEntryError);
        return;
      }
      for (const time of [entry.createdAt, entry.expiresAt, entry.staleUntil]) expect(Number.isFinite(time)).toBe(true);
      expect(Array.isArray(entry.tags) && entry.tags.every((t) => typeof t === 'string')).toBe(true);
      // No encoding can hold undefined (it would read as a miss), so seeing one means a check was skipped.
      expect(entry.value).not.toBeUndefined();
    }

    const valid = [
      encodeValue({ id: 1, name: 'Ada', tags: ['x'] }),
      encodeValue(new Map<unknown, unknown>([['d', new Date(0)], [1n, new Set([Buffer.from('hi')])]])),
      encodeValue({ text: llmText(2048, 5) }, brotli),
      encodeValue({ when: new Date(0), text: llmText(3000, 6) }, brotli),
      encodeValue({ text: llmText(2048, 5) }),
      encodeValue({ when: new Date(0), text: llmText(3000, 6) }),
      encodeValue('a line\nand "quotes" ✓'),
      encodeValue(llmText(2048, 5), brotli),
      encodeValue(llmText(2048, 5)),
    ];
    it('bit-flipped valid encodings decode to a well-formed entry or throw CorruptEntryError', () => {
      const flipped = fc
        .tuple(fc.constantFrom(...valid), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }))
        .map(([bytes, positions]) => {
          const copy = Buffer.from(bytes);
          for (const p of positions) {
            const bit = p % (copy.length * 8);
            copy[bit >> 3] ^= 1 << (bit & 7);
          }
          return copy;
        });
      // One seed encoding per header kind, so flips land in every decoding path.
      expect(valid.map((b) => b[0])).toEqual([
        PLAIN, PLAIN | FLAG_TAGGED, PLAIN | FLAG_COMPRESSED, PLAIN | FLAG_TAGGED | FLAG_COMPRESSED, PLAIN | LZ4, PLAIN | FLAG_TAGGED | LZ4,
        TEXT, TEXT | FLAG_COMPRESSED, TEXT | LZ4,
      ]);
      fc.assert(fc.property(flipped, expectWellFormedOrCorrupt), { numRuns: 2000 });
      // With the checksum (over the header byte too), no flip gets through: every one is refused. Flips
      // that cancel out (the same bit twice) leave a valid entry, which is not a corruption.
      fc.assert(
        fc.property(flipped, (bytes) => {
          if (valid.some((v) => v.equals(bytes))) return;
          expect(() => codec.decode(bytes)).toThrow(CorruptEntryError);
        }),
        { numRuns: 2000 },
      );
      expectPrototypesUntouched();
    });

    it('random bytes, alone or behind a valid header, do the same', () => {
      const header = fc.constantFrom(HEADER_PLAIN, HEADER_PLAIN | FLAG_TAGGED, HEADER_PLAIN | FLAG_COMPRESSED, HEADER_PLAIN | LZ4);
      const input = fc.oneof(
        fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
        fc.tuple(header, fc.uint8Array({ maxLength: 256 })).map(([h, a]) => withHeader(h, Buffer.from(a))),
        fc.tuple(header, fc.json()).map(([h, text]) => withHeader(h & ~(FLAG_COMPRESSED | FLAG_LZ4), text)),
        // Envelopes that are nearly right, so the field checks (not the JSON parser) are what is tested.
        fc
          .record(
            {
              c: fc.oneof(fc.double(), fc.jsonValue()),
              e: fc.oneof(fc.double(), fc.jsonValue()),
              s: fc.oneof(fc.double(), fc.jsonValue()),
              t: fc.oneof(fc.array(fc.string()), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.jsonValue()),
              v: fc.jsonValue(),
            },
            { requiredKeys: [] },
          )
          .chain((env) =>
            fc.constantFrom(HEADER_PLAIN, HEADER_PLAIN | FLAG_TAGGED).map((h) => withHeader(h, JSON.stringify(env))),
          ),
      );
      fc.assert(fc.property(input, expectWellFormedOrCorrupt), { numRuns: 2000 });
      expectPrototypesUntouched();
    });
  });

  describe('options', () => {
    it.each<[string, object]>([
      ['a negative threshold', { compressThreshold: -1 }],
      ['a NaN threshold', { compressThreshold: NaN }],
      ['a zero inflate bound', { maxInflatedBytes: 0 }],
      ['a fractional inflate bound', { maxInflatedBytes: 1.5 }],
      ['an inflate bound past the string limit', { maxInflatedBytes: 2 ** 40 }],
    ])('refuses %s', (_name, options) => {
      expect(() => new EntryCodec(options)).toThrow(InvalidOptionError);
    });

    it('refuses to encode times JSON cannot carry', () => {
      expect(() => codec.encode({ ...entryOf(1), expiresAt: Infinity }, codec.serializeValue(1))).toThrow(InvalidArgumentError);
    });
  });
});
