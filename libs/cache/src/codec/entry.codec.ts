import { constants as bufferConstants } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { type CacheEntry, MAX_ENTRY_TAGS } from '../core/entry';
import { CorruptEntryError, InvalidArgumentError, InvalidOptionError, NotSerializableError } from '../core/errors';
import { isPromise } from '../core/promise';
import { type CompressionCodec, compress, compressAsync, decompress, lz4Compress, lz4CompressOffLoop, lz4Decompress } from './compression';
import type { EntryCipher } from './encryption';
import { MAX_VALUE_DEPTH, mayNestDeeperThan, nestsDeeperThan, valueNestsDeeperThan } from './json-depth';
import { JsonSerializer, type SerializedValue } from './json.serializer';

/**
 * Wire format of an entry in Redis: one header byte, then the payload.
 *
 *   header  bits 7-5  format version: 1, the payload below; 2, the value is a string (see "text payload")
 *           bit 2     tagged: the value needs JsonSerializer's reviver
 *           bit 1     encrypted (AES-256-GCM, see encryption.ts)
 *           bit 0     compressed (Brotli, or LZ4 when bit 4 is set too; see compression.ts)
 *           bit 3     checksummed: a CRC-32 of the header byte and the body follows (4 bytes, big-endian)
 *           bit 4     LZ4: the compressed body is an LZ4 block (only with bit 0; entries written before
 *                     LZ4 have it clear, so they still read as Brotli)
 *   payload {"c":createdAt,"e":expiresAt,"s":staleUntil,"t":[tags],"v":<value JSON>}, UTF-8,
 *           compressed when bit 0 is set, then sealed when bit 1 is set (the Redis key is
 *           the associated data, so sealed bytes only open under the key they were written to);
 *           an entry that is not sealed carries the checksum instead, so a flipped bit is a miss,
 *           never another well-formed entry. One of the two is required.
 *   text payload (version 2, same flags; never tagged): {"c":createdAt,"e":expiresAt,"s":staleUntil,"t":[tags]},
 *           a line feed, then the string value itself in UTF-8. A string read back is the bytes decoded,
 *           with no JSON to parse or escape (an LLM answer is mostly such a string). The envelope never
 *           holds a raw line feed (JSON escapes it), so the first one ends it. Strings that are not
 *           well-formed UTF-16 (a lone surrogate, which UTF-8 cannot carry) keep version 1.
 *
 * Reserved bits and unknown versions are refused rather than ignored: a reader that half-understands
 * a newer entry would serve the wrong value, while a refused entry is only a miss.
 */
export const FORMAT_VERSION = 1;
export const VERSION_SHIFT = 5;
export const FLAG_COMPRESSED = 0b0000_0001;
export const FLAG_ENCRYPTED = 0b0000_0010;
export const FLAG_TAGGED = 0b0000_0100;
/** A CRC-32 of the body follows the header (4 bytes, big-endian): every entry that is not encrypted has one. */
export const FLAG_CHECKSUM = 0b0000_1000;
/** With FLAG_COMPRESSED: the body is LZ4 rather than Brotli. */
export const FLAG_LZ4 = 0b0001_0000;
/** The header of the common case (uncompressed, untagged), checked first on every read. */
export const HEADER_PLAIN = FORMAT_VERSION << VERSION_SHIFT;
/** The header of the common case on the wire: plain (uncompressed, untagged) and checksummed. */
export const HEADER_CHECKED = HEADER_PLAIN | FLAG_CHECKSUM;
/** The common compressed case on the wire: LZ4, untagged, checksummed. */
const HEADER_CHECKED_LZ4 = HEADER_CHECKED | FLAG_COMPRESSED | FLAG_LZ4;
/** The version of the text payload: a string value stored as its UTF-8 bytes after the envelope. */
export const TEXT_VERSION = 2;
/** The header of a string value (text payload), uncompressed. */
export const HEADER_TEXT = TEXT_VERSION << VERSION_SHIFT;
const HEADER_CHECKED_TEXT = HEADER_TEXT | FLAG_CHECKSUM;
const HEADER_CHECKED_TEXT_LZ4 = HEADER_CHECKED_TEXT | FLAG_COMPRESSED | FLAG_LZ4;
/** Ends the envelope of a text payload. */
const LINE_FEED = 0x0a;

export const DEFAULT_COMPRESS_THRESHOLD = 1024;
export const DEFAULT_MAX_INFLATED_BYTES = 64 * 1024 * 1024;

export type { SerializedValue };

export interface EntryCodecOptions {
  /** Values whose serialized text has at least this many bytes are compressed (if that makes them smaller). `Infinity` disables it. */
  compressThreshold?: number;
  /**
   * How payloads at or over the threshold are compressed. Default `lz4` (cheap to read on every hit);
   * `brotli` stores fewer bytes for more CPU on each read. Entries of either codec are always readable.
   */
  compression?: CompressionCodec;
  /**
   * Upper bound on a payload read, compressed (a decompression bomb) or not; anything larger is treated
   * as corrupt. The cache sets it to what its write path can produce (maxValueBytes and the envelope).
   */
  maxInflatedBytes?: number;
  serializer?: JsonSerializer;
  /** Told of every payload stored compressed: its bytes before and after (for metrics). */
  onCompress?: (bytesIn: number, bytesOut: number) => void;
  /** Encrypts every entry written and refuses every entry read that is not encrypted. */
  cipher?: EntryCipher;
}

const hasOwn = Object.prototype.hasOwnProperty;

export class EntryCodec {
  private readonly compressThreshold: number;
  private readonly maxInflatedBytes: number;
  private readonly serializer: JsonSerializer;
  private readonly onCompress: ((bytesIn: number, bytesOut: number) => void) | undefined;
  private readonly cipher: EntryCipher | undefined;
  private readonly lz4: boolean;

  constructor(options: EntryCodecOptions = {}) {
    const { compressThreshold = DEFAULT_COMPRESS_THRESHOLD, maxInflatedBytes = DEFAULT_MAX_INFLATED_BYTES } = options;
    if (typeof compressThreshold !== 'number' || !(compressThreshold >= 0)) {
      throw new InvalidOptionError(`compressThreshold must be a number of bytes ≥ 0 (or Infinity), got ${String(compressThreshold)}`);
    }
    // Inflated bytes become one string, so V8's string limit caps the bound.
    if (!Number.isInteger(maxInflatedBytes) || maxInflatedBytes < 1 || maxInflatedBytes > bufferConstants.MAX_STRING_LENGTH) {
      throw new InvalidOptionError(
        `maxInflatedBytes must be an integer between 1 and ${bufferConstants.MAX_STRING_LENGTH}, got ${String(maxInflatedBytes)}`,
      );
    }
    this.compressThreshold = compressThreshold;
    this.maxInflatedBytes = maxInflatedBytes;
    this.serializer = options.serializer ?? new JsonSerializer();
    this.onCompress = options.onCompress;
    this.cipher = options.cipher;
    const { compression = 'lz4' } = options;
    if (compression !== 'lz4' && compression !== 'brotli') {
      throw new InvalidOptionError(`compression must be 'lz4' or 'brotli', got ${String(compression)}`);
    }
    this.lz4 = compression === 'lz4';
  }

  /** Throws NotSerializableError. Called once per write; the result feeds both `encode` and L1. */
  serializeValue(value: unknown): SerializedValue {
    // A string stays itself: JSON-escaping 16 KiB of prose costs ~36 µs and parsing it back ~21 µs.
    if (typeof value === 'string') return { text: value, tagged: false, shallow: true, raw: true };
    const serialized = this.serializer.stringify(value);
    // Refused here too, so nothing written is refused on its way back (a value the serializer walked as
    // plain JSON is at most 64 levels deep: no scan of its text).
    if (serialized.shallow !== true && nestsDeeperThan(serialized.text, MAX_VALUE_DEPTH)) {
      throw new NotSerializableError(`nested more than ${MAX_VALUE_DEPTH} levels deep`);
    }
    return serialized;
  }

  /** The inverse of `serializeValue`, for L1's own copy of a value. */
  parseValue(value: SerializedValue): unknown {
    return value.raw === true ? value.text : this.serializer.parse(value.text, value.tagged);
  }

  /**
   * Synchronous encoding with the fast compression quality. The write path uses `encodeAsync`;
   * this is for tools and tests. `value` must come from `serializeValue`: its text is spliced in unchecked.
   * `key` is the entry's Redis key: with encryption on, it is bound into the ciphertext.
   */
  encode(entry: CacheEntry, value: SerializedValue, key?: string): Buffer {
    const { payload, header } = this.envelope(entry, value);
    const gap = this.gap;
    if (!this.shouldCompress(value)) return this.seal(plain(payload, header, gap), key);
    const bytes = Buffer.from(payload, 'utf8');
    if (this.lz4) return this.seal(this.counted(bytes.length, packed(bytes, header | FLAG_LZ4, lz4Compress(bytes), gap)), key);
    return this.seal(this.counted(bytes.length, packed(bytes, header, compress(bytes), gap)), key);
  }

  /**
   * The write path: size-dependent compression quality, off the event loop for large values. The bytes
   * at once when nothing went to the threadpool (LZ4 below 64 KiB, or no compression): a promise less on
   * every write.
   */
  encodeAsync(entry: CacheEntry, value: SerializedValue, key?: string): Buffer | Promise<Buffer> {
    const { payload, header } = this.envelope(entry, value);
    const gap = this.gap;
    if (!this.shouldCompress(value)) return this.seal(plain(payload, header, gap), key);
    const bytes = Buffer.from(payload, 'utf8');
    const flags = this.lz4 ? header | FLAG_LZ4 : header;
    const finish = (compressed: Buffer) => this.seal(this.counted(bytes.length, packed(bytes, flags, compressed, gap)), key);
    const compressed = this.lz4 ? lz4CompressOffLoop(bytes) : compressAsync(bytes);
    return isPromise(compressed) ? compressed.then(finish) : finish(compressed);
  }

  /** Room left after the header for the checksum (not encrypted), so sealing fills it in place instead of copying the body. */
  private get gap(): number {
    return this.cipher === undefined ? CHECKSUM_BYTES : 0;
  }

  private counted(bytesIn: number, out: Buffer): Buffer {
    if (this.onCompress !== undefined && (out[0] & FLAG_COMPRESSED) !== 0) this.onCompress(bytesIn, out.length - 1 - this.gap);
    return out;
  }

  get encrypted(): boolean {
    return this.cipher !== undefined;
  }

  /**
   * Encrypts header + body into header|encrypted + sealed body when a cipher is configured (GCM
   * authenticates it); otherwise adds a CRC-32 of the body, so that bytes changed in storage or transit
   * are refused rather than decoded as another, well-formed entry.
   */
  private seal(bytes: Buffer, key: string | undefined): Buffer {
    if (this.cipher === undefined) return checksummedInPlace(bytes);
    if (key === undefined) throw new InvalidArgumentError('EntryCodec: encryption needs the entry key (associated data); pass the key to encode()');
    return this.cipher.seal(bytes.subarray(1), bytes[0] | FLAG_ENCRYPTED, key);
  }

  /** The threshold is about the value (a string's own length), not the envelope: a 1 KB value is not compressed for its 80-byte envelope. */
  private shouldCompress(value: SerializedValue): boolean {
    return value.text.length >= this.compressThreshold;
  }

  private envelope(entry: CacheEntry, value: SerializedValue): { payload: string; header: number } {
    const { createdAt, expiresAt, staleUntil, tags } = entry;
    // Caught here because JSON has no Infinity/NaN: such an entry would be written fine and then
    // fail every read as corrupt.
    if (!Number.isFinite(createdAt) || !Number.isFinite(expiresAt) || !Number.isFinite(staleUntil)) {
      throw new InvalidArgumentError(`cache entry times must be finite numbers (a ttl such as 60_000 or '1m'), got ${createdAt}/${expiresAt}/${staleUntil}`);
    }
    for (const tag of tags) {
      if (typeof tag !== 'string') throw new InvalidArgumentError(`cache entry tags must be strings, got ${typeof tag}; pass tags as strings, e.g. String(id)`);
    }
    // Concatenation, not JSON.stringify of an object: the value is already text, and re-walking it
    // would cost as much as serializing it again.
    const times = '{"c":' + createdAt + ',"e":' + expiresAt + ',"s":' + staleUntil + ',"t":' + JSON.stringify(tags);
    if (value.raw === true) {
      // A string as itself (text payload), unless UTF-8 cannot carry it: then as JSON, which escapes a lone surrogate.
      if (isWellFormed(value.text)) return { payload: times + '}\n' + value.text, header: HEADER_TEXT };
      return { payload: times + ',"v":' + JSON.stringify(value.text) + '}', header: HEADER_PLAIN };
    }
    return { payload: times + ',"v":' + value.text + '}', header: HEADER_PLAIN | (value.tagged ? FLAG_TAGGED : 0) };
  }

  /**
   * Throws CorruptEntryError, and nothing else, for bytes that are not a well-formed entry. `key`, the
   * Redis key the bytes were read from, is needed to open encrypted entries.
   */
  decode(bytes: Buffer, key?: string): CacheEntry {
    try {
      return this.decodeOrThrow(bytes, key);
    } catch (err) {
      if (err instanceof CorruptEntryError) throw err;
      throw new CorruptEntryError(err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  private inflate(header: number, body: Buffer): Buffer {
    return header & FLAG_LZ4 ? lz4Decompress(body, this.maxInflatedBytes) : decompress(body, this.maxInflatedBytes);
  }

  private decodeOrThrow(bytes: Buffer, key: string | undefined): CacheEntry {
    if (bytes.length === 0) throw new CorruptEntryError('empty value');
    const header = bytes[0];
    if (header === HEADER_CHECKED && this.cipher === undefined) {
      const text = this.bounded(verified(bytes)).toString('utf8');
      let envelope: unknown;
      try {
        envelope = JSON.parse(text);
      } catch (err) {
        throw new CorruptEntryError('payload is not JSON', { cause: err });
      }
      return toEntry(envelope, text, false);
    }
    if (header === HEADER_CHECKED_LZ4 && this.cipher === undefined) {
      let envelope: unknown;
      const text = lz4Decompress(verified(bytes), this.maxInflatedBytes).toString('utf8');
      try {
        envelope = JSON.parse(text);
      } catch (err) {
        throw new CorruptEntryError('payload is not JSON', { cause: err });
      }
      return toEntry(envelope, text, false);
    }
    if (header === HEADER_CHECKED_TEXT_LZ4 && this.cipher === undefined) return textEntry(lz4Decompress(verified(bytes), this.maxInflatedBytes));
    if (header === HEADER_CHECKED_TEXT && this.cipher === undefined) return textEntry(this.bounded(verified(bytes)));

    const version = header >>> VERSION_SHIFT;
    if (version !== FORMAT_VERSION && version !== TEXT_VERSION) throw new CorruptEntryError(`unknown format version ${version}`);
    if (version === TEXT_VERSION && header & FLAG_TAGGED) throw new CorruptEntryError('a text payload is never tagged');
    if ((header & (FLAG_LZ4 | FLAG_COMPRESSED)) === FLAG_LZ4) throw new CorruptEntryError(`unknown header flags 0x${header.toString(16)}`);
    let body: Buffer;
    if (header & FLAG_ENCRYPTED) {
      if (header & FLAG_CHECKSUM) throw new CorruptEntryError('an encrypted entry carries no checksum');
      if (this.cipher === undefined) throw new CorruptEntryError('entry is encrypted and no encryption keys are configured');
      if (key === undefined) throw new CorruptEntryError('entry is encrypted and its key is unknown');
      body = this.cipher.open(bytes, key);
    } else if (this.cipher !== undefined) {
      // With encryption on, whoever can write to Redis must not be able to plant a plaintext entry.
      throw new CorruptEntryError('entry is not encrypted, and encryption is on');
    } else if (header & FLAG_CHECKSUM) {
      body = verified(bytes);
    } else {
      throw new CorruptEntryError('entry has neither a checksum nor encryption');
    }
    const payload = header & FLAG_COMPRESSED ? this.inflate(header, body) : this.bounded(body);
    if (version === TEXT_VERSION) return textEntry(payload);
    const text = payload.toString('utf8');
    let envelope: unknown;
    try {
      envelope = this.serializer.parse(text, (header & FLAG_TAGGED) !== 0);
    } catch (err) {
      if (err instanceof CorruptEntryError) throw err;
      throw new CorruptEntryError('payload is not JSON', { cause: err });
    }
    return toEntry(envelope, text, (header & FLAG_TAGGED) !== 0);
  }

  /** The same bound for a payload stored as it is as for one that inflates: no write makes a larger one. */
  private bounded(body: Buffer): Buffer {
    if (body.length > this.maxInflatedBytes) throw new CorruptEntryError(`payload is larger than ${this.maxInflatedBytes} bytes`);
    return body;
  }
}

const CHECKSUM_BYTES = 4;

/** The CRC-32 of each header byte alone, the start of every checksum: one native call fewer per read. */
const HEADER_CRCS = Array.from({ length: 256 }, (_, byte) => crc32(Buffer.of(byte)));

/** The CRC-32 of the header byte and the body: a flipped flag (tagged, compressed) is caught too. */
function checksumOf(out: Buffer): number {
  return crc32(out.subarray(1 + CHECKSUM_BYTES), HEADER_CRCS[out[0]]);
}

/** Header, a gap of CHECKSUM_BYTES, the body (from `plain`/`packed` with that gap) → header | checksum flag, the CRC-32 of header and body, the body. */
function checksummedInPlace(out: Buffer): Buffer {
  out[0] |= FLAG_CHECKSUM;
  out.writeUInt32BE(checksumOf(out), 1);
  return out;
}

/** The body of a checksummed entry, once its CRC-32 matches. */
function verified(bytes: Buffer): Buffer {
  if (bytes.length < 1 + CHECKSUM_BYTES) throw new CorruptEntryError('truncated before its checksum');
  if (checksumOf(bytes) !== bytes.readUInt32BE(1)) throw new CorruptEntryError('checksum does not match: the bytes were changed');
  return bytes.subarray(1 + CHECKSUM_BYTES);
}

/** The header, `gap` bytes for a checksum (filled by the caller), the payload. */
function plain(payload: string, header: number, gap: number): Buffer {
  const length = Buffer.byteLength(payload, 'utf8');
  // allocUnsafe is safe here: the write below fills every byte after the header and the gap, and the gap is filled when sealed.
  const out = Buffer.allocUnsafe(1 + gap + length);
  out[0] = header;
  out.write(payload, 1 + gap, 'utf8');
  return out;
}

/**
 * The compressed form, unless it saves less than an eighth of the payload: every read of a compressed
 * entry pays to inflate it, which a few percent of bytes (LZ4 on 1 KiB of prose saves ~9 %) do not repay.
 */
function packed(payload: Buffer, header: number, compressed: Buffer, gap: number): Buffer {
  const length = payload.length;
  // Stored plain: the codec's flag goes too (an LZ4 flag without the compressed flag is refused).
  const kept = compressed.length > length - (length >>> 3) ? payload : compressed;
  // allocUnsafe is safe here: the copy fills every byte after the header and the gap, and the gap is filled when sealed.
  const out = Buffer.allocUnsafe(1 + gap + kept.length);
  out[0] = kept === payload ? header & ~FLAG_LZ4 : header | FLAG_COMPRESSED;
  kept.copy(out, 1 + gap);
  return out;
}

/** Builds a fresh entry rather than returning the parsed object, so stray envelope keys never leak out. */
function toEntry(envelope: unknown, text: string, tagged: boolean): CacheEntry {
  const entry = entryOf(envelope, (envelope as { v?: unknown } | null)?.v);
  // The envelope is one level more than the value. Revived values (Maps, Sets) hide their nesting from a
  // walk, so tagged text is scanned; a plain one is walked, which is cheaper than the scan.
  const bound = MAX_VALUE_DEPTH + 1;
  if (mayNestDeeperThan(text, bound) && (tagged ? nestsDeeperThan(text, bound) : valueNestsDeeperThan(envelope, bound))) {
    throw new CorruptEntryError(`value nested more than ${MAX_VALUE_DEPTH} levels deep`);
  }
  if (!hasOwn.call(envelope, 'v')) throw new CorruptEntryError('envelope has no value');
  return entry;
}

/** A text payload (version 2): the envelope up to the first line feed, then the string value. */
function textEntry(payload: Buffer): CacheEntry {
  const end = payload.indexOf(LINE_FEED);
  if (end < 0) throw new CorruptEntryError('text payload has no end of envelope');
  let envelope: unknown;
  try {
    envelope = JSON.parse(payload.toString('utf8', 0, end));
  } catch (err) {
    throw new CorruptEntryError('envelope is not JSON', { cause: err });
  }
  return entryOf(envelope, payload.toString('utf8', end + 1));
}

/** The times and tags of an envelope, checked, with `value`. */
function entryOf(envelope: unknown, value: unknown): CacheEntry {
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    throw new CorruptEntryError('payload is not an envelope object');
  }
  const { c, e, s, t } = envelope as Record<string, unknown>;
  if (!Number.isFinite(c) || !Number.isFinite(e) || !Number.isFinite(s)) {
    throw new CorruptEntryError('envelope times are not finite numbers');
  }
  if (!Array.isArray(t)) throw new CorruptEntryError('envelope tags are not an array');
  if (t.length > MAX_ENTRY_TAGS) throw new CorruptEntryError(`envelope carries ${t.length} tags, more than ${MAX_ENTRY_TAGS}`);
  for (let i = 0; i < t.length; i++) {
    if (typeof t[i] !== 'string') throw new CorruptEntryError('envelope tags are not all strings');
  }
  return { value, createdAt: c as number, expiresAt: e as number, staleUntil: s as number, tags: t as string[] };
}

/** False for a string with a lone surrogate, which UTF-8 cannot carry (it would read back as U+FFFD). */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}
