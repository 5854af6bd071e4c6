/** A live span: an OpenTelemetry span plus the attribute values as the user set them (so
 * they read back as objects), its type, inputs and outputs, and its usage and cost. */
import { SpanStatusCode, type Span as OtelSpan } from "@opentelemetry/api";
import { SpanAttributeKey as K, canonicalKey, type SpanTypeName } from "./attributes";
import { encodeAttribute, safeJson } from "./encode";
import { userPricesMayApply } from "./pricing/catalog";
import { costOfAttributes, type CostDict } from "./pricing/cost";
import { sdkState } from "./state";
import { canonicalUsage, type TokenUsage } from "./usage";

export type SpanStatus = "OK" | "ERROR" | "UNSET";

export interface EndOptions {
  outputs?: unknown;
  attributes?: Record<string, unknown>;
  status?: SpanStatus | { code: SpanStatus; message?: string };
  /** end time in milliseconds since the epoch (default: now) */
  endTime?: number;
}

export class LiveSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly root: LiveSpan;
  private readonly attrs: Record<string, unknown> = {};
  private isEnded = false;
  private statusCode: SpanStatus = "UNSET";
  /** trace tags set by updateCurrentTrace (kept on the local root) */
  traceTags: Record<string, string> | null = null;
  /** trace metadata set by updateCurrentTrace (write-once per key; user and session) */
  traceMetadata: Record<string, string> | null = null;

  constructor(
    readonly otelSpan: OtelSpan,
    readonly name: string,
    readonly parent: LiveSpan | null,
    readonly parentId: string | null,
    spanType: SpanTypeName,
    /** start time, ms since the epoch: prices in force then price the span */
    private readonly startTimeMs: number = Date.now(),
  ) {
    const ctx = otelSpan.spanContext();
    this.traceId = `tr-${ctx.traceId}`;
    this.spanId = ctx.spanId;
    this.root = parent ? parent.root : this;
    this.attrs[K.SPAN_TYPE] = spanType;
    otelSpan.setAttribute(K.SPAN_TYPE, String(spanType));
  }

  get spanType(): string {
    return String(this.attrs[K.SPAN_TYPE] ?? "UNKNOWN");
  }

  get ended(): boolean {
    return this.isEnded;
  }

  get status(): SpanStatus {
    return this.statusCode;
  }

  /** Set one attribute (mlflow.* keys are accepted as aliases of llmledger.* ones). Never throws. */
  setAttribute(key: string, value: unknown): this {
    try {
      const own = canonicalKey(key);
      this.attrs[own] = value;
      const encoded = encodeAttribute(own, value);
      if (encoded !== undefined) this.otelSpan.setAttribute(own, encoded);
    } catch (error) {
      console.warn(`llmledger: attribute ${key} not set: ${(error as Error).message}`);
    }
    return this;
  }

  setAttributes(attributes: Record<string, unknown>): this {
    for (const [key, value] of Object.entries(attributes ?? {})) this.setAttribute(key, value);
    return this;
  }

  getAttribute(key: string): unknown {
    return this.attrs[canonicalKey(key)];
  }

  get attributes(): Record<string, unknown> {
    return { ...this.attrs };
  }

  setInputs(inputs: unknown): this {
    return this.setAttribute(K.INPUTS, inputs);
  }

  setOutputs(outputs: unknown): this {
    return this.setAttribute(K.OUTPUTS, outputs);
  }

  get inputs(): unknown {
    return this.attrs[K.INPUTS];
  }

  get outputs(): unknown {
    return this.attrs[K.OUTPUTS];
  }

  setStatus(code: SpanStatus, message?: string): this {
    this.statusCode = code;
    const otelCode = code === "ERROR" ? SpanStatusCode.ERROR : code === "OK" ? SpanStatusCode.OK : SpanStatusCode.UNSET;
    this.otelSpan.setStatus(message ? { code: otelCode, message } : { code: otelCode });
    return this;
  }

  /** Mark the span ERROR with the error's message and record it as an exception event. */
  recordError(error: unknown): this {
    try {
      const err = error instanceof Error ? error : new Error(safeJson(error));
      this.otelSpan.recordException(err);
      this.setStatus("ERROR", `${err.name}: ${err.message}`);
    } catch {
      this.setStatus("ERROR");
    }
    return this;
  }

  /** The span's token usage in the canonical shape, or undefined when it has none. */
  get tokenUsage(): TokenUsage | undefined {
    return canonicalUsage(this.attrs[K.TOKEN_USAGE]);
  }

  /** The span's cost in USD: set by hand, else computed from usage, model and the bundled
   * catalog (exact decimal arithmetic). undefined without usage or a known model. */
  get llmCost(): CostDict | undefined {
    return costOfAttributes(this.attrs, this.startTimeMs);
  }


  end(options: EndOptions = {}): void {
    if (this.isEnded) return;
    try {
      if (options.attributes) this.setAttributes(options.attributes);
      if (options.outputs !== undefined) this.setOutputs(options.outputs);
      const status = options.status;
      if (typeof status === "string") this.setStatus(status);
      else if (status) this.setStatus(status.code, status.message);
      else if (this.statusCode === "UNSET") this.statusCode = "OK"; // exported as UNSET: stored as OK
      const exportAll = sdkState().provider?.exportComputedCost;
      if (this.attrs[K.COST] === undefined && (exportAll || userPricesMayApply())) {
        // the server prices spans itself, but cannot know this process's own prices
        // (setPrice, an overrides file, Azure deployment names): those costs travel along
        const cost = this.llmCost;
        if (cost && (exportAll || pricedByUser(cost))) this.otelSpan.setAttribute(K.COST, safeJson(cost));
      }
      if (this.root === this && this.traceTags) {
        this.otelSpan.setAttribute(TRACE_TAGS_KEY, safeJson(this.traceTags));
      }
      if (this.root === this && this.traceMetadata) {
        this.otelSpan.setAttribute(TRACE_METADATA_KEY, safeJson(this.traceMetadata));
      }
    } finally {
      this.isEnded = true;
      this.otelSpan.end(options.endTime);
      onSpanEnd(this);
    }
  }
}

function pricedByUser(cost: CostDict): boolean {
  const rule = (cost as { price?: { matched_by?: string } }).price?.matched_by ?? "";
  return rule.startsWith("override") || rule.startsWith("azure_deployment");
}

/** Trace tags travel on the local root span; the server moves them to the trace. */
export const TRACE_TAGS_KEY = "llmledger.traceTags";
/** MLflow's trace metadata on the root span (as the Python SDK sends it): the server reads
 * the trace's user (`mlflow.trace.user`) and session (`mlflow.trace.session`) from it */
export const TRACE_METADATA_KEY = "llmledger.trace.metadata";
export const USER_KEY = "mlflow.trace.user";
export const SESSION_KEY = "mlflow.trace.session";

type EndHook = (span: LiveSpan) => void;
const endHooks: EndHook[] = [];

/** Call `hook` with every span as it ends (after the OpenTelemetry span ended). */
export function addEndHook(hook: EndHook): void {
  endHooks.push(hook);
}

function onSpanEnd(span: LiveSpan): void {
  for (const hook of endHooks) hook(span);
}
