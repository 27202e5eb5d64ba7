import { types } from 'node:util';
import { CorruptEntryError, NotSerializableError } from '../core/errors';

/**
 * JSON with a small tagged extension so values that JSON would mangle (Date, Buffer, Uint8Array,
 * Map, Set, BigInt, NaN/±Infinity/-0) come back as themselves.
 *
 * A special value is written as `{"$t":<kind>,"v":<data>}`. Any *user* object that owns a `$t`
 * key is written as `{"$t":"Obj","v":[[key,value],...]}`, so in tagged text every object with an
 * own `$t` is ours and decoding is unambiguous. The `tagged` flag lets the common case (no special
 * values at all) be read back with a bare `JSON.parse`, which is the hot path of every Redis hit.
 */
export const TAG_KEY = '$t';

export interface SerializedValue {
  readonly text: string;
  /** True when `text` contains tags and must be read with the reviver. */
  readonly tagged: boolean;
}

type Tagged = { $t: string; v?: unknown };

const hasOwn = Object.prototype.hasOwnProperty;

function tag(kind: string, v?: unknown): Tagged {
  return v === undefined ? { $t: kind } : { $t: kind, v };
}

/**
 * Maps and Sets are unrolled into arrays, where JSON would turn `undefined` into `null`. One shared
 * marker (recognised by identity, so it is not escaped like a user object with `$t`) keeps it.
 */
const UNDEFINED_MARK: Tagged = Object.freeze({ $t: 'U' });

function keepUndefined(x: unknown): unknown {
  return x === undefined ? UNDEFINED_MARK : x;
}

function specialNumber(n: number): string | undefined {
  if (n !== n) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (n === 0 && 1 / n < 0) return '-0';
  return undefined;
}

export class JsonSerializer {
  stringify(value: unknown): SerializedValue {
    let tagged = false;
    // `this` is the holder, so `holder[key]` is the value *before* toJSON ran: the only way to see
    // a Date (or a Buffer, whose toJSON turns it into {type,data}) as what it really is.
    const replacer = function (this: unknown, key: string, current: unknown): unknown {
      const raw = (this as Record<string, unknown>)[key];
      switch (typeof raw) {
        case 'string':
        case 'boolean':
        case 'undefined':
          return current;
        case 'object':
          if (raw === null || raw === UNDEFINED_MARK) return current;
          if (types.isDate(raw)) {
            tagged = true;
            const t = raw.getTime();
            return tag('Date', t === t ? t : null);
          }
          if (types.isUint8Array(raw)) {
            tagged = true;
            const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
            return tag(Buffer.isBuffer(raw) ? 'Buf' : 'U8', bytes.toString('base64'));
          }
          if (types.isMap(raw)) {
            tagged = true;
            const pairs: unknown[] = [];
            for (const [k, v] of raw) pairs.push([keepUndefined(k), keepUndefined(v)]);
            return tag('Map', pairs);
          }
          if (types.isSet(raw)) {
            tagged = true;
            return tag('Set', Array.from(raw, keepUndefined));
          }
          break;
        case 'number': {
          const special = specialNumber(raw);
          if (special === undefined) return current;
          tagged = true;
          return tag('Num', special);
        }
        case 'bigint':
          tagged = true;
          return tag('BigInt', raw.toString());
        case 'function':
        case 'symbol':
          // JSON would drop these silently (or write null in arrays): a cached object that lost a
          // property is a worse bug than a refused write.
          throw new NotSerializableError(
            `${typeof raw} at ${key === '' ? 'the top level' : `key "${key}"`}; cache plain data instead`,
          );
      }
      if (
        typeof current === 'object' &&
        current !== null &&
        !Array.isArray(current) &&
        hasOwn.call(current, TAG_KEY)
      ) {
        tagged = true;
        // Entries (not a copy of the object) so that JSON does not meet a `$t` key again and loop.
        // Undefined members are dropped here as JSON drops them from objects, rather than becoming
        // `null` inside a pair.
        const own = current as Record<string, unknown>;
        const pairs: unknown[] = [];
        for (const k of Object.keys(own)) if (own[k] !== undefined) pairs.push([k, own[k]]);
        return tag('Obj', pairs);
      }
      return current;
    };

    let text: string | undefined;
    try {
      text = JSON.stringify(value, replacer);
    } catch (err) {
      if (err instanceof NotSerializableError) throw err;
      // TypeError: a cycle through plain objects; RangeError: a cycle through a Map/Set (we rebuild
      // those as fresh objects, which JSON's cycle check cannot see) or absurd nesting.
      const what = err instanceof TypeError || err instanceof RangeError ? 'a circular or too deeply nested structure' : 'toJSON() threw';
      throw new NotSerializableError(what, { cause: err });
    }
    if (text === undefined) {
      // Only reachable for top-level undefined (or a toJSON returning it): caching it would read back
      // as a miss.
      throw new NotSerializableError('undefined cannot be cached (it would be indistinguishable from a miss)');
    }
    return { text, tagged };
  }

  parse(text: string, tagged: boolean): unknown {
    // JSON.parse defines every key, `__proto__` included, as an own data property, so the bare
    // parse is already pollution-free.
    if (!tagged) return JSON.parse(text);
    return JSON.parse(text, revive);
  }
}

function revive(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !hasOwn.call(value, TAG_KEY)) {
    return value;
  }
  const { $t: kind, v } = value as Tagged;
  switch (kind) {
    case 'Date':
      if (v === null) return new Date(NaN);
      if (typeof v === 'number') return new Date(v);
      break;
    case 'Buf':
      if (typeof v === 'string') return Buffer.from(v, 'base64');
      break;
    case 'U8':
      if (typeof v === 'string') return new Uint8Array(Buffer.from(v, 'base64'));
      break;
    case 'Map':
      if (Array.isArray(v) && v.every(isPair)) return new Map(v as [unknown, unknown][]);
      break;
    case 'Set':
      if (Array.isArray(v)) return new Set(v);
      break;
    case 'BigInt':
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
      break;
    case 'Num':
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (v === '-0') return -0;
      break;
    case 'U':
      // Returning undefined from a reviver deletes the slot; inside our Map/Set arrays a hole reads
      // back as undefined, which is exactly the value.
      return undefined;
    case 'Obj':
      if (Array.isArray(v) && v.every((p) => isPair(p) && typeof p[0] === 'string')) {
        return fromEntries(v as [string, unknown][]);
      }
      break;
  }
  throw new CorruptEntryError(`unknown or malformed tag ${JSON.stringify(String(kind)).slice(0, 40)}`);
}

function isPair(p: unknown): p is [unknown, unknown] {
  return Array.isArray(p) && p.length === 2;
}

/** defineProperty, never assignment: a `__proto__` key must stay data, not swap the prototype. */
function fromEntries(pairs: readonly [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of pairs) {
    Object.defineProperty(out, k, { value: val, writable: true, enumerable: true, configurable: true });
  }
  return out;
}
