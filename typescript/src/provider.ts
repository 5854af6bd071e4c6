/** init(): one OpenTelemetry tracer provider exporting OTLP/HTTP (protobuf) to the tracking
 * server's /v1/traces, with the experiment in the x-llmledger-experiment-id header. */
import { context, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { TracerProvider, type SpanExporter } from "@opentelemetry/sdk-trace";
import { LedgerSpanProcessor, type ExportStats, type QueueOptions } from "./processor";
import { sdkState } from "./state";

export interface InitOptions extends QueueOptions {
  /** the llmledger server, e.g. http://127.0.0.1:5000 (else LLMLEDGER_TRACKING_URI) */
  trackingUri?: string;
  /** experiment id (digits; else LLMLEDGER_EXPERIMENT_ID, else "0") */
  experimentId?: string;
  /** send to another OTLP/HTTP endpoint (full URL of its traces path) instead */
  otlpEndpoint?: string;
  /** extra HTTP headers on every export (e.g. Authorization) */
  headers?: Record<string, string>;
  /** the resource's service.name (else OTEL_SERVICE_NAME, else "llmledger-typescript") */
  serviceName?: string;
  /** any OpenTelemetry span exporter (tests, other backends); replaces the OTLP one */
  exporter?: SpanExporter;
  /** how long one export may take before it counts as failed (ms, default 10000) */
  exportTimeoutMillis?: number;
  /** put the computed cost on exported spans as llmledger.llm.cost (default: only when
   * exporting to otlpEndpoint, a backend that cannot price; an llmledger server prices
   * spans itself and keeps the full breakdown) */
  exportComputedCost?: boolean;
}

export class BasicTracerProvider {
  readonly tracer: Tracer;

  constructor(
    readonly provider: TracerProvider,
    readonly processor: LedgerSpanProcessor,
    readonly trackingUri: string | null,
    readonly exportComputedCost: boolean,
  ) {
    this.tracer = provider.getTracer("llmledger");
  }
}

let contextManagerSet = false;

function ensureContextManager(): void {
  if (contextManagerSet) return;
  contextManagerSet = true;
  // AsyncLocalStorage: concurrent requests in one process keep their own current span.
  // If the application registered a context manager already, that one stays.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** The server's optional bearer token (LLMLEDGER_TRACKING_TOKEN, as for the Python SDK). */
export function authHeader(): Record<string, string> {
  const token = process.env.LLMLEDGER_TRACKING_TOKEN;
  return token ? { authorization: `Bearer ${token}` } : {};
}

function trimSlash(uri: string): string {
  return uri.replace(/\/+$/, "");
}

export function init(options: InitOptions = {}): void {
  const trackingUri = options.trackingUri ?? process.env.LLMLEDGER_TRACKING_URI ?? null;
  const experimentId = String(options.experimentId ?? process.env.LLMLEDGER_EXPERIMENT_ID ?? "0");
  if (!/^\d+$/.test(experimentId)) {
    throw new Error(`llmledger.init: experimentId must be digits, got ${JSON.stringify(experimentId)}`);
  }
  if (trackingUri !== null && !/^https?:\/\//i.test(trackingUri)) {
    throw new Error(`llmledger.init: trackingUri must be an http(s) URL of an llmledger server, got ${JSON.stringify(trackingUri)}`);
  }
  let exporter = options.exporter;
  if (!exporter) {
    const url = options.otlpEndpoint ?? (trackingUri ? `${trimSlash(trackingUri)}/v1/traces` : null);
    if (!url) {
      throw new Error("llmledger.init: pass trackingUri (or set LLMLEDGER_TRACKING_URI), otlpEndpoint or exporter");
    }
    exporter = new OTLPTraceExporter({
      url,
      headers: { "x-llmledger-experiment-id": experimentId, ...authHeader(), ...(options.headers ?? {}) },
      timeoutMillis: options.exportTimeoutMillis ?? 10_000,
    });
  }
  ensureContextManager();
  const state = sdkState();
  const previous = state.provider;
  const processor = new LedgerSpanProcessor(exporter, options);
  const serviceName = options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? "llmledger-typescript";
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [processor],
  });
  const exportCost = options.exportComputedCost ?? (options.otlpEndpoint !== undefined && !options.exporter);
  state.provider = new BasicTracerProvider(provider, processor, trackingUri ? trimSlash(trackingUri) : null, exportCost);
  if (previous) void previous.processor.shutdown().catch(() => undefined);
  installExitFlush();
}

let exitHookInstalled = false;

/** Spans still queued when the event loop empties are sent before the process exits. */
function installExitFlush(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("beforeExit", () => {
    const current = sdkState().provider;
    if (current && current.processor.stats.queued > 0) void current.processor.forceFlush();
  });
}

export function currentProvider(): BasicTracerProvider | null {
  return sdkState().provider;
}

/** Wait until every finished span has been delivered (or counted as dropped). Never throws. */
export async function flushTraces(): Promise<void> {
  const current = sdkState().provider;
  if (!current) return;
  try {
    await current.processor.forceFlush();
  } catch {
    // delivery failures are counted in exportStats(); user code never sees them
  }
}

/** Counters of the export path: exported, dropped (queue full or export failed), queued. */
export function exportStats(): ExportStats {
  const current = sdkState().provider;
  return current ? { ...current.processor.stats } : { exported: 0, dropped: 0, queued: 0 };
}
