// Python's golden pricing cases (tests/test_pricing_golden.py,
// tests/test_pricing_golden_retired.py and tests/test_pricing_golden_rules.py, exported to golden_pricing.json by
// scripts/export_golden_pricing.py) give the same dollars here, to the last digit: every
// case, with the same user overrides and Azure deployment names the Python cases run with.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { clearOverrides, computeCost, setAzureDeployment, setPrice } from "../dist/index.mjs";

const { cases, overrides } = JSON.parse(readFileSync(new URL("./golden_pricing.json", import.meta.url), "utf8"));

before(() => {
  delete process.env.LLMLEDGER_PRICES_FILE;
  clearOverrides();
  for (const [deployment, model] of Object.entries(overrides.azure_deployments)) setAzureDeployment(deployment, model);
  for (const v of overrides.versions) {
    setPrice(v.model, v.prices, { effectiveFrom: v.effective_from, provider: v.provider, mode: v.mode });
  }
});
after(() => clearOverrides());

test("the shared file has every Python case, none skipped, retired models and overrides included", () => {
  assert.ok(cases.length >= 240, `${cases.length} cases`);
  assert.equal(cases.filter((c) => c.skip).length, 0);
  assert.ok(cases.filter((c) => c.id.startsWith("retired-")).length >= 15);
  assert.ok(cases.filter((c) => c.id.startsWith("override-")).length >= 8);
  assert.ok(cases.filter((c) => c.id.startsWith("azure-deployment")).length >= 5);
  assert.ok(overrides.versions.length >= 5);
  // the newer rules: corrections, dated history, cached audio, DeepSeek, fast mode, US-only
  // inference, units that are not tokens (DALL-E images, Gemini Google Search grounding)
  const rules = cases.filter((c) => c.id.startsWith("rules-"));
  assert.ok(rules.length >= 27, `${rules.length} rule cases`);
  for (const kind of ["correction", "history", "cached-audio", "deepseek", "openai-shape", "fast", "us-only", "characters", "seconds", "images", "web-search", "grounding"]) {
    assert.ok(rules.some((c) => c.id.startsWith(`rules-${kind}`)), kind);
  }
});

for (const c of cases) {
  test(`golden ${c.id}`, () => {
    const cost = computeCost(c.model, c.usage, {
      provider: c.provider,
      serviceTier: c.service_tier,
      at: c.at ?? undefined,
      speed: c.speed,
      inferenceGeo: c.inference_geo,
    });
    assert.ok(cost, `${c.model} did not resolve`);
    assert.equal(cost.decimals.input_cost, c.expected.input_cost);
    assert.equal(cost.decimals.output_cost, c.expected.output_cost);
    assert.equal(cost.decimals.total_cost, c.expected.total_cost);
    assert.deepEqual([cost.input_cost, cost.output_cost, cost.total_cost], c.expected.floats);
    if (c.model_id) assert.equal(cost.price.model_id, c.model_id);
    for (const [key, value] of Object.entries(c.notes ?? {})) assert.equal(cost.details[key], value, key);
    // every part of the breakdown, exactly as Python's
    const parts = Object.fromEntries(
      Object.entries(cost.decimals).filter(([key, value]) => !["input_cost", "output_cost", "total_cost"].includes(key) && value !== "0"),
    );
    assert.deepEqual(parts, c.parts);
  });
}
