// tracedAnthropic with the real `@anthropic-ai/sdk` npm client against the fake provider server.
import assert from "node:assert/strict";
import { test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import * as llmledger from "llmledger";
import { fakeReply, fakeUrl, traced } from "./helpers.mjs";

const anthropic = llmledger.tracedAnthropic(new Anthropic({ baseURL: fakeUrl, apiKey: "x", maxRetries: 0 }));
const request = { model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };
// Anthropic's input_tokens exclude the cache: 100 fresh + 800 read + 200 written (150 for 1 h)
const cachedUsage = {
  input_tokens: 100,
  output_tokens: 50,
  cache_read_input_tokens: 800,
  cache_creation_input_tokens: 200,
  cache_creation: { ephemeral_5m_input_tokens: 50, ephemeral_1h_input_tokens: 150 },
};
const canonical = {
  input_tokens: 1100,
  output_tokens: 50,
  total_tokens: 1150,
  cache_read_input_tokens: 800,
  cache_creation_input_tokens: 200,
  cache_creation_1h_input_tokens: 150,
};
// 100 x $3/1M + 800 x $0.30/1M + 50 x $3.75/1M + 150 x $6/1M; 50 x $15/1M
const cost = { input_cost: 0.0016275, output_cost: 0.00075, total_cost: 0.0023775 };

test("messages.create: cache reads and writes added to input, each priced at its rate", async () => {
  await fakeReply({ model: "claude-sonnet-4-5", usage: cachedUsage });
  const { trace, llm, value } = await traced("claude", () => anthropic.messages.create(request));
  assert.equal(value.content[0].text, "Hello from the fake provider.");
  const [span] = llm;
  assert.equal(span.name, "Messages");
  assert.equal(span.attributes["llmledger.llm.provider"], "anthropic");
  assert.deepEqual(span.tokenUsage, canonical);
  assert.deepEqual(span.llmCost, cost);
  assert.deepEqual(trace.info.cost, cost);
});

test("messages.create with stream: true and messages.stream(): usage from the events", async () => {
  await fakeReply({ model: "claude-sonnet-4-5", usage: cachedUsage, text: "streamed" });
  await fakeReply({ model: "claude-sonnet-4-5", usage: cachedUsage, text: "helper" });
  const { llm, value } = await traced("claude-streams", async () => {
    let text = "";
    const stream = await anthropic.messages.create({ ...request, stream: true });
    for await (const event of stream) if (event.type === "content_block_delta") text += event.delta.text;
    const helper = anthropic.messages.stream(request);
    const final = await helper.finalMessage();
    return [text, final.content[0].text];
  });
  assert.deepEqual(value, ["streamed", "helper"]);
  assert.equal(llm.length, 2);
  for (const span of llm) {
    assert.deepEqual(span.tokenUsage, canonical);
    assert.deepEqual(span.llmCost, cost);
  }
  assert.equal(llm[0].outputs.content[0].text, "streamed");
});

test("a provider error ends the span ERROR and reaches the caller unchanged", async () => {
  await fakeReply({ status: 400, provider: "anthropic" });
  let thrown;
  const { llm } = await traced("claude-error", async () => {
    try {
      await anthropic.messages.create(request);
    } catch (error) {
      thrown = error;
    }
  });
  assert.ok(thrown instanceof Anthropic.BadRequestError, `got ${thrown}`);
  assert.equal(llm[0].status, "ERROR");
  assert.equal(llm[0].tokenUsage, undefined);
});

test("fast mode, US-only inference and web searches: kept on the span and priced", async () => {
  // https://platform.claude.com/docs/en/build-with-claude/fast-mode#pricing: 6x Opus 4.6 rates;
  // https://platform.claude.com/docs/en/about-claude/pricing#data-residency-pricing: 1.1x for
  // US-only inference; web search $10 per 1,000 searches. Opus 4.6: $5 in, $25 out per 1M.
  const usage = { input_tokens: 1000, output_tokens: 100, speed: "fast", inference_geo: "us", server_tool_use: { web_search_requests: 2 } };
  await fakeReply({ model: "claude-opus-4-6", usage });
  await fakeReply({ model: "claude-opus-4-6", usage, text: "streamed" });
  const opus = { ...request, model: "claude-opus-4-6" };
  const { trace, llm } = await traced("claude-fast", async () => {
    await anthropic.messages.create(opus);
    const stream = await anthropic.messages.create({ ...opus, stream: true });
    for await (const _event of stream);
  });
  assert.equal(llm.length, 2);
  // 1000 x $5/1M x 6.6 + 2 x $0.01; 100 x $25/1M x 6.6
  const expected = { input_cost: 0.053, output_cost: 0.0165, total_cost: 0.0695 };
  for (const span of llm) {
    assert.equal(span.attributes["llmledger.llm.speed"], "fast");
    assert.equal(span.attributes["llmledger.llm.inferenceGeo"], "us");
    // the fake reports cache_creation_input_tokens: 0 (its default)
    assert.deepEqual(span.tokenUsage, { input_tokens: 1000, output_tokens: 100, total_tokens: 1100, cache_creation_input_tokens: 0, web_search_requests: 2 });
    assert.deepEqual(span.llmCost, expected);
  }
  assert.deepEqual(trace.info.cost, { input_cost: 0.106, output_cost: 0.033, total_cost: 0.139 });
});

test("a model fast mode does not apply to is priced at standard rates", async () => {
  // fast mode is Opus 4.6/4.7 only; Sonnet 4.5 ($3 / $15 per 1M) predates US-only pricing
  await fakeReply({ model: "claude-sonnet-4-5", usage: { input_tokens: 1000, output_tokens: 100, speed: "fast", inference_geo: "us" } });
  const { llm } = await traced("claude-not-fast", () => anthropic.messages.create(request));
  assert.equal(llm[0].attributes["llmledger.llm.speed"], "fast");
  assert.deepEqual(llm[0].llmCost, { input_cost: 0.003, output_cost: 0.0015, total_cost: 0.0045 });
});
