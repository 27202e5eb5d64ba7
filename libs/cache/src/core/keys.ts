import { hash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { InvalidKeyError } from './errors';

/**
 * Redis keys: `{prefix}:{namespace}[:t={tenant}]:{name}:{key}` (see docs/ARCHITECTURE.md).
 *
 * Every segment that comes from a caller is escaped, so that a `:` cannot move a key into another
 * name or tenant, and `* ? [ ] \` can never widen a pattern invalidation. `=` is escaped so that no
 * caller segment can pose as our `t=` tenant segment, `{ }` so that callers cannot pick a Cluster hash
 * slot, and `#` so that a hashed segment (`#<digest>`) can never equal a caller's literal one.
 * Escaping is percent-encoding of exactly those characters, which keeps it injective.
 */
const NEEDS_ESCAPE_ALL = /[%:*?[\]\\={}#]/g;
// One test for the common case (a short, printable key with nothing to escape): anything it flags
// (including every surrogate, paired or not) takes the careful path below.
// eslint-disable-next-line no-control-regex
const NOT_PLAIN = /[%:*?[\]\\={}#\u0000-\u001f\u007f\ud800-\udfff]/;
// Control characters and lone surrogates make keys unreadable in tools and logs: hash them instead.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const DEFAULT_MAX_KEY_LENGTH = 200;
const BUILT_KEYS_KEPT = 2048;

/** SHA-256, base64url, 32 characters (192 bits): collisions would serve one caller another's data. */
export function digest(input: string): string {
  return hash('sha256', input, 'base64url').slice(0, 32);
}

function escapeChar(ch: string): string {
  return '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
}

/** Escapes one caller segment; hashes it when it is over-long, unprintable, or when `hashAll` is set. */
export function segment(raw: string, maxLength = DEFAULT_MAX_KEY_LENGTH, hashAll = false): string {
  if (hashAll) return '#' + digest(raw);
  if (raw.length <= maxLength && !NOT_PLAIN.test(raw)) return raw;
  if (UNPRINTABLE.test(raw)) return '#' + digest(raw);
  const escaped = raw.replace(NEEDS_ESCAPE_ALL, escapeChar);
  return escaped.length <= maxLength ? escaped : '#' + digest(raw);
}

const NEEDS_ESCAPE_ONE = /[%:*?[\]\\={}#]/;

/**
 * Escapes a caller's glob pattern for SCAN MATCH: literal parts escaped as keys are, `*` and `?` kept as
 * wildcards. A backslash makes the next character literal (`\*` matches a key holding `*`), as in Redis.
 */
export function patternSegment(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    let ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) ch = pattern[++i];
    else if (ch === '*' || ch === '?') {
      out += ch;
      continue;
    }
    out += NEEDS_ESCAPE_ONE.test(ch) ? escapeChar(ch) : ch;
  }
  return out;
}

/** Makes a caller value literal inside a glob pattern (see `patternSegment`). */
export function globLiteral(value: string): string {
  return value.replace(/[\\*?]/g, '\\$&');
}

/**
 * The escaped tenant segment of a full key built by a `KeySpace`, or undefined for a key with none.
 * Prefix and namespace are escaped, so the third segment is the tenant exactly when it starts with `t=`
 * (a caller's name or key segment cannot: `=` is escaped).
 */
export function tenantOfKey(key: string): string | undefined {
  const first = key.indexOf(':');
  const second = first < 0 ? -1 : key.indexOf(':', first + 1);
  if (second < 0 || key.charCodeAt(second + 1) !== 116 /* t */ || key.charCodeAt(second + 2) !== 61 /* = */) return undefined;
  const third = key.indexOf(':', second + 3);
  return third < 0 ? undefined : key.slice(second + 3, third);
}

export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidKeyError('a cache key', key);
  }
}

/**
 * A stable key for a list of arguments: object keys sorted (safe-stable-stringify), so `{a, b}` and
 * `{b, a}` agree. Values are type-marked first, so `1`, `'1'`, `1n` and a Date with the same text never
 * share a key: every string gets an `s` prefix, which leaves any other marker unambiguous.
 */
export function argsKey(args: readonly unknown[]): string {
  const text = plainArgsText(args) ?? markedArgsText(args);
  return text.length <= 64 ? text : '#' + digest(text);
}

/** The general path of `argsKey`: every value type-marked, object keys sorted. */
export function markedArgsText(args: readonly unknown[]): string {
  return stringify(args, markTypes) ?? 'u';
}

/**
 * The common case without the replacer machinery: strings, finite numbers and booleans only, written
 * exactly as `markedArgsText` writes them (a spec checks the two agree), so a key never depends on the
 * path that built it. Anything else returns undefined and takes the general path.
 */
function plainArgsText(args: readonly unknown[]): string | undefined {
  let text = '[';
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    if (i > 0) text += ',';
    if (typeof value === 'string') text += JSON.stringify('s' + value);
    else if (typeof value === 'number' && Number.isFinite(value)) text += String(value);
    else if (typeof value === 'boolean') text += value ? 'true' : 'false';
    else return undefined;
  }
  return text + ']';
}

function markTypes(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) return 'd' + (Number.isNaN(raw.getTime()) ? 'NaN' : raw.toISOString());
  if (Buffer.isBuffer(raw) || raw instanceof Uint8Array) return 'b' + Buffer.from(raw).toString('base64');
  if (raw instanceof Map) return ['M', ...raw];
  if (raw instanceof Set) return ['S', ...raw];
  switch (typeof value) {
    case 'string':
      return 's' + value;
    case 'bigint':
      return 'n' + value.toString();
    case 'undefined':
      return 'u';
    case 'function':
    case 'symbol':
      return 'f';
    case 'number':
      return Number.isFinite(value) ? value : 'x' + String(value);
    default:
      return value;
  }
}

export interface KeySpaceParts {
  prefix: string;
  namespace: string;
  tenant?: string;
  name: string;
  /**
   * Schema version of the values, appended to the name as `#v<version>` (`#` is escaped in every caller
   * segment, so no name can pose as a versioned one, and no base is a prefix of another's).
   */
  version?: string;
}

/**
 * The fixed part of every key of one view, computed once, so building a key is one concatenation; and
 * the ids under which the view's namespace and tags record their invalidation times. Tags are scoped by
 * prefix and tenant (they span namespaces and named caches, never tenants); a namespace by prefix,
 * namespace and tenant. Every part is escaped, so ids parse one way only.
 */
export class KeySpace {
  readonly base: string;
  readonly namespaceId: string;
  private readonly tagBase: string;
  /**
   * Recently built keys. Returning the same string object also means its hash is already computed,
   * so the L1 lookup that follows does not hash a fresh concatenation on every call.
   */
  private readonly built = new Map<string, string>();

  constructor(
    readonly parts: Readonly<KeySpaceParts>,
    private readonly maxKeyLength = DEFAULT_MAX_KEY_LENGTH,
    private readonly hashKeys = false,
  ) {
    const prefix = segment(parts.prefix);
    const tenant = parts.tenant === undefined ? '' : `:t=${segment(parts.tenant, maxKeyLength, hashKeys)}`;
    const namespace = segment(parts.namespace);
    const version = parts.version === undefined ? '' : `#v${segment(parts.version)}`;
    this.base = `${prefix}:${namespace}${tenant}:${segment(parts.name)}${version}:`;
    this.namespaceId = `ns:${prefix}:${namespace}${tenant}`;
    this.tagBase = `tag:${prefix}${tenant}:`;
  }

  key(key: string): string {
    let full = this.built.get(key);
    if (full !== undefined) return full;
    assertKey(key);
    full = this.base + segment(key, this.maxKeyLength, this.hashKeys);
    if (key.length > this.maxKeyLength) return full; // huge keys would make the memo huge
    if (this.built.size >= BUILT_KEYS_KEPT) this.built.clear();
    this.built.set(key, full);
    return full;
  }

  /** Counters live apart from entries, so `get` never tries to decode one. */
  counterKey(key: string): string {
    assertKey(key);
    return this.base + '#ctr:' + segment(key, this.maxKeyLength, this.hashKeys);
  }

  /** True for a counter of this view (`counterKey`): counters are not entries, patterns leave them be. */
  isCounterKey(full: string): boolean {
    return full.startsWith(this.base + '#ctr:');
  }

  /** The SCAN MATCH pattern for a caller's glob over this view's keys. */
  pattern(glob: string): string {
    return this.base + patternSegment(glob);
  }

  tagId(tag: string): string {
    if (typeof tag !== 'string' || tag.length === 0) {
      throw new InvalidKeyError('a tag', tag);
    }
    return this.tagBase + segment(tag, this.maxKeyLength, this.hashKeys);
  }
}
