/** The export path: spans queue in memory (bounded) and leave in batches from a timer,
 * never on the caller's path. A span that does not fit in the queue, or whose export fails
 * (server down, 4xx), is dropped and counted; the first drop of each kind is logged once. */
import type { Context } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace";

export interface ExportStats {
  /** spans delivered to the exporter's endpoint */
  exported: number;
  /** spans lost: queue full or export failed */
  dropped: number;
  /** spans waiting in the queue */
  queued: number;
}

export interface QueueOptions {
  maxQueueSize?: number;
  maxBatchSize?: number;
  scheduledDelayMillis?: number;
}

export class LedgerSpanProcessor implements SpanProcessor {
  private queue: ReadableSpan[] = [];
  private inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private warned = new Set<string>();
  private readonly maxQueueSize: number;
  private readonly maxBatchSize: number;
  private readonly delay: number;
  readonly stats: ExportStats = { exported: 0, dropped: 0, queued: 0 };

  constructor(
    private readonly exporter: SpanExporter,
    options: QueueOptions = {},
  ) {
    this.maxQueueSize = options.maxQueueSize ?? 2048;
    this.maxBatchSize = options.maxBatchSize ?? 512;
    this.delay = options.scheduledDelayMillis ?? 500;
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.queue.length >= this.maxQueueSize) {
      this.stats.dropped += 1;
      this.warnOnce("queue", `llmledger: export queue full (${this.maxQueueSize} spans); spans are dropped and counted`);
      return;
    }
    this.queue.push(span);
    this.stats.queued = this.queue.length;
    if (this.queue.length >= this.maxBatchSize) this.sendAll();
    else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.sendAll();
      }, this.delay);
      this.timer.unref();
    }
  }

  /** Send everything queued and wait until every export in flight has finished. */
  async forceFlush(): Promise<void> {
    this.sendAll();
    while (this.inflight.size > 0) {
      await Promise.all([...this.inflight]);
      this.sendAll();
    }
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    await this.exporter.shutdown().catch(() => undefined);
  }

  private sendAll(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatchSize);
      const sending = this.send(batch);
      this.inflight.add(sending);
      void sending.finally(() => this.inflight.delete(sending));
    }
    this.stats.queued = 0;
  }

  private send(batch: ReadableSpan[]): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (result: ExportResult) => {
        if (result.code === ExportResultCode.SUCCESS) this.stats.exported += batch.length;
        else {
          this.stats.dropped += batch.length;
          this.warnOnce("export", `llmledger: could not export spans (${result.error?.message ?? "unknown error"}); they are dropped and counted`);
        }
        resolve();
      };
      try {
        this.exporter.export(batch, done);
      } catch (error) {
        done({ code: ExportResultCode.FAILED, error: error as Error });
      }
    });
  }

  private warnOnce(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    console.warn(message);
  }
}
