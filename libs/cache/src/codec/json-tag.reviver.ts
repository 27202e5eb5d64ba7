import { CorruptEntryError } from '../core/errors';
import { TAG_KEY, type Tagged } from './json-tag.replacer';

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The JSON.parse reviver for tagged text. Every object it builds itself is built with
 * defineProperty or a constructor, never by assigning keys from the text.
 */
export function reviveTags(_key: string, value: unknown): unknown {
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
