import { StreamableFile } from '@nestjs/common';
import { digest } from '../core/keys';

/** What the interceptor sees of a request (Express and Fastify requests both fit). */
export interface HttpRequestLike {
  readonly method: string;
  readonly url: string;
  readonly originalUrl?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly user?: unknown;
}

/** What it sees of a response: an Express response or a Fastify reply. */
export interface HttpResponseLike {
  readonly statusCode: number;
  getHeaders(): Record<string, number | string | string[] | undefined>;
  /** Express (a Node response): sets a header directly. */
  setHeader?(name: string, value: string): unknown;
  /** Fastify: the Node response underneath. */
  readonly raw?: NodeJS.WritableStream;
}

/**
 * A cached route response (v2: since the entry's ttl and grace are the route's, it no longer carries its
 * own expiry). `at` is the cache clock's ms when it was made.
 */
export interface HttpCacheRecord {
  readonly v: 2;
  readonly body: unknown;
  readonly status: number;
  /** Headers the handler set (its own `Vary` included), replayed on hits. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly etag: string;
  readonly at: number;
}

export function isHttpRecord(value: unknown): value is HttpCacheRecord {
  return typeof value === 'object' && value !== null && (value as HttpCacheRecord).v === 2 && typeof (value as HttpCacheRecord).etag === 'string';
}

/**
 * The JSON of a record's object body as UTF-8 bytes, made once per record object: L1 hands every hit the
 * same object, so only its first direct write serializes and encodes (kept beside the record, never
 * stored with it). Bytes, not text: Node then neither measures nor encodes the body on each write.
 */
const BYTES = new WeakMap<HttpCacheRecord, Buffer>();

export function jsonBytes(record: HttpCacheRecord): Buffer {
  let bytes = BYTES.get(record);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify(record.body), 'utf8');
    BYTES.set(record, bytes);
  }
  return bytes;
}

/** A strong validator of the body: the same body always gets the same tag. */
export function strongEtag(body: unknown): string {
  const text = typeof body === 'string' ? `s${body}` : `j${JSON.stringify(body)}`;
  return `"${digest(text)}"`;
}

/**
 * Headers that change what a handler may put in a response (absolute URLs, redirects, routing) without
 * being part of the URL. Keyed whenever present, so a request carrying a poisoned value can only ever
 * be answered with what was made for the same value.
 */
export const REFLECTED_HEADERS = [
  'host',
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-scheme',
  'x-forwarded-server',
  'x-original-host',
  'x-host',
  'x-original-url',
  'x-rewrite-url',
] as const;

/** Headers never captured for replay: ours, hop-by-hop, per-response ones, and cookies (which forbid caching). */
const NOT_REPLAYED = new Set(['x-cache', 'age', 'etag', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding', 'set-cookie']);

/** The path with its query sorted (names, then the order of repeated names kept), so `?b=1&a=2` ≡ `?a=2&b=1`. */
export function resourceOf(request: HttpRequestLike): string {
  const url = request.originalUrl ?? request.url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = new URLSearchParams(url.slice(q + 1));
  query.sort();
  const sorted = query.toString();
  return sorted === '' ? url.slice(0, q) : `${url.slice(0, q)}?${sorted}`;
}

export function headerText(value: number | string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'object' ? value.join(', ') : String(value);
}

/** A snapshot of the response headers before the handler ran. */
export function snapshot(response: HttpResponseLike): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(response.getHeaders())) out[name] = headerText(value);
  return out;
}

/** The headers the handler added or changed (what a hit must replay), never cookies or per-response ones. */
export function handlerHeaders(before: Record<string, string | undefined>, response: HttpResponseLike): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.getHeaders())) {
    if (value === undefined || NOT_REPLAYED.has(name) || before[name] === headerText(value)) continue;
    out[name] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}

/** A body the interceptor can store: a value (not a stream or file, not nothing). */
export function isStorableBody(value: unknown): boolean {
  if (value === undefined || value instanceof StreamableFile) return false;
  return !(typeof value === 'object' && value !== null && typeof (value as { pipe?: unknown }).pipe === 'function');
}

/** `If-None-Match` against our tag, with the weak comparison RFC 9110 §13.1.2 prescribes. */
export function notModified(request: HttpRequestLike, etag: string): boolean {
  const header = headerText(request.headers['if-none-match']);
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const ours = opaque(etag);
  return header.split(',').some((tag) => opaque(tag.trim()) === ours);
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/**
 * Whether the response's own `Cache-Control` lets us store it: never `no-store` or `no-cache` (we
 * cannot revalidate with the origin), and `private` only on a per-user route, whose entries are keyed by
 * the user and so are that user's private cache.
 */
export function cacheControlAllows(value: string | undefined, perUser: boolean): boolean {
  if (value === undefined) return true;
  for (const directive of value.toLowerCase().split(',')) {
    const name = directive.split('=')[0].trim();
    if (name === 'no-store' || name === 'no-cache') return false;
    if (name === 'private' && !perUser) return false;
  }
  return true;
}

/** Appends our `Vary` names to what the handler set, without repeating one. */
export function mergeVary(existing: string | undefined, ours: string): string {
  if (existing === undefined || existing === '') return ours;
  const have = new Set(existing.split(',').map((name) => name.trim().toLowerCase()));
  const extra = ours.split(', ').filter((name) => !have.has(name.toLowerCase()));
  return extra.length === 0 ? existing : `${existing}, ${extra.join(', ')}`;
}
