import type { Span, Tracer } from '@opentelemetry/api';
import { findPeer } from '../core/optional-peer';

const TRACER_NAME = '@strata/cache';
// The values of the API's SpanKind.CLIENT / INTERNAL and SpanStatusCode.ERROR enums, part of its stable 1.x contract.
const SPAN_KIND_INTERNAL = 0;
const SPAN_KIND_CLIENT = 2;
const SPAN_STATUS_ERROR = 2;

type OtelApi = typeof import('@opentelemetry/api');

/**
 * OpenTelemetry spans around Redis calls and factory runs, through `@opentelemetry/api` only. Until the
 * app registers a tracer provider there is no tracer, and `tracer()` answers undefined after a global
 * lookup: the engine then calls Redis directly, with no span objects and no context switch. Without
 * `@opentelemetry/api` installed no provider can be registered, so there is no tracing and nothing loads.
 */
export class CacheTracing {
  private found: Tracer | undefined;
  private api: OtelApi | null | undefined;

  constructor(private readonly enabled = true) {}

  /** The tracer of the app's registered provider, or undefined when there is none. */
  tracer(): Tracer | undefined {
    if (this.found !== undefined || !this.enabled) return this.found;
    if (this.api === undefined) this.api = findPeer<OtelApi>('@opentelemetry/api') ?? null;
    if (this.api === null) return undefined;
    const provider = this.api.trace.getTracerProvider();
    // The API's proxy answers a no-op tracer when nothing is registered; ask it for the real one.
    const tracer = provider instanceof this.api.ProxyTracerProvider ? provider.getDelegateTracer(TRACER_NAME) : provider.getTracer(TRACER_NAME);
    if (tracer !== undefined) this.found = tracer;
    return tracer;
  }

  /** Runs `fn` inside an active span (so spans the factory opens nest under it), ending it with the outcome. */
  span<T>(tracer: Tracer, name: string, attributes: Record<string, string | number>, fn: () => Promise<T> | T): Promise<T> {
    return tracer.startActiveSpan(name, { kind: name.startsWith('strata.l2') ? SPAN_KIND_CLIENT : SPAN_KIND_INTERNAL, attributes }, async (span: Span) => {
      try {
        return await fn();
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SPAN_STATUS_ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}
