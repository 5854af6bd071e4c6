/** Shared wrapping for client-library autolog: one span per call, ended when the response
 * arrives or the stream is consumed; errors end it ERROR and reach the caller unchanged. */
import { checkBudgets } from "../budgets";
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
  /** `params`: the call's request (e.g. the text of a speech call, an image's size) */
  response(span: LiveSpan, value: unknown, params: Record<string, unknown>): void;
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

/** The SDK's promise for a call sent once `verdict` allows it: awaiting it gives the call's
 * result (or the refusal); its own helpers (`withResponse()`, `asResponse()`, ...) are kept,
 * each waiting for the verdict first. */
function afterVerdict(verdict: Promise<Error | null>, span: LiveSpan | null, send: () => unknown): unknown {
  let sent: unknown;
  const gate = verdict.then((error) => {
    if (error) {
      if (span) endError(span, error);
      throw error;
    }
    sent = send();
  });
  const result = gate.then(() => sent);
  result.catch(() => undefined); // a caller using only withResponse() leaves no unhandled rejection
  return new Proxy(result, {
    get(target, key) {
      if (key === "then" || key === "catch" || key === "finally") return Reflect.get(target, key).bind(target);
      return (...args: unknown[]) =>
        gate.then(() => {
          const method = (sent as Record<string | symbol, unknown> | null)?.[key];
          if (typeof method !== "function") throw new TypeError(`${String(key)} is not a function of the call's result`);
          return method.apply(sent, args);
        });
    },
  });
}

/** Replace `resource[method]` (on the instance) by a traced version: a span per call, and
 * the budgets in scope checked first (a refused call is not sent: its span ends ERROR and
 * the returned promise rejects with the BudgetExceeded). */
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
    const send = () => sendTraced(original, this, args, params, span, recorder);
    const verdict = checkBudgets(span);
    if (verdict === null) return send();
    // refused now, or once a window's spend is read: the SDK-shaped promise rejects
    return afterVerdict(verdict instanceof Error ? Promise.resolve(verdict) : verdict, span, send);
  };
  (traced as unknown as Record<symbol, boolean>)[WRAPPED] = true;
  resource[method] = traced;
}

/** Call the client's method; the span ends with the response, the stream or the error. */
function sendTraced(
  original: AnyFn,
  self: unknown,
  args: unknown[],
  params: Record<string, unknown>,
  span: LiveSpan | null,
  recorder: CallRecorder,
): unknown {
  let result: unknown;
  try {
    result = original.apply(self, args);
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
      quietly(() => recorder.response(live, value, params));
      endOk(live);
    },
    (error: unknown) => endError(live, error),
  );
  return result;
}
