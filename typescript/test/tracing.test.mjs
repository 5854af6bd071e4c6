// The tracing API against an in-memory OpenTelemetry exporter (no server needed).
import assert from "node:assert/strict";
import { test } from "node:test";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import * as llmledger from "../dist/index.mjs";

const exporter = new InMemorySpanExporter();
llmledger.init({ exporter, scheduledDelayMillis: 10 });

function exported(name) {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

test("trace() records inputs, outputs, usage under the own keys; mlflow.* keys are aliases", async () => {
  exporter.reset();
  const answer = llmledger.trace(
    async (q) => {
      const span = llmledger.getCurrentActiveSpan();
      span.setAttribute("mlflow.chat.tokenUsage", { input_tokens: 84, output_tokens: 22, total_tokens: 106 });
      span.setAttribute("mlflow.llm.model", "gpt-4o-mini");
      assert.deepEqual(span.llmCost, { input_cost: 1.26e-5, output_cost: 1.32e-5, total_cost: 2.58e-5 });
      assert.equal(span.llmCost.total_cost, 0.0000258);
      return `echo ${q}`;
    },
    { name: "answer", spanType: "LLM" },
  );
  assert.equal(await answer("hi"), "echo hi");
  await llmledger.flushTraces();
  const [span] = exported("answer");
  assert.equal(span.attributes["llmledger.spanType"], "LLM");
  assert.equal(span.attributes["llmledger.spanInputs"], JSON.stringify({ q: "hi" }));
  assert.equal(span.attributes["llmledger.spanOutputs"], JSON.stringify("echo hi"));
  assert.deepEqual(JSON.parse(span.attributes["llmledger.chat.tokenUsage"]), { input_tokens: 84, output_tokens: 22, total_tokens: 106 });
  assert.equal(span.attributes["llmledger.llm.model"], "gpt-4o-mini");
  assert.equal(span.attributes["llmledger.llm.cost"], undefined); // computed: priced by the server
  assert.equal(llmledger.getLastActiveTraceId(), `tr-${span.spanContext().traceId}`);
});

test("nested spans share the trace; sync functions are traced too", async () => {
  exporter.reset();
  const inner = llmledger.trace((a, b) => a + b, { name: "add" });
  const outer = llmledger.trace(() => inner(2, 3) * 10, { name: "outer" });
  assert.equal(outer(), 50);
  await llmledger.flushTraces();
  const [o] = exported("outer");
  const [i] = exported("add");
  assert.equal(i.spanContext().traceId, o.spanContext().traceId);
  assert.equal(i.parentSpanContext.spanId, o.spanContext().spanId);
  assert.equal(i.attributes["llmledger.spanInputs"], JSON.stringify({ a: 2, b: 3 }));
});

test("an error ends the span ERROR and is rethrown unchanged", async () => {
  exporter.reset();
  const boom = new TypeError("boom");
  const failing = llmledger.trace(async () => {
    throw boom;
  }, { name: "failing" });
  await assert.rejects(failing(), (e) => e === boom);
  await llmledger.flushTraces();
  const [span] = exported("failing");
  assert.equal(span.status.code, 2);
  assert.match(span.status.message, /TypeError: boom/);
});

test("concurrent traces never mix their spans (AsyncLocalStorage context)", async () => {
  exporter.reset();
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const child = llmledger.trace(async (id) => {
    await sleep(5);
    return llmledger.getCurrentActiveSpan().traceId;
  }, { name: "child" });
  const parent = llmledger.trace(async (id) => {
    const mine = llmledger.getCurrentActiveSpan().traceId;
    await sleep(Math.random() * 10);
    const seen = await child(id);
    return [mine, seen];
  }, { name: "parent" });
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => parent(i)));
  for (const [mine, seen] of results) assert.equal(seen, mine);
  assert.equal(new Set(results.map((r) => r[0])).size, 6);
});

test("startSpan + span.end and withSpan; hand-set cost is kept and exported", async () => {
  exporter.reset();
  const root = llmledger.startSpan({ name: "root", inputs: { x: 1 } });
  const child = llmledger.startSpan({ name: "manual", parent: root, spanType: "LLM" });
  child.setAttribute("mlflow.llm.cost", { input_cost: 0.0001, output_cost: 0.0002 });
  assert.deepEqual(child.llmCost, { input_cost: 0.0001, output_cost: 0.0002, total_cost: 0.0003 });
  child.end({ outputs: "ok" });
  const value = llmledger.withSpan((span) => {
    llmledger.updateCurrentTrace({ tags: { team: "search" } });
    return span.name;
  }, { name: "inside", parent: root });
  assert.equal(value, "inside");
  root.end({ outputs: { done: true } });
  await llmledger.flushTraces();
  assert.equal(exported("manual")[0].parentSpanContext.spanId, root.spanId);
  assert.equal(exported("manual")[0].attributes["llmledger.llm.cost"], JSON.stringify({ input_cost: 0.0001, output_cost: 0.0002 }));
  assert.equal(exported("root")[0].attributes["llmledger.traceTags"], JSON.stringify({ team: "search" }));
});

test("no usage: undefined usage and cost, never 0", () => {
  const span = llmledger.startSpan({ name: "plain" });
  assert.equal(span.tokenUsage, undefined);
  assert.equal(span.llmCost, undefined);
  span.end();
});

test("the CommonJS entry is the same SDK instance as the ESM one", async () => {
  const { createRequire } = await import("node:module");
  const cjs = createRequire(import.meta.url)("../dist/cjs/index.js");
  assert.equal(cjs.init, llmledger.init);
});

test("W3C traceparent out and in: a handler joins the caller's trace under the caller's span", async () => {
  exporter.reset();
  assert.deepEqual(llmledger.getTracingContextHeadersForHttpRequest(), {});
  let headers;
  let callerSpan;
  await llmledger.withSpan(async (span) => {
    callerSpan = span;
    headers = llmledger.getTracingContextHeadersForHttpRequest();
  }, { name: "caller" });
  assert.equal(headers.traceparent, `00-${callerSpan.traceId.slice(3)}-${callerSpan.spanId}-01`);
  // the receiving side (here the same process): Node's req.headers shape
  const handled = await llmledger.withTracingContext({ TraceParent: headers.traceparent }, () =>
    llmledger.trace(async () => llmledger.getCurrentActiveSpan(), { name: "handler" })(),
  );
  assert.equal(handled.traceId, callerSpan.traceId);
  assert.equal(handled.parentId, callerSpan.spanId);
  // a malformed header starts a new trace instead of failing
  const fresh = llmledger.withTracingContext({ traceparent: "garbage" }, () => llmledger.startSpan({ name: "new" }));
  assert.notEqual(fresh.traceId, callerSpan.traceId);
  assert.equal(fresh.parentId, null);
  fresh.end();
});

test("the export queue is bounded: spans beyond it are dropped and counted, never thrown", async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  const slow = { export: (spans, done) => gate.then(() => done({ code: 0 })), shutdown: async () => undefined };
  llmledger.init({ exporter: slow, maxQueueSize: 3, maxBatchSize: 100, scheduledDelayMillis: 60_000 });
  try {
    for (let i = 0; i < 5; i++) llmledger.startSpan({ name: `q${i}` }).end();
    assert.deepEqual(llmledger.exportStats(), { exported: 0, dropped: 2, queued: 3 });
    const flushed = llmledger.flushTraces();
    release();
    await flushed;
    assert.deepEqual(llmledger.exportStats(), { exported: 3, dropped: 2, queued: 0 });
  } finally {
    llmledger.init({ exporter, scheduledDelayMillis: 10 });
  }
});

test("any other OTLP/HTTP endpoint: protobuf spans with the computed cost attached", async () => {
  const { createServer } = await import("node:http");
  const bodies = [];
  const collector = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      bodies.push({ type: req.headers["content-type"], experiment: req.headers["x-llmledger-experiment-id"], body: Buffer.concat(chunks) });
      res.writeHead(200, { "content-type": "application/x-protobuf" });
      res.end();
    });
  });
  await new Promise((r) => collector.listen(0, "127.0.0.1", r));
  llmledger.init({ otlpEndpoint: `http://127.0.0.1:${collector.address().port}/v1/traces`, experimentId: "7" });
  try {
    const span = llmledger.startSpan({ name: "elsewhere", spanType: "LLM" });
    span.setAttributes({ "llmledger.chat.tokenUsage": { input_tokens: 84, output_tokens: 22 }, "llmledger.llm.model": "gpt-4o-mini" });
    span.end();
    await llmledger.flushTraces();
    assert.equal(llmledger.exportStats().exported, 1);
    assert.equal(bodies.length, 1);
    assert.equal(bodies[0].type, "application/x-protobuf");
    assert.equal(bodies[0].experiment, "7");
    const text = bodies[0].body.toString("latin1");
    assert.ok(text.includes("elsewhere"));
    assert.ok(text.includes('{"input_cost":0.0000126,"output_cost":0.0000132,"total_cost":0.0000258}'), text);
  } finally {
    collector.close();
    llmledger.init({ exporter, scheduledDelayMillis: 10 });
  }
});

test("spans still queued when the process ends on its own are sent before it exits", async () => {
  const { createServer } = await import("node:http");
  const { execFile } = await import("node:child_process");
  let received = 0;
  const collector = createServer((req, res) => {
    req.on("data", () => {});
    req.on("end", () => {
      received += 1;
      res.writeHead(200, { "content-type": "application/x-protobuf" });
      res.end();
    });
  });
  await new Promise((r) => collector.listen(0, "127.0.0.1", r));
  const entry = new URL("../dist/index.mjs", import.meta.url).href;
  const script = `import * as l from ${JSON.stringify(entry)};
    l.init({ otlpEndpoint: "http://127.0.0.1:${collector.address().port}/v1/traces", scheduledDelayMillis: 60000 });
    l.startSpan({ name: "last words" }).end();`; // no flushTraces(): the exit hook sends it
  try {
    await new Promise((resolve, reject) =>
      execFile(process.execPath, ["--input-type=module", "-e", script], (error) => (error ? reject(error) : resolve())),
    );
    assert.equal(received, 1);
  } finally {
    collector.close();
  }
});
