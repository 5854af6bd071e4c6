// Python's golden pricing cases (tests/test_pricing_golden.py, exported to golden_pricing.json
// by scripts/export_golden_pricing.py) give the same dollars here, to the last digit.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { computeCost } from "../dist/index.mjs";

const { cases } = JSON.parse(readFileSync(new URL("./golden_pricing.json", import.meta.url), "utf8"));
const run = cases.filter((c) => !c.skip);

test("the shared file has Python's cases; only override cases are skipped", () => {
  assert.ok(cases.length >= 200, `${cases.length} cases`);
  assert.ok(run.length >= cases.length - 13, `${cases.length - run.length} skipped`);
  for (const c of cases.filter((c) => c.skip)) assert.match(c.skip, /Python-only (override|azure_deployment)/);
});

for (const c of run) {
  test(`golden ${c.id}`, () => {
    const cost = computeCost(c.model, c.usage, { provider: c.provider, serviceTier: c.service_tier });
    assert.ok(cost, `${c.model} did not resolve`);
    assert.equal(cost.decimals.input_cost, c.expected.input_cost);
    assert.equal(cost.decimals.output_cost, c.expected.output_cost);
    assert.equal(cost.decimals.total_cost, c.expected.total_cost);
    assert.deepEqual([cost.input_cost, cost.output_cost, cost.total_cost], c.expected.floats);
    if (c.model_id) assert.equal(cost.price.model_id, c.model_id);
  });
}
