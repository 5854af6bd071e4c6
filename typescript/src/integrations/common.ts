/** Shared wrapping for client-library autolog: one span per call, ended when the response
 * arrives or the stream is consumed; errors end it ERROR and reach the caller unchanged. */
import { startSpan } from "../fluent";
import type { LiveSpan } from "../span";

export interface CallDescription {
  name: string;
  spanType: string;
  attributes: Record<string, unknown>;
}

/** Records what a stream yields; `finish` settles the span's attributes from it. */
export interface StreamRecorder {
  add(item: unknown): void;
  finish(span: LiveSpan): void;
}

export interface CallRecorder {
  response(span: LiveSpan, value: unknown): void;
  stream(): StreamRecorder;
}

const WRAPPED = Symbol.for("llmledger.wrapped");

type AnyFn = (...args: unknown[]) => unknown;

function quietly(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    console.warn(`llmledger: could not record an LLM call: ${(error as Error).message}`);
  }
}

/** A plain JSON copy of a request or response (SDK objects, without functions). */
export function plain(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value ?? null));
  } catch {
    return String(value);
  }
}

function endOk(span: LiveSpan): void {
  if (!span.ended) span.end();
}

function endError(span: LiveSpan, error: unknown): void {
  if (span.ended) return;
  span.recordError(error);
  span.end();
}

/** The stream, iterated through a recorder; the span ends when iteration ends (exhausted,
 * failed or stopped early). Everything else is the SDK's own stream object. */
function recordedStream(stream: object, span: LiveSpan, recorder: StreamRecorder): object {
  const iterate = (target: object) => {
    const inner = (target as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const done = () => {
      quietly(() => recorder.finish(span));
      endOk(span);
    };
    return {
      async next(...args: [] | [unknown]) {
        let step: IteratorResult<unknown>;
        try {
          step = await inner.next(...args);
        } catch (error) {
          quietly(() => recorder.finish(span));
          endError(span, error);
          throw error;
        }
        if (step.done) done();
        else quietly(() => recorder.add(step.value));
        return step;
      },
      async return(value?: unknown) {
        done();
        return inner.return ? inner.return(value) : { done: true as const, value };
      },
      async throw(error?: unknown) {
        endError(span, error);
        if (inner.throw) return inner.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  };
  return new Proxy(stream, {
    get(target, key) {
      if (key === Symbol.asyncIterator) return () => iterate(target);
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Replace `resource[method]` (on the instance) by a traced version. */
export function wrapMethod(
  resource: Record<string, unknown> | undefined,
  method: string,
  describe: (params: Record<string, unknown>) => CallDescription,
  recorder: CallRecorder,
): void {
  const original = resource?.[method] as (AnyFn & { [WRAPPED]?: boolean }) | undefined;
  if (!resource || typeof original !== "function" || original[WRAPPED]) return;
  const traced = function (this: unknown, ...args: unknown[]): unknown {
    const params = (args[0] ?? {}) as Record<string, unknown>;
    let span: LiveSpan | null = null;
    try {
      const call = describe(params);
      span = startSpan({ name: call.name, spanType: call.spanType, inputs: plain(params), attributes: call.attributes });
    } catch (error) {
      console.warn(`llmledger: span not started: ${(error as Error).message}`);
    }
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (error) {
      if (span) endError(span, error);
      throw error;
    }
    if (!span || !result || typeof (result as PromiseLike<unknown>).then !== "function") return result;
    const live = span;
    const promise = result as Promise<unknown> & { _thenUnwrap?: (f: (v: unknown) => unknown) => unknown };
    if (params.stream) {
      const wrap = (stream: unknown) =>
        stream && typeof stream === "object" && Symbol.asyncIterator in stream
          ? recordedStream(stream, live, recorder.stream())
          : stream;
      // _thenUnwrap keeps the SDK's promise type (withResponse() etc.) around the new value
      const out = (typeof promise._thenUnwrap === "function" ? promise._thenUnwrap(wrap) : promise.then(wrap)) as Promise<unknown>;
      out.then(undefined, (error: unknown) => endError(live, error));
      return out;
    }
    promise.then(
      (value: unknown) => {
        quietly(() => recorder.response(live, value));
        endOk(live);
      },
      (error: unknown) => endError(live, error),
    );
    return result;
  };
  (traced as unknown as Record<symbol, boolean>)[WRAPPED] = true;
  resource[method] = traced;
}
