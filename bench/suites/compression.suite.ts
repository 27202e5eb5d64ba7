/** Compression of LLM-like text in Redis: stored size and time, Strata's entry codec against gzip -6. */
import { gunzipSync, gzipSync } from 'node:zlib';
import { EntryCodec, FLAG_COMPRESSED } from '../../libs/cache/src/codec/entry.codec';
import { llmText } from '../../libs/cache/test/fixtures/llm-text.fixture';
import { type BenchContext, type Section, rangeCell } from '../lib';

export const title = 'compression';

/** Mean ms per call of `fn` over `times` calls. */
async function timeIt(times: number, fn: () => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < times; i++) await fn();
  return Number(process.hrtime.bigint() - started) / 1e6 / times;
}

export async function run(ctx: BenchContext): Promise<Section[]> {
  const codec = new EntryCodec({ compressThreshold: 1024 });
  const rows: string[][] = [];
  for (const size of [1024, 10 * 1024, 100 * 1024]) {
    const text = llmText(size, 11);
    const raw = Buffer.byteLength(text);
    const now = Date.now();
    const entry = { value: text, createdAt: now, expiresAt: now + 60_000, staleUntil: now + 60_000, tags: [] };
    const serialized = codec.serializeValue(text);
    const stored = await codec.encodeAsync(entry, serialized);
    if (codec.decode(stored).value !== text) throw new Error('the codec did not round-trip the text');
    const gz = gzipSync(text);
    const times = size >= 100 * 1024 ? 5 : size >= 10 * 1024 ? 20 : 200;
    const encode: number[] = [];
    const decode: number[] = [];
    const gzipMs: number[] = [];
    const gunzipMs: number[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      encode.push(await timeIt(times, () => codec.encodeAsync(entry, codec.serializeValue(text))));
      decode.push(await timeIt(times, () => codec.decode(stored)));
      gzipMs.push(await timeIt(times, () => gzipSync(text)));
      gunzipMs.push(await timeIt(times, () => gunzipSync(gz)));
    }
    rows.push([
      `${(raw / 1024).toFixed(1)} KiB`,
      String(stored.length),
      (stored[0] & FLAG_COMPRESSED) !== 0 ? 'brotli' : 'plain',
      (stored.length / raw).toFixed(3),
      rangeCell(encode, ' ms', 3),
      rangeCell(decode, ' ms', 3),
      (gz.length / raw).toFixed(3),
      rangeCell(gzipMs, ' ms', 3),
      rangeCell(gunzipMs, ' ms', 3),
    ]);
  }
  ctx.log('compression');
  return [
    {
      title: 'Compression of LLM-like text in Redis',
      description:
        'Strata stores values of 1 KiB and more brotli-compressed (quality by size, on the threadpool for 4–64 KiB; kept only when smaller). ' +
        'Write = serialize + envelope + compress (`encodeAsync`), read = `decode`; gzip -6 of the bare text for reference.',
      columns: ['text', 'stored bytes', 'stored as', 'ratio', 'write (Strata)', 'read (Strata)', 'gzip -6 ratio', 'gzip time', 'gunzip time'],
      rows,
      notes: ['A plain entry is larger than its text by the envelope (times and tags, ~80 bytes): the ~1 KiB text is under the threshold.'],
    },
  ];
}
