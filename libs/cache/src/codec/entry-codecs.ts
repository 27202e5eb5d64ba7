import type { CompressionCodec } from './compression';
import { EntryCodec } from './entry.codec';
import type { EntryCipher } from './encryption';

/**
 * One `EntryCodec` per compression threshold and codec in use (named caches may compress differently),
 * all sharing the module's bound on inflated size, its cipher and its compression counter.
 */
export class EntryCodecs {
  private readonly codecs = new Map<string, EntryCodec>();

  constructor(
    private readonly options: {
      maxInflatedBytes: number;
      cipher: EntryCipher | undefined;
      onCompress: (bytesIn: number, bytesOut: number) => void;
    },
  ) {}

  get(threshold: number | false, compression: CompressionCodec): EntryCodec {
    const id = `${threshold}:${compression}`;
    let codec = this.codecs.get(id);
    if (codec === undefined) {
      codec = new EntryCodec({
        compressThreshold: threshold === false ? Number.POSITIVE_INFINITY : threshold,
        compression,
        maxInflatedBytes: this.options.maxInflatedBytes,
        onCompress: this.options.onCompress,
        cipher: this.options.cipher,
      });
      this.codecs.set(id, codec);
    }
    return codec;
  }
}
