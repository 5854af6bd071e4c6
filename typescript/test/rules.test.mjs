// The newer pricing rules in the TypeScript SDK, beyond the shared golden cases: the bundled
// corrections and dated history read from the same data files as Python (copied at build),
// a span priced at the price in force at its start, override > history > catalog, and the
// details of fast mode, US-only inference and units. Dollars are computed by hand.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { afterEach, test } from "node:test";
import { catalogInfo, clearOverrides, computeCost, getPrice, setPrice, startSpan } from "../dist/index.mjs";

const repoData = new URL("../../src/llmledger/pricing/data/", import.meta.url);
const distData = new URL("../dist/data/", import.meta.url);

afterEach(() => clearOverrides());

test("the build copies every data file of the Python package, byte for byte", () => {
  for (const name of ["prices.json", "retired.json", "corrections.json", "history.json"]) {
    assert.equal(readFileSync(new URL(name, distData), "utf8"), readFileSync(new URL(name, repoData), "utf8"), name);
  }
  const corrections = JSON.parse(readFileSync(new URL("corrections.json", repoData), "utf8"));
  const history = JSON.parse(readFileSync(new URL("history.json", repoData), "utf8"));
  const info = catalogInfo();
  assert.equal(info.corrected_models, Object.keys(corrections).filter((k) => !k.startsWith("_")).length);
  assert.equal(info.history_models, Object.keys(history).filter((k) => !k.startsWith("_")).length);
});

test("a corrected entry has the provider's price and says so in its source", () => {
  const price = getPrice("gemini-2.5-flash");
  assert.equal(price.source.endsWith(", corrected (https://cloud.google.com/vertex-ai/generative-ai/pricing)"), true, price.source);
  // LiteLLM had 3e-7; Vertex AI bills 2.5 Flash audio at $1.00 / 1M at any prompt length
  const cost = computeCost("gemini-2.5-flash", { input_tokens: 300_000, output_tokens: 0, audio_input_tokens: 100_000 });
  assert.equal(cost.decimals.audio_input_cost, "0.1");
  assert.equal(cost.price.fields_used.audio_input, "input_cost_per_audio_token_above_200k_tokens");
});

test("a span is priced at the price in force at its start: before and after a price change", () => {
  // https://platform.openai.com/docs/models/gpt-4o: $5 / $15 per 1M until 2024-10-02, then $2.50 / $10
  const attrs = { "llmledger.llm.model": "gpt-4o", "llmledger.chat.tokenUsage": JSON.stringify({ input_tokens: 1000, output_tokens: 100 }) };
  const before = startSpan({ name: "before", attributes: attrs, startTime: Date.UTC(2024, 9, 1, 23, 59, 59) });
  const after = startSpan({ name: "after", attributes: attrs, startTime: Date.UTC(2024, 9, 2) });
  assert.deepEqual(before.llmCost, { input_cost: 0.005, output_cost: 0.0015, total_cost: 0.0065 });
  assert.deepEqual(after.llmCost, { input_cost: 0.0025, output_cost: 0.001, total_cost: 0.0035 });
  before.end();
  after.end();
  const old = getPrice("gpt-4o", null, "2024-06-01");
  assert.equal(old.source, "bundled: price history (https://platform.openai.com/docs/models/gpt-4o)");
  assert.equal(old.effective_from, "2024-05-13T00:00:00.000Z");
  assert.equal(old.matched_by, "exact");
  assert.equal(getPrice("gpt-4o", null, "2024-10-02").effective_from, null);
  // before the first version (2024-05-13) no version is in force: the catalog price
  assert.equal(getPrice("gpt-4o", null, "2024-01-01").effective_from, null);
});

test("precedence: a user override in force > a dated catalog version in force > the catalog", () => {
  setPrice("o3", { input_per_million: 1, output_per_million: 4 }, { effectiveFrom: "2025-05-01" });
  const u = { input_tokens: 1000, output_tokens: 100 };
  // 2025-04-20: no override yet, the o3 launch price $10 / $40 per 1M
  assert.deepEqual({ ...computeCost("o3", u, { at: "2025-04-20" }) }, { input_cost: 0.01, output_cost: 0.004, total_cost: 0.014 });
  // 2025-05-15: the override ($1 / $4) wins over the history version in force
  assert.deepEqual({ ...computeCost("o3", u, { at: "2025-05-15" }) }, { input_cost: 0.001, output_cost: 0.0004, total_cost: 0.0014 });
  clearOverrides();
  // no override: from 2025-06-10 the catalog's $2 / $8
  assert.deepEqual({ ...computeCost("o3", u, { at: "2025-06-10" }) }, { input_cost: 0.002, output_cost: 0.0008, total_cost: 0.0028 });
});

test("fast mode and US-only inference: read from span attributes, explained in the price", () => {
  const attrs = {
    "llmledger.llm.model": "claude-opus-4-6",
    "llmledger.llm.speed": "fast",
    "llmledger.chat.tokenUsage": JSON.stringify({ input_tokens: 1000, output_tokens: 100 }),
  };
  const span = startSpan({ name: "fast", attributes: attrs });
  // $5 / $25 per 1M x 6
  assert.deepEqual(span.llmCost, { input_cost: 0.03, output_cost: 0.015, total_cost: 0.045 });
  span.end();
  const cost = computeCost("claude-opus-4-6", { input_tokens: 1000, output_tokens: 100 }, { speed: "fast", inferenceGeo: "us" });
  assert.deepEqual(cost.price.modifiers, { speed: "fast", inference_geo: "us", factor: "6.6" });
  assert.equal(cost.details.speed, "fast");
  assert.equal(cost.details.inference_geo, "us");
  assert.equal(cost.decimals.total_cost, "0.0495"); // 1000 x $33/1M + 100 x $165/1M
});

test("units: their own details; web searches without a price are noted, not guessed", () => {
  const searched = computeCost("claude-sonnet-4-5", { input_tokens: 1000, output_tokens: 0, web_search_requests: 4 });
  assert.equal(searched.decimals.web_search_cost, "0.04");
  assert.equal(searched.price.fields_used.web_search, "web search, anthropic list price");
  const deepseek = computeCost("deepseek-chat", { input_tokens: 1000, output_tokens: 0, web_search_requests: 4 });
  assert.equal(deepseek.details.unpriced_web_search_requests, 4);
  assert.equal(deepseek.decimals.total_cost, "0.00028");
  assert.equal("web_search_cost" in deepseek.details, false);
  // per-character tts-1 ($15 / 1M characters), usage of other units only
  assert.deepEqual({ ...computeCost("tts-1", { input_characters: 2000 }) }, { input_cost: 0.03, output_cost: 0, total_cost: 0.03 });
  // a unit the model has no price for is not guessed
  assert.equal(computeCost("gpt-4o-mini", { input_tokens: 10, output_tokens: 0, input_audio_seconds: 5 }), undefined);
});

test("inconsistent cached audio is an error naming the keys", () => {
  const usage = { input_tokens: 100, output_tokens: 0, cache_read_input_tokens: 10, audio_input_tokens: 50, cache_read_audio_input_tokens: 20 };
  assert.throws(() => computeCost("gemini-2.5-flash", usage), /cache_read_audio_input_tokens = 20 exceeds cache_read_input_tokens = 10/);
});
