import { InvalidArgumentError } from '../../core/errors';
import { CODE_WORDS, type IndexedVector } from './vector-index';

/** One cached prompt as the semantic index stores it, in Redis and in memory. */
export interface VectorRecord {
  /** The caller key of the cached answer, in the scope's cache view. */
  readonly key: string;
  /** When the answer stops being servable (ms); the record is ignored after that. */
  readonly expiresAt: number;
  /** The prompt's guard signature (`encodeSignature`). */
  readonly signature: string;
  /** The blocking key of the signature (`blockOf`). */
  readonly block: number;
  readonly vector: IndexedVector;
}

const VERSION = 1;
// version u8 | expiresAt f64 | block u32 | scale f32 | dims u16 | key length u16 | signature length u16 | code | int8 vector | key | signature
const HEADER = 1 + 8 + 4 + 4 + 2 + 2 + 2;

/** Binary form: ~330 bytes for a 256-dimension vector and a short prompt, instead of ~3 KB of JSON. */
export function encodeRecord(record: VectorRecord): Buffer {
  const key = Buffer.from(record.key, 'utf8');
  const signature = Buffer.from(record.signature, 'utf8');
  const dims = record.vector.q.length;
  if (dims > 0xffff || key.length > 0xffff || signature.length > 0xffff) throw new InvalidArgumentError('semantic cache: a vector record too large to store (over 65,535 dimensions or key bytes); use an embedder with fewer dimensions');
  const buffer = Buffer.allocUnsafe(HEADER + CODE_WORDS * 4 + dims + key.length + signature.length);
  let o = buffer.writeUInt8(VERSION, 0);
  o = buffer.writeDoubleLE(record.expiresAt, o);
  o = buffer.writeUInt32LE(record.block >>> 0, o);
  o = buffer.writeFloatLE(record.vector.scale, o);
  o = buffer.writeUInt16LE(dims, o);
  o = buffer.writeUInt16LE(key.length, o);
  o = buffer.writeUInt16LE(signature.length, o);
  for (let i = 0; i < CODE_WORDS; i++) o = buffer.writeInt32LE(record.vector.code[i], o);
  Buffer.from(record.vector.q.buffer, record.vector.q.byteOffset, dims).copy(buffer, o);
  o += dims;
  o += key.copy(buffer, o);
  signature.copy(buffer, o);
  return buffer;
}

/** The record, or undefined for bytes that are not one (another version, truncated): skipped, never thrown. */
export function decodeRecord(buffer: Buffer): VectorRecord | undefined {
  if (buffer.length < HEADER || buffer.readUInt8(0) !== VERSION) return undefined;
  const expiresAt = buffer.readDoubleLE(1);
  const block = buffer.readUInt32LE(9);
  const scale = buffer.readFloatLE(13);
  const dims = buffer.readUInt16LE(17);
  const keyLength = buffer.readUInt16LE(19);
  const signatureLength = buffer.readUInt16LE(21);
  let o = HEADER;
  if (buffer.length !== o + CODE_WORDS * 4 + dims + keyLength + signatureLength) return undefined;
  const code = new Int32Array(CODE_WORDS);
  for (let i = 0; i < CODE_WORDS; i++, o += 4) code[i] = buffer.readInt32LE(o);
  const q = new Int8Array(dims);
  for (let i = 0; i < dims; i++) q[i] = buffer.readInt8(o + i);
  o += dims;
  const key = buffer.toString('utf8', o, o + keyLength);
  o += keyLength;
  const signature = buffer.toString('utf8', o, o + signatureLength);
  return { key, expiresAt, signature, block, vector: { q, scale, code } };
}
