/** LlmledgerClient: read traces back from the tracking server's REST API. */
import { ALIASES } from "./attributes";
import type { CostDict } from "./pricing/cost";
import { authHeader } from "./provider";
import type { TokenUsage } from "./usage";

export interface TraceInfo {
  traceId: string;
  experimentId: string;
  name: string | null;
  status: string;
  timestampMs: number;
  executionTimeMs: number | null;
  tags: Record<string, string>;
  /** MLflow's trace metadata (updateCurrentTrace({metadata, user, session})) */
  traceMetadata: Record<string, string>;
  /** the trace's user and session (mlflow.trace.user / mlflow.trace.session), or null */
  user: string | null;
  session: string | null;
  /** the trace's usage, counted once per LLM call; undefined when no span has usage */
  tokenUsage: TokenUsage | undefined;
  /** the trace's cost in USD ({input_cost, output_cost, total_cost}); undefined when unknown */
  cost: CostDict | undefined;
  /** the server's record as it came (snake_case keys) */
  raw: Record<string, unknown>;
}

export interface TraceSpan {
  name: string;
  spanId: string;
  parentId: string | null;
  traceId: string;
  spanType: string;
  status: string;
  startTimeNs: number;
  endTimeNs: number | null;
  /** attributes under llmledger.* keys; mlflow.* aliases read the same values */
  attributes: Record<string, unknown>;
  inputs: unknown;
  outputs: unknown;
  /** the span's own usage and cost (undefined when it has none) */
  tokenUsage: TokenUsage | undefined;
  llmCost: CostDict | undefined;
  /** whether the trace totals count this span */
  counted: boolean;
}

export interface Trace {
  info: TraceInfo;
  data: { spans: TraceSpan[] };
}

export interface SearchOptions {
  experimentIds?: string[];
  model?: string;
  status?: "OK" | "ERROR" | "IN_PROGRESS";
  tags?: Record<string, string>;
  name?: string;
  minCost?: number;
  maxCost?: number;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  includeSpans?: boolean;
}

const REVERSE_ALIASES = ALIASES; // mlflow.* -> llmledger.*

/** Attributes where mlflow.* keys read their llmledger.* values (as the seed's code reads them). */
function aliased(attrs: Record<string, unknown>): Record<string, unknown> {
  return new Proxy(attrs, {
    get(target, key) {
      if (typeof key === "string" && !(key in target) && key in REVERSE_ALIASES) return target[REVERSE_ALIASES[key]];
      return (target as Record<string | symbol, unknown>)[key];
    },
    has(target, key) {
      return key in target || (typeof key === "string" && key in REVERSE_ALIASES && REVERSE_ALIASES[key] in target);
    },
  });
}

function costDict(value: unknown): CostDict | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, number>;
  return { input_cost: v.input_cost, output_cost: v.output_cost, total_cost: v.total_cost };
}

function toInfo(raw: Record<string, unknown>): TraceInfo {
  return {
    traceId: raw.trace_id as string,
    experimentId: String(raw.experiment_id ?? ""),
    name: (raw.name as string) ?? null,
    status: raw.status as string,
    timestampMs: raw.timestamp_ms as number,
    executionTimeMs: (raw.execution_time_ms as number) ?? null,
    tags: (raw.tags as Record<string, string>) ?? {},
    traceMetadata: (raw.trace_metadata as Record<string, string>) ?? {},
    user: (raw.user as string) ?? null,
    session: (raw.session as string) ?? null,
    tokenUsage: (raw.token_usage as TokenUsage) ?? undefined,
    cost: costDict(raw.cost),
    raw,
  };
}

function toSpan(raw: Record<string, unknown>): TraceSpan {
  const attrs = (raw.attributes as Record<string, unknown>) ?? {};
  return {
    name: raw.name as string,
    spanId: raw.span_id as string,
    parentId: (raw.parent_id as string) ?? null,
    traceId: raw.trace_id as string,
    spanType: raw.span_type as string,
    status: raw.status as string,
    startTimeNs: raw.start_time_ns as number,
    endTimeNs: (raw.end_time_ns as number) ?? null,
    attributes: aliased(attrs),
    inputs: attrs["llmledger.spanInputs"],
    outputs: attrs["llmledger.spanOutputs"],
    tokenUsage: (attrs["llmledger.chat.tokenUsage"] as TokenUsage) ?? undefined,
    llmCost: costDict(attrs["llmledger.llm.cost"]),
    counted: Boolean(raw.counted),
  };
}

export class LlmledgerClient {
  readonly trackingUri: string;
  private readonly headers: Record<string, string>;

  constructor(options: { trackingUri?: string; headers?: Record<string, string> } = {}) {
    const uri = options.trackingUri ?? process.env.LLMLEDGER_TRACKING_URI;
    if (!uri || !/^https?:\/\//i.test(uri)) {
      throw new Error(`LlmledgerClient: trackingUri must be an http(s) URL, got ${JSON.stringify(uri)}`);
    }
    this.trackingUri = uri.replace(/\/+$/, "");
    this.headers = { ...authHeader(), ...(options.headers ?? {}) };
  }

  private async get(path: string): Promise<Record<string, unknown> | null> {
    const response = await fetch(this.trackingUri + path, { headers: this.headers });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`llmledger server ${response.status}: ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  }

  /** The trace with this id (tr-...), or null when the server does not have it. */
  async getTrace(traceId: string): Promise<Trace | null> {
    const record = await this.get(`/api/traces/${encodeURIComponent(traceId)}`);
    if (!record) return null;
    const spans = ((record.spans as Record<string, unknown>[]) ?? []).map(toSpan);
    return { info: toInfo(record.info as Record<string, unknown>), data: { spans } };
  }

  /** Traces matching the filters, newest first unless orderBy says otherwise. */
  async searchTraces(options: SearchOptions = {}): Promise<{ traces: Trace[]; nextPageToken: string | null }> {
    const q = new URLSearchParams();
    for (const id of options.experimentIds ?? []) q.append("experiment_id", id);
    if (options.model) q.set("model", options.model);
    if (options.status) q.set("status", options.status);
    if (options.name) q.set("name", options.name);
    if (options.minCost !== undefined) q.set("min_cost", String(options.minCost));
    if (options.maxCost !== undefined) q.set("max_cost", String(options.maxCost));
    for (const [k, v] of Object.entries(options.tags ?? {})) q.append("tag", `${k}:${v}`);
    for (const o of options.orderBy ?? []) q.append("order_by", o);
    if (options.maxResults) q.set("max_results", String(options.maxResults));
    if (options.pageToken) q.set("page_token", options.pageToken);
    if (options.includeSpans) q.set("include_spans", "true");
    const body = (await this.get(`/api/traces?${q}`)) ?? { traces: [] };
    const traces = (body.traces as Record<string, unknown>[]).map((t) =>
      options.includeSpans
        ? { info: toInfo(t.info as Record<string, unknown>), data: { spans: ((t.spans as Record<string, unknown>[]) ?? []).map(toSpan) } }
        : { info: toInfo(t), data: { spans: [] } },
    );
    return { traces, nextPageToken: (body.next_page_token as string) ?? null };
  }
}
