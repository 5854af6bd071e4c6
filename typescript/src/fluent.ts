/** The tracing API: trace(), startSpan(), withSpan(), the current span, trace tags. */
import { context, trace as otelTrace, type Context, type Tracer } from "@opentelemetry/api";
import { SpanType, type SpanTypeName } from "./attributes";
import { currentProvider, init } from "./provider";
import { LiveSpan, SESSION_KEY, USER_KEY, addEndHook } from "./span";
import { sdkState } from "./state";

export interface SpanOptions {
  name: string;
  spanType?: SpanTypeName;
  inputs?: unknown;
  attributes?: Record<string, unknown>;
  /** the parent span (default: the current span, if any) */
  parent?: LiveSpan | null;
  /** start time in milliseconds since the epoch (default: now) */
  startTime?: number;
}

// the live span of an OpenTelemetry span, kept on it (cheaper than a WeakMap for the GC)
const LIVE = Symbol("llmledger.liveSpan");

addEndHook((span) => {
  if (span.root === span) sdkState().lastTraceId = span.traceId;
});

let warnedNoInit = false;

function tracer(): Tracer {
  let provider = currentProvider();
  if (provider) return provider.tracer;
  {
    if (process.env.LLMLEDGER_TRACKING_URI) init({});
    else {
      if (!warnedNoInit) {
        warnedNoInit = true;
        console.warn("llmledger: init() was not called and LLMLEDGER_TRACKING_URI is not set: spans are recorded but not exported");
      }
      init({ exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined } });
    }
    provider = currentProvider()!;
  }
  return provider.tracer;
}

/** The live span of the current context (set by trace() / withSpan()), or null. */
export function getCurrentActiveSpan(): LiveSpan | null {
  const otelSpan = otelTrace.getSpan(context.active());
  return (otelSpan && (otelSpan as unknown as Record<symbol, LiveSpan>)[LIVE]) || null;
}

/** Start a span (not made current; end it with span.end()). Never throws. */
export function startSpan(options: SpanOptions): LiveSpan {
  const parent = options.parent === undefined ? getCurrentActiveSpan() : options.parent;
  let ctx: Context = context.active();
  if (parent) ctx = otelTrace.setSpan(ctx, parent.otelSpan);
  else if (options.parent === null) ctx = otelTrace.deleteSpan(ctx);
  const remote = parent ? null : otelTrace.getSpanContext(ctx);
  const otelSpan = tracer().startSpan(options.name, options.startTime ? { startTime: options.startTime } : {}, ctx);
  const parentId = parent ? parent.spanId : (remote?.spanId ?? null);
  const span = new LiveSpan(otelSpan, options.name, parent, parentId, options.spanType ?? SpanType.UNKNOWN, options.startTime ?? Date.now());
  (otelSpan as unknown as Record<symbol, LiveSpan>)[LIVE] = span;
  if (options.inputs !== undefined) span.setInputs(options.inputs);
  if (options.attributes) span.setAttributes(options.attributes);
  return span;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return !!value && typeof (value as { then?: unknown }).then === "function";
}

/** Run `callback(span)` inside a new current span; the span ends when the callback returns
 * or its promise settles (ERROR, and the error rethrown unchanged, when it throws). */
export function withSpan<T>(callback: (span: LiveSpan) => T, options: SpanOptions): T {
  const span = startSpan(options);
  const ctx = otelTrace.setSpan(context.active(), span.otelSpan);
  let result: T;
  try {
    result = context.with(ctx, () => callback(span));
  } catch (error) {
    span.recordError(error);
    span.end();
    throw error;
  }
  if (isPromiseLike(result)) {
    return (result as unknown as PromiseLike<unknown>).then(
      (value) => {
        if (span.outputs === undefined && value !== undefined) span.setOutputs(value);
        span.end();
        return value;
      },
      (error) => {
        span.recordError(error);
        span.end();
        throw error;
      },
    ) as unknown as T;
  }
  if (span.outputs === undefined && result !== undefined) span.setOutputs(result);
  span.end();
  return result;
}

export interface TraceOptions {
  name?: string;
  spanType?: SpanTypeName;
  attributes?: Record<string, unknown>;
}

/** Parameter names of a plain function or arrow, when they can be read simply. */
function parameterNames(fn: Function): string[] | null {
  const text = Function.prototype.toString.call(fn);
  const m = /^(?:async\s+)?(?:function\b[^(]*)?\(([^)]*)\)/.exec(text) ?? /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(text);
  if (!m) return null;
  const names = m[1].split(",").map((p) => p.trim().replace(/\s*=.*$/, "")).filter(Boolean);
  return names.every((n) => /^[A-Za-z_$][\w$]*$/.test(n)) ? names : null;
}

/** Wrap a function (sync or async) so each call is a span: its arguments are the inputs
 * (by parameter name when readable), its return value the outputs. */
export function trace<A extends unknown[], R>(fn: (...args: A) => R, options: TraceOptions = {}): (...args: A) => R {
  const name = options.name ?? (fn.name || "function");
  const names = parameterNames(fn);
  const wrapped = function (this: unknown, ...args: A): R {
    let inputs: unknown = args;
    if (names && names.length >= args.length) {
      const named: Record<string, unknown> = {};
      for (let i = 0; i < args.length; i++) named[names[i]] = args[i];
      inputs = named;
    }
    return withSpan(() => fn.apply(this, args), {
      name,
      spanType: options.spanType ?? SpanType.UNKNOWN,
      inputs,
      attributes: options.attributes,
    });
  };
  Object.defineProperty(wrapped, "name", { value: name });
  return wrapped;
}

/** Add tags to the trace being recorded (search and the UI use them). `metadata` entries are
 * stored as tags too. Outside a trace: a warning, nothing else. */
export function updateCurrentTrace(update: {
  tags?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  user?: string;
  session?: string;
}): void {
  const span = getCurrentActiveSpan();
  if (!span) {
    console.warn("llmledger: updateCurrentTrace called outside a trace; ignored");
    return;
  }
  const root = span.root;
  const text = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value));
  root.traceTags = root.traceTags ?? {};
  for (const [key, value] of Object.entries(update.tags ?? {})) root.traceTags[String(key)] = text(value);
  // MLflow's trace metadata: write-once (a key already set keeps its first value); user and
  // session are its mlflow.trace.user / mlflow.trace.session entries, as in Python
  const metadata: Record<string, unknown> = { ...(update.metadata ?? {}) };
  if (update.user !== undefined) metadata[USER_KEY] = update.user;
  if (update.session !== undefined) metadata[SESSION_KEY] = update.session;
  root.traceMetadata = root.traceMetadata ?? {};
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined || value === null || key in root.traceMetadata) continue;
    root.traceMetadata[String(key)] = text(value);
  }
}

/** The id (tr-<32 hex>) of the last trace whose local root span ended, or null. */
export function getLastActiveTraceId(): string | null {
  return sdkState().lastTraceId;
}
