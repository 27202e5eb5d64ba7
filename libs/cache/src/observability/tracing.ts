import { type Span, SpanKind, SpanStatusCode, type Tracer, ProxyTracerProvider, trace } from '@opentelemetry/api';

const TRACER_NAME = '@strata/cache';

/**
 * OpenTelemetry spans around Redis calls and factory runs, through `@opentelemetry/api` only. Until the
 * app registers a tracer provider there is no tracer, and `tracer()` answers undefined after a global
 * lookup: the engine then calls Redis directly, with no span objects and no context switch.
 */
export class CacheTracing {
  private found: Tracer | undefined;

  constructor(private readonly enabled = true) {}

  /** The tracer of the app's registered provider, or undefined when there is none. */
  tracer(): Tracer | undefined {
    if (this.found !== undefined || !this.enabled) return this.found;
    const provider = trace.getTracerProvider();
    // The API's proxy answers a no-op tracer when nothing is registered; ask it for the real one.
    const tracer = provider instanceof ProxyTracerProvider ? provider.getDelegateTracer(TRACER_NAME) : provider.getTracer(TRACER_NAME);
    if (tracer !== undefined) this.found = tracer;
    return tracer;
  }

  /** Runs `fn` inside an active span (so spans the factory opens nest under it), ending it with the outcome. */
  span<T>(tracer: Tracer, name: string, attributes: Record<string, string | number>, fn: () => Promise<T> | T): Promise<T> {
    return tracer.startActiveSpan(name, { kind: name.startsWith('strata.l2') ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes }, async (span: Span) => {
      try {
        return await fn();
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}
