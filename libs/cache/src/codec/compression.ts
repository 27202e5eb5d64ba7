/**
 * Entry compression: LZ4 by default (the hit path's codec), Brotli where bytes matter more than CPU.
 *
 * LZ4 (lz4-napi: lz4_flex, block format with the inflated size prepended) decodes 10-30× faster than
 * Brotli on the read path that every L2 hit pays (figures per size in bench/RESULTS.md, 'Compression
 * per size'), for about twice Brotli's bytes on JSON and ~1.6× on prose. Brotli stays for entries
 * written rarely and read from slow, byte-priced storage (a cold tier) and as an opt-in per cache.
 * Both decode whatever the configured codec: the entry's header says which one wrote it.
 *
 * Brotli, quality 5:
 *
 * Figures from bench/codec/compression.measure.ts (Node 20, one core of a shared 2-vCPU box; times are noisy,
 * ratios are not). Ratio = compressed / raw, 10 KB of LLM-like markdown (mean of 5 texts), and
 * 10 KB slices of real README markdown from node_modules as a reference nobody tuned:
 *
 *   algorithm        10 KB LLM-like   compress   decompress   10 KB real README   1 KB LLM-like
 *   gzip 6             35.5 %          ~180 µs      ~22 µs        35.7 %            61.8 %
 *   deflate-raw 9      35.3 %          ~180 µs      ~20 µs        35.5 %            59.6 %
 *   brotli q1          40.1 %           ~75 µs      ~37 µs        40.5 %            64.7 %
 *   brotli q4          35.1 %          ~270 µs      ~27 µs        35.7 %            59.3 %
 *   brotli q5          33.3 %          ~240 µs      ~25 µs        33.5 %            55.1 %
 *   brotli q6–q9       33.1–33.2 %   0.25–8 ms      ~25 µs        33.4 %            55.1 %
 *   brotli q10         28.6 %         ~4–6 ms       ~45 µs        30.2 %            47.6 %
 *   brotli q11         27.6 %        ~11–16 ms      ~38 µs        29.3 %            45.9 %
 *
 * The goal of ≤ 30 % for a 10 KB text is out of reach for any cheap setting: everything from
 * gzip to brotli q9 lands at 33–36 %, and only brotli's Zopfli-class levels (q10, q11) get below
 * 30 %, at 4–16 ms of synchronous CPU per 10 KB write (~60 ms at 100 KB), which blocks the event
 * loop for every other request. q5 is the knee of the curve: the best ratio of the cheap levels
 * (higher levels buy < 0.2 points), ~2 points better than deflate at similar cost, and brotli's
 * built-in English dictionary gives small values a better start (55 % vs 60 % at 1 KB). Decoding
 * cost does not depend on the level, so raising it later is wire-compatible.
 *
 * So the quality depends on the size, and the expensive level never runs on the event loop:
 * - below 4 KiB: q5, synchronously (tens of µs; the threadpool round trip would cost more);
 * - 4 KiB to 16 KiB: q11 on libuv's threadpool (`brotliCompress`): 28.3 % on average over twelve
 *   10 KB texts (q10: 29.3 %, and 30.1 % once the envelope is counted), for ~17 ms of a pool
 *   thread, paid once per write of values that were typically expensive to compute (LLM answers,
 *   parsed documents) and are read many times;
 * - 16 KiB to 64 KiB: q10 on the threadpool (~5 ms per 10 KB; q11 would take ~100 ms at 64 KiB);
 * - above 64 KiB: q5 on the threadpool.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { CorruptEntryError, MissingPeerError } from '../core/errors';

type Lz4Binding = typeof import('lz4-napi');
let lz4Loaded: Lz4Binding | undefined;

/**
 * lz4-napi, loaded on first use rather than at import: its native binary comes as an optional platform
 * package, which npm can leave out (a lock file made on another OS, npm/cli#4828; `--omit=optional`), and
 * then an app that never compresses for an L2 (memory only, or `compression: 'brotli'`) still starts.
 * The stack calls it at startup when an L2 is configured with the `lz4` codec, so the fix is told at once.
 * @internal
 */
export function lz4Binding(): Lz4Binding {
  if (lz4Loaded !== undefined) return lz4Loaded;
  try {
    lz4Loaded = require('lz4-napi') as Lz4Binding;
    return lz4Loaded;
  } catch (error) {
    throw new MissingPeerError('lz4-napi', "the 'lz4' compression (the default for Redis/L2 values)", {
      cause: error,
      needs: `lz4-napi's native binary for ${process.platform}-${process.arch}, which did not load (npm can leave out optional platform packages: npm/cli#4828, --omit=optional); reinstall without --omit=optional (rm -rf node_modules package-lock.json && npm install), or set compression: 'brotli'`,
    });
  }
}

/** How entries are compressed: `lz4` (fast to read, the default) or `brotli` (smaller, slower to read). */
export type CompressionCodec = 'lz4' | 'brotli';
export const COMPRESSION_CODECS: readonly CompressionCodec[] = ['lz4', 'brotli'];

export const BROTLI_QUALITY = 5;
/** Payloads from this size up are compressed on the threadpool. */
export const ASYNC_MIN_BYTES = 4 * 1024;
/** Up to each size, the quality used for it on the threadpool; larger payloads get BROTLI_QUALITY. */
const ASYNC_QUALITIES: ReadonlyArray<readonly [maxBytes: number, quality: number]> = [
  [16 * 1024, 11],
  [64 * 1024, 10],
];

// Window size, size hint and text mode were measured too: none moved ratio or time beyond noise.
const options = (quality: number): zlib.BrotliOptions => ({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } });
const FAST = options(BROTLI_QUALITY);
const ASYNC_OPTIONS = ASYNC_QUALITIES.map(([maxBytes, quality]) => [maxBytes, options(quality)] as const);
const brotliCompress = promisify(zlib.brotliCompress) as (input: Buffer, options: zlib.BrotliOptions) => Promise<Buffer>;

/** Synchronous, fast quality: for small payloads, and for callers that cannot wait (tools, tests). */
export function compress(input: Buffer): Buffer {
  return zlib.brotliCompressSync(input, FAST);
}

/** Size-dependent quality, off the event loop for anything but small payloads (see above). */
export function compressAsync(input: Buffer): Promise<Buffer> | Buffer {
  if (input.length < ASYNC_MIN_BYTES) return compress(input);
  const dense = ASYNC_OPTIONS.find(([maxBytes]) => input.length <= maxBytes);
  return brotliCompress(input, dense ? dense[1] : FAST);
}

/**
 * Inflates at most `maxOutputBytes` (an integer ≥ 1): zlib stops and fails as soon as the output
 * passes the bound, so a tiny input claiming gigabytes costs only the bound in memory and time.
 * Every failure (bomb, truncation, garbage) is a CorruptEntryError: the bytes came from storage.
 */
export function decompress(input: Buffer, maxOutputBytes: number): Buffer {
  try {
    return zlib.brotliDecompressSync(input, { maxOutputLength: maxOutputBytes });
  } catch (err) {
    const tooLarge = (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new CorruptEntryError(
      tooLarge ? `inflates to more than ${maxOutputBytes} bytes` : 'compressed payload does not decompress',
      { cause: err },
    );
  }
}

/** LZ4 payloads from this size up are compressed on the threadpool (below it, the round trip costs more). */
export const LZ4_ASYNC_MIN_BYTES = 64 * 1024;
const LZ4_SIZE_BYTES = 4;

/** LZ4 block with its inflated size prepended (4 bytes, little-endian). */
export function lz4Compress(input: Buffer): Buffer {
  return lz4Binding().compressSync(input);
}

export function lz4CompressOffLoop(input: Buffer): Promise<Buffer> | Buffer {
  const lz4 = lz4Binding();
  return input.length < LZ4_ASYNC_MIN_BYTES ? lz4.compressSync(input) : lz4.compress(input);
}

/**
 * Inflates at most `maxOutputBytes`: the prepended size is checked before anything is allocated, and
 * the output must have exactly that size. Every failure is a CorruptEntryError.
 */
export function lz4Decompress(input: Buffer, maxOutputBytes: number): Buffer {
  if (input.length < LZ4_SIZE_BYTES) throw new CorruptEntryError('compressed payload is truncated');
  const size = input.readUInt32LE(0);
  if (size > maxOutputBytes) throw new CorruptEntryError(`inflates to more than ${maxOutputBytes} bytes`);
  let out: Buffer;
  try {
    out = lz4Binding().uncompressSync(input);
  } catch (err) {
    throw new CorruptEntryError('compressed payload does not decompress', { cause: err });
  }
  if (out.length !== size) throw new CorruptEntryError('compressed payload does not inflate to its recorded size');
  return out;
}
