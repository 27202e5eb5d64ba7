import { NotSerializableError } from '../core/errors';
import { createTagReplacer } from './json-tag.replacer';
import { reviveTags } from './json-tag.reviver';

/**
 * JSON with a small tagged extension so values that JSON would mangle (Date, Buffer, Uint8Array,
 * Map, Set, BigInt, NaN/±Infinity/-0) come back as themselves.
 *
 * A special value is written as `{"$t":<kind>,"v":<data>}`. Any *user* object that owns a `$t`
 * key is written as `{"$t":"Obj","v":[[key,value],...]}`, so in tagged text every object with an
 * own `$t` is ours and decoding is unambiguous. The `tagged` flag lets the common case (no special
 * values at all) be read back with a bare `JSON.parse`, which is the hot path of every Redis hit.
 *
 * Refused (NotSerializableError): functions and symbols anywhere (JSON would drop them silently),
 * cycles, and a top-level `undefined` (it would read back as a miss). Class instances are written
 * as their own enumerable data, as JSON does.
 */
export interface SerializedValue {
  readonly text: string;
  /** True when `text` contains tags and must be read with the reviver. */
  readonly tagged: boolean;
  /** True when the value was proven plain JSON nested at most 64 levels deep (no depth scan of `text` needed). */
  readonly shallow?: boolean;
  /**
   * True when the value is a string and `text` is that string itself, not its JSON (`EntryCodec`'s text
   * payload stores it as it is: nothing to escape on a write, nothing to parse for L1's copy).
   */
  readonly raw?: boolean;
}

const hasOwn = Object.prototype.hasOwnProperty;
const PLAIN_SCAN_MAX_DEPTH = 64;

export class JsonSerializer {
  stringify(value: unknown): SerializedValue {
    let tagged = false;
    let text: string | undefined;
    let shallow = false;
    try {
      // A replacer knocks JSON.stringify off V8's fast path (measured ~2.5× slower on a 1 KB
      // object); a quick scan proving there is nothing to tag costs far less than that.
      shallow = isPlainJson(value, 0);
      text = shallow
        ? JSON.stringify(value)
        : JSON.stringify(
            value,
            createTagReplacer(() => {
              tagged = true;
            }),
          );
    } catch (err) {
      if (err instanceof NotSerializableError) throw err;
      // TypeError: a cycle through plain objects; RangeError: a cycle through a Map/Set (rebuilt as
      // fresh objects, which JSON's cycle check cannot see) or absurd nesting.
      const what =
        err instanceof TypeError || err instanceof RangeError
          ? 'a circular or too deeply nested structure'
          : 'reading it threw (a getter or toJSON)';
      throw new NotSerializableError(what, { cause: err });
    }
    if (text === undefined) {
      // Only reachable for a top-level undefined (or a toJSON returning it).
      throw new NotSerializableError('undefined cannot be cached (it would be indistinguishable from a miss)');
    }
    return shallow ? { text, tagged, shallow } : { text, tagged };
  }

  parse(text: string, tagged: boolean): unknown {
    // JSON.parse defines every key, `__proto__` included, as an own data property, so the bare
    // parse is already pollution-free.
    if (!tagged) return JSON.parse(text);
    return JSON.parse(text, reviveTags);
  }
}

/**
 * True only when JSON.stringify without a replacer writes exactly what the tag replacer would:
 * nothing to tag, no `$t` key, no toJSON. Conservative on purpose: class instances, objects from
 * another realm, and nesting past 64 levels (perhaps a cycle) answer false and take the replacer
 * path, which is always right, just slower.
 */
function isPlainJson(x: unknown, depth: number): boolean {
  if (typeof x === 'string' || typeof x === 'boolean' || x === undefined || x === null) return true;
  if (typeof x === 'number') return plainNumber(x);
  if (typeof x !== 'object' || depth >= PLAIN_SCAN_MAX_DEPTH) return false;
  // Strings and non-zero finite numbers (most leaves) are answered in the loops, without a call each;
  // objects are walked with for-in, which allocates no key array (an inherited enumerable key, on a
  // polluted Object.prototype, only makes the answer more conservative).
  if (Array.isArray(x)) {
    if (Object.getPrototypeOf(x) !== Array.prototype || hasOwn.call(x, 'toJSON')) return false;
    for (let i = 0; i < x.length; i++) {
      const item: unknown = x[i];
      if (typeof item === 'string' || (typeof item === 'number' && item !== 0 && plainNumber(item))) continue;
      if (!isPlainJson(item, depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(x);
  if ((proto !== Object.prototype && proto !== null) || hasOwn.call(x, 'toJSON') || hasOwn.call(x, '$t')) return false;
  const obj = x as Record<string, unknown>;
  for (const key in obj) {
    const item = obj[key];
    if (typeof item === 'string' || (typeof item === 'number' && item !== 0 && plainNumber(item))) continue;
    if (!isPlainJson(item, depth + 1)) return false;
  }
  return true;
}

/** Finite, and not -0 (JSON would write 0). */
function plainNumber(x: number): boolean {
  return x === x && x !== Infinity && x !== -Infinity && (x !== 0 || 1 / x > 0);
}
