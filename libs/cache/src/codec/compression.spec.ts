import fc from 'fast-check';
import { CorruptEntryError } from '../core/errors';
import { compress, decompress } from './compression';
import { llmText } from '../../test/fixtures/llm-text.fixture';

const MiB = 1 << 20;

describe('compression', () => {
  it('round-trips text and arbitrary bytes', () => {
    for (const size of [1024, 10 * 1024, 100 * 1024]) {
      const raw = Buffer.from(llmText(size, 3));
      expect(decompress(compress(raw), raw.length).equals(raw)).toBe(true);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const raw = Buffer.from(bytes);
        expect(decompress(compress(raw), Math.max(1, raw.length)).equals(raw)).toBe(true);
      }),
    );
  });

  it('allows output of exactly the bound and refuses one byte more', () => {
    const packed = compress(Buffer.alloc(1000, 'a'));
    expect(decompress(packed, 1000)).toHaveLength(1000);
    expect(() => decompress(packed, 999)).toThrow(CorruptEntryError);
  });

  describe('a decompression bomb', () => {
    let bomb: Buffer;
    beforeAll(() => {
      // 64 MiB of zeros is enough to show the bound works; brotli squeezes it to ~100 bytes.
      bomb = compress(Buffer.alloc(64 * MiB));
    });

    it('really inflates to 64 MiB when nothing stops it', () => {
      expect(bomb.length).toBeLessThan(1024);
      expect(decompress(bomb, 64 * MiB)).toHaveLength(64 * MiB);
    });

    it('fails fast with bounded memory under a 1 MiB limit', () => {
      const elapsedMs = (run: () => void): number => {
        const started = process.hrtime.bigint();
        run();
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      // "Fast" against the work it avoids, a full inflate, timed in the same rounds under the same load.
      // The fastest of several rounds on each side: one round can lose its CPU to another jest worker or
      // to collecting the previous round's 64 MiB (a CI run once saw a single bounded round take 259 ms).
      const bounded: number[] = [];
      const full: number[] = [];
      let largestGrowth = 0;
      for (let round = 0; round < 5; round++) {
        const externalBefore = process.memoryUsage().arrayBuffers;
        let error: unknown;
        bounded.push(
          elapsedMs(() => {
            try {
              decompress(bomb, MiB);
            } catch (err) {
              error = err;
            }
          }),
        );
        largestGrowth = Math.max(largestGrowth, process.memoryUsage().arrayBuffers - externalBefore);
        expect(error).toBeInstanceOf(CorruptEntryError);
        expect((error as Error).message).toMatch(/more than 1048576 bytes/);
        full.push(elapsedMs(() => expect(decompress(bomb, 64 * MiB)).toHaveLength(64 * MiB)));
      }
      // Measured 12–21 ms here against 150–380 ms for the full inflate; the memory check is the sharper
      // one: a full inflate shows up as ~64 MiB of external memory (a GC in between could only hide
      // growth, never invent it).
      expect(Math.min(...bounded)).toBeLessThan(Math.min(...full) / 2);
      expect(largestGrowth).toBeLessThan(8 * MiB);
    });
  });

  it('reports truncated, empty and garbage input as CorruptEntryError', () => {
    const packed = compress(Buffer.from(llmText(10 * 1024, 1)));
    const inputs = [
      packed.subarray(0, packed.length - 1),
      packed.subarray(0, packed.length >> 1),
      Buffer.alloc(0),
      Buffer.from('{"c":1,"e":2,"s":3,"t":[],"v":1}'),
      Buffer.from('this is not brotli at all, just some text that happens to be here'),
    ];
    for (const input of inputs) {
      expect(() => decompress(input, 64 * MiB)).toThrow(CorruptEntryError);
    }
  });

  it('never throws anything but CorruptEntryError on random or bit-flipped input', () => {
    const valid = compress(Buffer.from(llmText(2048, 9)));
    const flipped = fc
      .tuple(fc.nat({ max: valid.length * 8 - 1 }), fc.nat({ max: valid.length * 8 - 1 }))
      .map(([a, b]) => {
        const copy = Buffer.from(valid);
        copy[a >> 3] ^= 1 << (a & 7);
        copy[b >> 3] ^= 1 << (b & 7);
        return copy;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)), flipped), (input) => {
        let out: Buffer;
        try {
          out = decompress(input, 64 * 1024);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptEntryError);
          return;
        }
        expect(out.length).toBeLessThanOrEqual(64 * 1024);
      }),
      { numRuns: 300 },
    );
  });
});
