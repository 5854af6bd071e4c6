/** W3C trace context in and out of HTTP requests, so one trace spans several services. */
import { context, defaultTextMapGetter, defaultTextMapSetter, trace as otelTrace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

const propagator = new W3CTraceContextPropagator();

/** `{traceparent}` (and `tracestate`) for the current span, to send with an outgoing HTTP
 * request; `{}` outside a span. */
export function getTracingContextHeadersForHttpRequest(): Record<string, string> {
  const headers: Record<string, string> = {};
  if (otelTrace.getSpan(context.active())) propagator.inject(context.active(), headers, defaultTextMapSetter);
  return headers;
}

type Headers = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function plainHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof (headers as { get?: unknown }).get === "function") {
    for (const name of ["traceparent", "tracestate"]) {
      const value = (headers as { get(name: string): string | null }).get(name);
      if (value) out[name] = value;
    }
    return out;
  }
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  return out;
}

/** Run `fn` in the trace context of an incoming request (its `traceparent` header): spans
 * started inside join the caller's trace as children of its span. Without a valid header,
 * `fn` runs as it would have (new traces). Works with Node's `req.headers` and fetch Headers. */
export function withTracingContext<T>(headers: Headers, fn: () => T): T {
  let ctx = context.active();
  try {
    ctx = propagator.extract(ctx, plainHeaders(headers), defaultTextMapGetter);
  } catch {
    // a malformed header is ignored
  }
  return context.with(ctx, fn);
}
