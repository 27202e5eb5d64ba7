import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe } from '../core/durations';
import { CorruptEntryError, InvalidOptionError } from '../core/errors';

/**
 * Optional AES-256-GCM encryption of what is stored in Redis.
 *
 * ```ts
 * encryption: { keys: { k2: process.env.CACHE_KEY_K2, k1: process.env.CACHE_KEY_K1 }, activeKeyId: 'k2' }
 * ```
 * New writes use `activeKeyId`; every key listed still decrypts, so keys rotate by adding a new one,
 * making it active, and removing the old one once its entries have expired.
 */
export interface EncryptionOptions {
  /** Keys by id: 32 bytes each, as a Buffer or a base64 string. Ids are 1-64 characters of `A-Z a-z 0-9 . _ -`. */
  keys: Record<string, Buffer | string>;
  /** The id of the key new writes are encrypted with. */
  activeKeyId: string;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const HOW_TO_MAKE_A_KEY = `make one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;

/**
 * Seals and opens entry payloads. Sealed layout (after the entry's header byte):
 *
 *   [key id length: 1 byte][key id: ASCII][IV: 12 bytes][GCM tag: 16 bytes][ciphertext]
 *
 * The associated data is the header byte and the entry's full Redis key (which carries its prefix,
 * namespace, tenant and name): bytes copied to another key, another tenant, or given other header
 * flags fail authentication and are a miss. A tampered byte anywhere fails it too.
 */
export class EntryCipher {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly activeId: Buffer;
  private readonly activeKey: Buffer;

  private constructor(keys: Map<string, Buffer>, activeKeyId: string) {
    this.keys = keys;
    this.activeId = Buffer.from(activeKeyId, 'latin1');
    this.activeKey = keys.get(activeKeyId)!;
  }

  /** Checks the options once, at startup: every mistake fails with a message that says how to fix it. */
  static from(options: EncryptionOptions, option = 'encryption'): EntryCipher {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError(`${option} must be { keys: { k1: <32-byte key> }, activeKeyId: 'k1' }; got ${describe(options)}`);
    }
    for (const name of Object.keys(options)) {
      if (name !== 'keys' && name !== 'activeKeyId') throw new InvalidOptionError(`unknown option '${option}.${name}'; ${option} takes keys and activeKeyId`);
    }
    if (typeof options.keys !== 'object' || options.keys === null || Object.keys(options.keys).length === 0) {
      throw new InvalidOptionError(`${option}.keys must name at least one key, e.g. { k1: process.env.CACHE_KEY }; ${HOW_TO_MAKE_A_KEY}`);
    }
    const keys = new Map<string, Buffer>();
    for (const [id, raw] of Object.entries(options.keys)) {
      if (!KEY_ID.test(id)) {
        throw new InvalidOptionError(`${option}.keys: key id ${JSON.stringify(id)} must be 1-64 characters of A-Z a-z 0-9 . _ -`);
      }
      keys.set(id, keyBytes(raw, `${option}.keys.${id}`));
    }
    if (typeof options.activeKeyId !== 'string' || !keys.has(options.activeKeyId)) {
      throw new InvalidOptionError(
        `${option}.activeKeyId must be one of the ids in ${option}.keys (${[...keys.keys()].join(', ')}); got ${describe(options.activeKeyId)}`,
      );
    }
    return new EntryCipher(keys, options.activeKeyId);
  }

  get activeKeyId(): string {
    return this.activeId.toString('latin1');
  }

  /** `header` must already carry the encrypted flag: it is authenticated with the key. */
  seal(plain: Buffer, header: number, key: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.activeKey, iv);
    cipher.setAAD(associatedData(header, key));
    const body = cipher.update(plain);
    const final = cipher.final();
    const idLength = this.activeId.length;
    const out = Buffer.allocUnsafe(1 + 1 + idLength + IV_BYTES + TAG_BYTES + body.length + final.length);
    out[0] = header;
    out[1] = idLength;
    this.activeId.copy(out, 2);
    iv.copy(out, 2 + idLength);
    cipher.getAuthTag().copy(out, 2 + idLength + IV_BYTES);
    body.copy(out, 2 + idLength + IV_BYTES + TAG_BYTES);
    final.copy(out, 2 + idLength + IV_BYTES + TAG_BYTES + body.length);
    return out;
  }

  /** Opens `bytes` (header byte included); throws CorruptEntryError for anything that does not authenticate. */
  open(bytes: Buffer, key: string): Buffer {
    const idLength = bytes[1];
    const ivAt = 2 + (idLength ?? 0);
    if (idLength === undefined || idLength === 0 || bytes.length < ivAt + IV_BYTES + TAG_BYTES) {
      throw new CorruptEntryError('encrypted entry is truncated');
    }
    const id = bytes.toString('latin1', 2, ivAt);
    const secret = this.keys.get(id);
    if (secret === undefined) throw new CorruptEntryError(`entry is encrypted with key id ${JSON.stringify(id)}, which is not configured`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', secret, bytes.subarray(ivAt, ivAt + IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(bytes[0], key));
      decipher.setAuthTag(bytes.subarray(ivAt + IV_BYTES, ivAt + IV_BYTES + TAG_BYTES));
      const body = decipher.update(bytes.subarray(ivAt + IV_BYTES + TAG_BYTES));
      return Buffer.concat([body, decipher.final()]);
    } catch (error) {
      throw new CorruptEntryError('encrypted entry does not authenticate (tampered, or stored under another key)', { cause: error });
    }
  }
}

function associatedData(header: number, key: string): Buffer {
  const aad = Buffer.allocUnsafe(1 + Buffer.byteLength(key, 'utf8'));
  aad[0] = header;
  aad.write(key, 1, 'utf8');
  return aad;
}

function keyBytes(raw: unknown, option: string): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(raw)) {
    bytes = raw;
  } else if (typeof raw === 'string') {
    const text = raw.trim();
    bytes = Buffer.from(text, 'base64');
    // Buffer.from ignores what is not base64; a key that does not round-trip was mistyped or is not base64.
    if (text.replace(/=+$/, '') !== bytes.toString('base64').replace(/=+$/, '')) {
      throw new InvalidOptionError(`${option} is not valid base64; ${HOW_TO_MAKE_A_KEY}`);
    }
  } else {
    throw new InvalidOptionError(`${option} must be a 32-byte Buffer or a base64 string of 32 bytes (got ${raw === undefined ? 'undefined: is the environment variable set?' : typeof raw}); ${HOW_TO_MAKE_A_KEY}`);
  }
  if (bytes.length !== KEY_BYTES) {
    throw new InvalidOptionError(`${option} must be 32 bytes for AES-256; got ${bytes.length} bytes; ${HOW_TO_MAKE_A_KEY}`);
  }
  // A copy, so a caller reusing its buffer cannot change the key under us.
  return Buffer.from(bytes);
}
