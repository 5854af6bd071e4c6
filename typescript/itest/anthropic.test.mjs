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
