// The tracing API against a real llmledger server: tags, search, hand-set values, and a
// server that is down.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as llmledger from "llmledger";
import { client, traced, trackingUri } from "./helpers.mjs";

test("updateCurrentTrace tags, metadata, user and session reach the server; searchTraces finds the trace by tag", async () => {
  const tag = `run-${Date.now()}`;
  const { trace } = await traced("tagged", async () => {
    llmledger.updateCurrentTrace({ tags: { team: "search", run: tag }, metadata: { "mlflow.trace.user": "u1", plan: "pro" } });
    llmledger.updateCurrentTrace({ user: "u2", session: "s1" }); // metadata is write-once: u1 stays
  });
  assert.equal(trace.info.tags.team, "search");
  assert.equal(trace.info.tags.plan, undefined); // metadata is not a tag
  assert.deepEqual(trace.info.traceMetadata, { "mlflow.trace.user": "u1", plan: "pro", "mlflow.trace.session": "s1" });
  assert.equal(trace.info.user, "u1");
  assert.equal(trace.info.session, "s1");
  assert.equal(trace.info.tags["service.name"], "ts-itest");
  const found = await client.searchTraces({ tags: { run: tag }, includeSpans: true });
  assert.deepEqual(found.traces.map((t) => t.info.traceId), [trace.info.traceId]);
  assert.equal(found.traces[0].data.spans[0].name, "tagged");
});

test("usage and cost set by hand under the seed's mlflow.* keys; the server prices usage without cost", async () => {
  const { trace } = await traced("manual", async () => {
    const priced = llmledger.startSpan({ name: "priced", spanType: "LLM" });
    priced.setAttribute("mlflow.chat.tokenUsage", { input_tokens: 100, output_tokens: 50, total_tokens: 150 });
    priced.setAttribute("mlflow.llm.cost", { input_cost: 0.0001, output_cost: 0.0002, total_cost: 0.0003 });
    priced.end();
    const computed = llmledger.startSpan({ name: "computed", spanType: "LLM" });
    computed.setAttributes({ "llmledger.chat.tokenUsage": { input_tokens: 84, output_tokens: 22 }, "llmledger.llm.model": "gpt-4o-mini" });
    computed.end();
  });
  const byName = Object.fromEntries(trace.data.spans.map((s) => [s.name, s]));
  assert.deepEqual(byName.priced.llmCost, { input_cost: 0.0001, output_cost: 0.0002, total_cost: 0.0003 });
  assert.deepEqual(byName.computed.llmCost, { input_cost: 0.0000126, output_cost: 0.0000132, total_cost: 0.0000258 });
  assert.deepEqual(byName.computed.attributes["mlflow.chat.tokenUsage"], { input_tokens: 84, output_tokens: 22, total_tokens: 106 });
  assert.deepEqual(trace.info.tokenUsage, { input_tokens: 184, output_tokens: 72, total_tokens: 256 });
  assert.deepEqual(trace.info.cost, { input_cost: 0.0001126, output_cost: 0.0002132, total_cost: 0.0003258 });
});

test("a server that is down never throws into user code: spans are dropped and counted", async () => {
  const down = "http://127.0.0.1:9"; // discard port: connection refused
  llmledger.init({ trackingUri: down, exportTimeoutMillis: 2000 });
  try {
    const work = llmledger.trace(async (x) => x * 2, { name: "offline" });
    assert.equal(await work(21), 42);
    await llmledger.flushTraces(); // resolves, does not throw
    const stats = llmledger.exportStats();
    assert.equal(stats.dropped, 1);
    assert.equal(stats.exported, 0);
  } finally {
    llmledger.init({ trackingUri, experimentId: "0", serviceName: "ts-itest" });
  }
});
