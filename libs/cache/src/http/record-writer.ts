import { ServerResponse } from 'node:http';
import { type HttpCacheRecord, type HttpRequestLike, type HttpResponseLike, headerText, jsonBytes, mergeVary } from './http-record';
import type { RoutePlan } from './route-plan';

export type CacheState = 'HIT' | 'MISS' | 'STALE';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Writes stored responses on Express without the handler path: the status, headers and the body's JSON
 * text (made once per record object, see `jsonText`), then `end()`. No serialization, no Content-Type
 * parsing, no body copy, no freshness check. Only where that is what the handler path would send:
 * a GET (HEAD lets Express compute the length), not conditional (Express would answer 304 after the
 * write), no Content-Type of the handler's own, and a route whose value nothing outside the interceptor
 * changes: learned on the route's first stored miss (`learn`), false until then.
 */
export class RecordWriter {
  private readonly direct = new WeakMap<RoutePlan, boolean>();

  constructor(private readonly now: () => number) {}

  /** Writes the response and returns true, or returns false: the caller hands the value on instead. */
  write(request: HttpRequestLike, response: HttpResponseLike, route: RoutePlan, record: HttpCacheRecord, state: CacheState): boolean {
    if (this.direct.get(route) !== true || request.method !== 'GET' || !isNodeResponse(response)) return false;
    const headers = record.headers;
    // A type of the handler's own (stored, or `@Header` set before the interceptor): Express adds its charset.
    if (headers['content-type'] !== undefined || response.hasHeader('content-type')) return false;
    const asked = request.headers;
    if (asked['if-none-match'] !== undefined || asked['if-modified-since'] !== undefined) return false;
    for (const name in headers) response.setHeader(name, headers[name]);
    response.setHeader('Content-Type', JSON_TYPE);
    this.ours(response, route, record, state);
    response.statusCode = record.status;
    response.end(jsonBytes(record));
    return true;
  }

  /** X-Cache, Age, ETag and Vary, through `set` (a Node response's own, or the adapter's). */
  ours(response: { setHeader(name: string, value: string): unknown }, route: RoutePlan, record: HttpCacheRecord, state: CacheState): void {
    response.setHeader('X-Cache', state);
    response.setHeader('Age', String(Math.max(0, Math.floor((this.now() - record.at) / 1000))));
    response.setHeader('ETag', record.etag);
    if (route.varyHeader !== undefined) response.setHeader('Vary', mergeVary(headerText(record.headers.vary), route.varyHeader));
  }

  /**
   * On a miss Express answers with JSON: whether what is sent is the very value the interceptor handed on
   * (no interceptor outside it maps the value). Then the route's hits may be written directly.
   */
  learn(route: RoutePlan, response: HttpResponseLike, value: unknown): void {
    if (this.direct.has(route) || typeof value !== 'object' || value === null || !isNodeResponse(response)) return;
    const express = response as ServerResponse & { json?: (body: unknown) => unknown };
    const json = express.json;
    if (typeof json !== 'function') return;
    const direct = this.direct;
    express.json = function (this: unknown, body: unknown) {
      delete express.json;
      direct.set(route, body === value);
      return json.call(this, body);
    };
  }
}

/**
 * A Node response (Express); a Fastify reply is not one (its `raw` is). `instanceof`, not a look for
 * `raw`: a property missing on a response is looked up its whole prototype chain on every hit.
 */
export function isNodeResponse(response: HttpResponseLike): response is HttpResponseLike & ServerResponse {
  return response instanceof ServerResponse;
}
