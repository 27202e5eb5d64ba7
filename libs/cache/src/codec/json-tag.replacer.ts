import { types } from 'node:util';
import { NotSerializableError } from '../core/errors';

/**
 * Writes the values JSON would mangle as `{"$t":<kind>,"v":<data>}` (see json.serializer.ts for the
 * format). Only used when a value is not plain JSON; `onTag` is told whenever a tag is written.
 */
export const TAG_KEY = '$t';

export type Tagged = { $t: string; v?: unknown };

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

/** A JSON.stringify replacer; a fresh one per call, since `onTag` carries that call's state. */
export function createTagReplacer(onTag: () => void): (this: unknown, key: string, current: unknown) => unknown {
  // `this` is the holder, so `holder[key]` is the value *before* toJSON ran: the only way to see
  // a Date (or a Buffer, whose toJSON turns it into {type,data}) as what it really is.
  return function (this: unknown, key: string, current: unknown): unknown {
    const raw = (this as Record<string, unknown>)[key];
    switch (typeof raw) {
      case 'string':
      case 'boolean':
      case 'undefined':
        return current;
      case 'object':
        if (raw === null || raw === UNDEFINED_MARK) return current;
        if (types.isDate(raw)) {
          onTag();
          const t = raw.getTime();
          return tag('Date', t === t ? t : null);
        }
        if (types.isUint8Array(raw)) {
          onTag();
          const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
          return tag(Buffer.isBuffer(raw) ? 'Buf' : 'U8', bytes.toString('base64'));
        }
        if (types.isMap(raw)) {
          onTag();
          const pairs: unknown[] = [];
          for (const [k, v] of raw) pairs.push([keepUndefined(k), keepUndefined(v)]);
          return tag('Map', pairs);
        }
        if (types.isSet(raw)) {
          onTag();
          return tag('Set', Array.from(raw, keepUndefined));
        }
        break;
      case 'number': {
        const special = specialNumber(raw);
        if (special === undefined) return current;
        onTag();
        return tag('Num', special);
      }
      case 'bigint':
        onTag();
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
      onTag();
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
}
