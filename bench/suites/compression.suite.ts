/**
 * The compression choice per size: bytes saved against the cost on the read path every L2 hit pays
 * (`decode`) and on the write path of a miss (`encodeAsync`), for LZ4 (the default), Brotli and no
 * compression, on JSON objects and LLM-like text of the sizes the `sizes` suite reads.
 */
import { EntryCodec, FLAG_COMPRESSED, FLAG_LZ4 } from '../../libs/cache/src/codec/entry.codec';
import { type BenchContext, type Section, rangeCell, summarize } from '../lib';
import { type Kind, SIZES, sizeLabel, valueOf } from './sizes.suite';

export const title = 'compression';

/** Mean µs per call of `fn` over `times` calls. */
async function timeIt(times: number, fn: () => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < times; i++) await fn();
  return Number(process.hrtime.bigint() - started) / 1e3 / times;
}

function storedAs(bytes: Buffer): string {
  if ((bytes[0] & FLAG_COMPRESSED) === 0) return 'plain';
  return (bytes[0] & FLAG_LZ4) !== 0 ? 'lz4' : 'brotli';
}

export async function run(ctx: BenchContext): Promise<Section[]> {
  const codecs = {
    lz4: new EntryCodec({ compressThreshold: 1024 }),
    brotli: new EntryCodec({ compressThreshold: 1024, compression: 'brotli' }),
    none: new EntryCodec({ compressThreshold: Infinity }),
  };
  const rows: string[][] = [];
  for (const kind of ['json', 'text'] as Kind[]) {
    for (const size of SIZES) {
      const value = valueOf(kind, size);
      const now = Date.now();
      const entry = { value, createdAt: now, expiresAt: now + 60_000, staleUntil: now + 60_000, tags: [] };
      const times = Math.max(5, Math.round(200_000 / size));
      const plain = await codecs.none.encodeAsync(entry, codecs.none.serializeValue(value));
      const results: Record<string, { stored: Buffer; read: number[]; write: number[] }> = {};
      for (const [name, codec] of Object.entries(codecs)) {
        const stored = await codec.encodeAsync(entry, codec.serializeValue(value));
        if (JSON.stringify(codec.decode(stored).value) !== JSON.stringify(value)) throw new Error(`${name} did not round-trip`);
        results[name] = { stored, read: [], write: [] };
      }
      // Interleaved run by run, like every other table.
      for (let r = 0; r < ctx.runs; r++) {
        for (const [name, codec] of Object.entries(codecs)) {
          const result = results[name];
          result.read.push(await timeIt(times, () => codec.decode(result.stored)));
          result.write.push(await timeIt(Math.max(3, times / 10), () => codec.encodeAsync(entry, codec.serializeValue(value))));
        }
      }
      const plainRead = summarize(results.none.read).median;
      for (const name of ['lz4', 'brotli'] as const) {
        const { stored, read, write } = results[name];
        const paired = summarize(read.map((v, i) => v / results.none.read[i])).median;
        rows.push([
          `${kind} ${sizeLabel(size)}`,
          `${name} → ${storedAs(stored)}`,
          `${stored.length} (${((stored.length / plain.length) * 100).toFixed(0)} %)`,
          rangeCell(read, ' µs', 1),
          `${paired.toFixed(2)}× (plain ${plainRead.toFixed(1)} µs)`,
          rangeCell(write, ' µs', 0),
        ]);
      }
    }
  }
  ctx.log('compression');
  return [
    {
      title: 'Compression per size: bytes stored vs the cost of a read',
      description:
        'One entry per value, encoded with each codec (`encodeAsync`: what a miss writes) and decoded (`decode`: what every L2 hit pays on top ' +
        'of the GET). Values of at least 1 KiB (`compressThreshold`) are compressed, and kept so only when smaller. ' +
        'Stored bytes as a share of the same entry stored plain; read cost as a median of per-run ratios to decoding the plain entry.',
      columns: ['value', 'codec → stored as', 'stored bytes', 'read (decode)', 'read × plain read', 'write (encodeAsync)'],
      rows,
    },
  ];
}
