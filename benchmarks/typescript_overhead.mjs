// Per-span overhead of the TypeScript SDK's trace() with token usage, against a bare
// OpenTelemetry JS span doing the same work, in the same process (issue 13, scope 9).
//
//   cd typescript && npm ci && npm run build && cd .. && node benchmarks/typescript_overhead.mjs
//
// Both sides: a span around an async function that sets the usage of one LLM call, ended,
// and handed to the same kind of batching processor with an exporter that discards (no
// network: this measures what the caller's code pays). Contenders alternate in rounds so they
// share the machine's noise; the median round is reported, in microseconds per span.
import { createRequire } from "node:module";
import * as llmledger from "../typescript/dist/index.mjs";

// the SDK's own copies of the OpenTelemetry packages (typescript/node_modules)
const require = createRequire(new URL("../typescript/package.json", import.meta.url));
const { context, trace: otelTrace } = require("@opentelemetry/api");
const { AsyncLocalStorageContextManager } = require("@opentelemetry/context-async-hooks");
const { BatchSpanProcessor, TracerProvider } = require("@opentelemetry/sdk-trace");

const SPANS = Number(process.env.SPANS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const discard = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };

llmledger.init({ exporter: discard, maxQueueSize: 4096 });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()); // no-op if set
const bare = new TracerProvider({ spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 4096 })] }).getTracer("bare");
const usage = { input_tokens: 84, output_tokens: 22, total_tokens: 106 };

const withLlmledger = llmledger.trace(
  async (q) => {
    const span = llmledger.getCurrentActiveSpan();
    span.setAttribute("llmledger.chat.tokenUsage", usage);
    span.setAttribute("llmledger.llm.model", "gpt-4o-mini");
    return q;
  },
  { name: "call", spanType: "LLM" },
);

async function withBareOtel(q) {
  return bare.startActiveSpan("call", async (span) => {
    try {
      const current = otelTrace.getSpan(context.active());
      current.setAttribute("gen_ai.usage.input_tokens", usage.input_tokens);
      current.setAttribute("gen_ai.usage.output_tokens", usage.output_tokens);
      current.setAttribute("gen_ai.request.model", "gpt-4o-mini");
      current.setAttribute("input.value", JSON.stringify({ q }));
      current.setAttribute("output.value", JSON.stringify(q));
      return q;
    } finally {
      span.end();
    }
  });
}

async function timeOf(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < SPANS; i++) await fn("hi");
  return Number(process.hrtime.bigint() - start) / 1000 / SPANS; // us per span
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await timeOf(withLlmledger); // warm-up
await timeOf(withBareOtel);
const ours = [];
const theirs = [];
for (let r = 0; r < ROUNDS; r++) {
  ours.push(await timeOf(withLlmledger));
  theirs.push(await timeOf(withBareOtel));
  await llmledger.flushTraces();
}
const result = {
  spans_per_round: SPANS,
  rounds: ROUNDS,
  llmledger_us: +median(ours).toFixed(2),
  bare_otel_us: +median(theirs).toFixed(2),
  ratio: +(median(ours) / median(theirs)).toFixed(2),
  dropped: llmledger.exportStats().dropped,
};
console.log(JSON.stringify(result));
