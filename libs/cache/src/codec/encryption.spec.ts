import { randomBytes } from 'node:crypto';
import { CorruptEntryError, InvalidOptionError } from '../core/errors';
import { EntryCipher } from './encryption';
import { EntryCodec, FLAG_COMPRESSED, FLAG_ENCRYPTED, FLAG_TAGGED, FLAG_CHECKSUM, HEADER_TEXT } from './entry.codec';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const entry = (value: unknown) => ({ value, createdAt: 1, expiresAt: 2, staleUntil: 3, tags: ['tag:a'] });

function codec(keys: Record<string, Buffer | string>, activeKeyId: string, compressThreshold = 1024): EntryCodec {
  return new EntryCodec({ cipher: EntryCipher.from({ keys, activeKeyId }), compressThreshold });
}

describe('EntryCipher and the encrypted entry format', () => {
  it('round-trips plain, tagged and compressed entries, with the encrypted flag set and no plaintext on the wire', () => {
    const c = codec({ k1 }, 'k1', 64);
    for (const value of ['a secret answer', new Map([['when', new Date(5)]]), 'long secret text '.repeat(100)]) {
      const bytes = c.encode(entry(value), c.serializeValue(value), 'app:ns:t=acme:ai:q1');
      expect(bytes[0] & FLAG_ENCRYPTED).toBe(FLAG_ENCRYPTED);
      expect(bytes.toString('latin1')).not.toContain('secret');
      expect(c.decode(bytes, 'app:ns:t=acme:ai:q1')).toStrictEqual(entry(value));
    }
    const tagged = c.encode(entry(new Set([1])), c.serializeValue(new Set([1])), 'k');
    expect(tagged[0] & FLAG_TAGGED).toBe(FLAG_TAGGED);
    const long = 'x'.repeat(5000);
    expect(c.encode(entry(long), c.serializeValue(long), 'k')[0] & FLAG_COMPRESSED).toBe(FLAG_COMPRESSED);
  });

  it('binds the Redis key (and so the tenant) as associated data: bytes moved to another key do not open', () => {
    const c = codec({ k1 }, 'k1');
    const bytes = c.encode(entry('v'), c.serializeValue('v'), 'app:ns:t=acme:ai:q1');
    expect(() => c.decode(bytes, 'app:ns:t=globex:ai:q1')).toThrow(CorruptEntryError);
    expect(() => c.decode(bytes, 'app:ns:t=acme:ai:q2')).toThrow(/does not authenticate/);
    expect(() => c.decode(bytes)).toThrow(/key is unknown/);
  });

  it('rotation: new writes use the active key, entries written under an old key still open', () => {
    const before = codec({ k1 }, 'k1');
    const old = before.encode(entry('old'), before.serializeValue('old'), 'k');
    const after = codec({ k1: k1.toString('base64'), k2 }, 'k2');
    const fresh = after.encode(entry('new'), after.serializeValue('new'), 'k');
    expect(fresh.toString('latin1', 2, 4)).toBe('k2');
    expect(after.decode(old, 'k').value).toBe('old');
    expect(after.decode(fresh, 'k').value).toBe('new');
    // Once k1 is retired, its entries are misses, not errors.
    const retired = codec({ k2 }, 'k2');
    expect(() => retired.decode(old, 'k')).toThrow(/key id "k1", which is not configured/);
  });

  it('refuses plaintext entries when encryption is on, and encrypted ones when it is off', () => {
    const plain = new EntryCodec();
    const c = codec({ k1 }, 'k1');
    const plainBytes = plain.encode(entry('v'), plain.serializeValue('v'));
    expect(plainBytes[0]).toBe(HEADER_TEXT | FLAG_CHECKSUM);
    expect(() => c.decode(plainBytes, 'k')).toThrow(/not encrypted, and encryption is on/);
    const sealed = c.encode(entry('v'), c.serializeValue('v'), 'k');
    expect(() => plain.decode(sealed, 'k')).toThrow(/no encryption keys are configured/);
  });

  it('any flipped bit, truncation or header change fails authentication', () => {
    const c = codec({ k1 }, 'k1');
    const bytes = c.encode(entry({ a: 1 }), c.serializeValue({ a: 1 }), 'k');
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      expect(() => c.decode(flipped, 'k')).toThrow(CorruptEntryError);
    }
    for (let length = 0; length < bytes.length; length++) expect(() => c.decode(bytes.subarray(0, length), 'k')).toThrow(CorruptEntryError);
  });

  it.each([
    ['no keys', { keys: {}, activeKeyId: 'k1' }, /must name at least one key/],
    ['a short key', { keys: { k1: randomBytes(16) }, activeKeyId: 'k1' }, /must be 32 bytes for AES-256; got 16 bytes.*randomBytes\(32\)/],
    ['a key that is not base64', { keys: { k1: 'not base64!' }, activeKeyId: 'k1' }, /encryption.keys.k1 is not valid base64/],
    ['an unset environment variable', { keys: { k1: undefined as unknown as string }, activeKeyId: 'k1' }, /is the environment variable set/],
    ['an unknown active key', { keys: { k1 }, activeKeyId: 'k9' }, /activeKeyId must be one of the ids in encryption.keys \(k1\)/],
    ['a bad key id', { keys: { 'k 1': k1 }, activeKeyId: 'k 1' }, /key id "k 1" must be 1-64 characters/],
    ['an unknown option', { keys: { k1 }, activeKeyId: 'k1', algorithm: 'des' }, /unknown option 'encryption.algorithm'/],
  ])('fails at startup on %s, with a message that says how to fix it', (_label, options, message) => {
    expect(() => EntryCipher.from(options as never)).toThrow(InvalidOptionError);
    expect(() => EntryCipher.from(options as never)).toThrow(message);
  });

  it('never puts key material in an error message', () => {
    const key = randomBytes(31).toString('base64');
    const error = (() => {
      try {
        EntryCipher.from({ keys: { k1: key }, activeKeyId: 'k1' });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message).toBeDefined();
    expect(error?.message).not.toContain(key);
  });
});
