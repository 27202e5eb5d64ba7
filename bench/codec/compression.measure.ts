/**
 * Compression ratio and speed on LLM-like text, the figures behind the choice in compression.ts.
 *   npx ts-node --transpile-only bench/codec/compression.measure.ts
 * Also measures 10 KB slices of real English markdown (README files in node_modules) so the
 * fixture's compressibility can be checked against text nobody tuned.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { llmText } from '../../libs/cache/test/fixtures/llm-text.fixture';

type Codec = { name: string; compress: (b: Buffer) => Buffer; decompress: (b: Buffer) => Buffer };

const { constants: Z } = zlib;
const brotli = (quality: number): Codec => ({
  name: `brotli q${quality}`,
  compress: (b) =>
    zlib.brotliCompressSync(b, {
      params: { [Z.BROTLI_PARAM_QUALITY]: quality, [Z.BROTLI_PARAM_MODE]: Z.BROTLI_MODE_TEXT, [Z.BROTLI_PARAM_SIZE_HINT]: b.length },
    }),
  decompress: (b) => zlib.brotliDecompressSync(b),
});
const codecs: Codec[] = [
  ...[1, 6, 9].map((level) => ({
    name: `gzip ${level}`,
    compress: (b: Buffer) => zlib.gzipSync(b, { level }),
    decompress: (b: Buffer) => zlib.gunzipSync(b),
  })),
  ...[6, 9].map((level) => ({
    name: `deflate-raw ${level}`,
    compress: (b: Buffer) => zlib.deflateRawSync(b, { level }),
    decompress: (b: Buffer) => zlib.inflateRawSync(b),
  })),
  ...[1, 4, 5, 6, 7, 9, 10, 11].map(brotli),
];

/** Mean microseconds per call, with the repetitions scaled so each figure takes ~150 ms. */
function timeUs(fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  let reps = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    const ns = Number(process.hrtime.bigint() - start);
    if (ns > 150e6 || reps >= 1 << 16) return ns / reps / 1e3;
    reps *= ns < 1e6 ? 16 : 2;
  }
}

function realMarkdown(size: number): Buffer[] {
  const names = ['ioredis', 'glob', 'semver', 'commander', 'qs', 'debug', 'picomatch', 'multer'];
  const out: Buffer[] = [];
  for (const name of names) {
    try {
      const text = readFileSync(join('node_modules', name, 'README.md'), 'utf8');
      if (text.length >= size * 1.5) out.push(Buffer.from(text.slice(text.length >> 2).slice(0, size)));
    } catch {
      // a README that moved or vanished in a dependency update only shrinks the reference set
    }
  }
  return out;
}

const samples: [string, Buffer[]][] = [
  ['LLM-like 1 KB', [1, 2, 3, 4, 5].map((s) => Buffer.from(llmText(1024, s)))],
  ['LLM-like 10 KB', [1, 2, 3, 4, 5].map((s) => Buffer.from(llmText(10 * 1024, s)))],
  ['LLM-like 100 KB', [1, 2].map((s) => Buffer.from(llmText(100 * 1024, s)))],
  ['README 10 KB (real)', realMarkdown(10 * 1024)],
];

const pad = (s: string, n: number): string => s.padEnd(n);
const num = (x: number, digits = 1): string => x.toFixed(digits).padStart(9);
console.log(`Node ${process.version}; ratio = compressed / raw; times are mean per call on one core\n`);
console.log(`${pad('sample', 21)}${pad('algorithm', 15)}${'ratio %'.padStart(9)}${'comp µs'.padStart(9)}${'decomp µs'.padStart(11)}${'comp MB/s'.padStart(11)}`);
for (const [label, buffers] of samples) {
  if (buffers.length === 0) continue;
  const rawBytes = buffers.reduce((n, b) => n + b.length, 0);
  for (const codec of codecs) {
    const packed = buffers.map((b) => codec.compress(b));
    for (let i = 0; i < buffers.length; i++) {
      if (!codec.decompress(packed[i]).equals(buffers[i])) throw new Error(`${codec.name} did not round-trip`);
    }
    const ratio = packed.reduce((n, b) => n + b.length, 0) / rawBytes;
    const comp = timeUs(() => buffers.forEach((b) => codec.compress(b))) / buffers.length;
    const decomp = timeUs(() => packed.forEach((b) => codec.decompress(b))) / buffers.length;
    const mbps = rawBytes / buffers.length / comp;
    console.log(`${pad(label, 21)}${pad(codec.name, 15)}${num(ratio * 100)}${num(comp)}${num(decomp, 1).padStart(11)}${num(mbps).padStart(11)}`);
  }
  console.log('');
}
