// Retired models and user price overrides in the TypeScript SDK: the semantics of Python's
// pricing/catalog.py (add_retired) and pricing/overrides.py. Dollars are computed by hand.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import {
  PricingConfigError,
  catalogInfo,
  clearOverrides,
  computeCost,
  getPrice,
  init,
  loadOverrides,
  setAzureDeployment,
  setPrice,
  startSpan,
} from "../dist/index.mjs";

const repoData = new URL("../../src/llmledger/pricing/data/", import.meta.url);
const dir = mkdtempSync(join(tmpdir(), "llmledger-overrides-"));
const usage = (input_tokens, output_tokens, extra = {}) => ({ input_tokens, output_tokens, ...extra });

function writeJson(name, doc) {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === "string" ? doc : JSON.stringify(doc));
  return path;
}

function captureErrors(fn) {
  const seen = [];
  const original = console.error;
  console.error = (...args) => seen.push(args.join(" "));
  try {
    fn();
  } finally {
    console.error = original;
  }
  return seen;
}

afterEach(() => {
  delete process.env.LLMLEDGER_PRICES_FILE;
  clearOverrides();
});

test("retired models come from the repository's retired.json, not a copy kept here", () => {
  const retired = JSON.parse(readFileSync(new URL("retired.json", repoData), "utf8"));
  const snapshot = JSON.parse(readFileSync(new URL("prices.json", repoData), "utf8"));
  const added = Object.keys(retired).filter((k) => !k.startsWith("_") && !(k in snapshot));
  assert.ok(added.length >= 10);
  assert.equal(catalogInfo().retired, added.length);
  assert.equal(readFileSync(new URL("../dist/data/retired.json", import.meta.url), "utf8"), readFileSync(new URL("retired.json", repoData), "utf8"));
  for (const [alias, target] of Object.entries(retired._aliases)) {
    if (alias in snapshot || alias in (snapshot._aliases ?? {})) continue;
    const price = getPrice(alias);
    assert.equal(price?.model_id, target, alias);
  }
  const sonnet = getPrice("claude-3-5-sonnet-latest");
  assert.equal(sonnet.matched_by, "alias");
  assert.equal(sonnet.source, "bundled: retired model, last published price (https://docs.anthropic.com/en/docs/about-claude/pricing)");
});

test("setPrice with effective dates: the version in force at the moment prices it", () => {
  setPrice("acme-llm", { input_per_million: "0.5", output_per_million: "1.5" });
  setPrice("acme-llm", { input_per_million: "0.4", output_per_million: "1.2" }, { effectiveFrom: "2026-06-01" });
  const u = usage(1_000_000, 100_000);
  const before = computeCost("acme-llm", u, { at: "2026-05-31T23:59:59Z" });
  assert.deepEqual({ ...before }, { input_cost: 0.5, output_cost: 0.15, total_cost: 0.65 });
  assert.equal(before.price.matched_by, "override");
  assert.equal(before.price.source, "override: setPrice()");
  const after = computeCost("acme-llm", u, { at: new Date(Date.UTC(2026, 5, 1)) });
  assert.deepEqual({ ...after }, { input_cost: 0.4, output_cost: 0.12, total_cost: 0.52 });
  assert.equal(getPrice("ACME-LLM", null, Date.UTC(2027, 0, 1)).effective_from, "2026-06-01T00:00:00.000Z");
  // a moment without a zone is UTC, also with a space; garbage is a TypeError naming `at`
  assert.equal(computeCost("acme-llm", u, { at: "2026-05-31 23:59" }).total_cost, 0.65);
  assert.equal(computeCost("acme-llm", u, { at: "2026-06-01T00:00:00" }).total_cost, 0.52);
  assert.throws(() => computeCost("acme-llm", u, { at: "soon" }), (e) => e instanceof TypeError && /at must be a Date/.test(e.message));
});

test("a span is priced at the prices in force at its start, and carries that cost to the server", () => {
  init({ exporter: { export: (_s, done) => done({ code: 0 }), shutdown: async () => undefined } });
  // gpt-4o-mini is $0.15 / $0.60 per 1M in the catalog; from 2026-01-01 this process pays $1 / $2
  setPrice("gpt-4o-mini", { input_per_million: 1, output_per_million: 2 }, { effectiveFrom: "2026-01-01T00:00:00Z" });
  const attrs = { "llmledger.chat.tokenUsage": usage(1000, 500), "llmledger.llm.model": "gpt-4o-mini" };
  const old = startSpan({ name: "old", attributes: attrs, startTime: Date.UTC(2025, 11, 31, 23) });
  const now = startSpan({ name: "now", attributes: attrs, startTime: Date.UTC(2026, 0, 1) });
  assert.deepEqual(old.llmCost, { input_cost: 0.00015, output_cost: 0.0003, total_cost: 0.00045 });
  assert.deepEqual(now.llmCost, { input_cost: 0.001, output_cost: 0.001, total_cost: 0.002 });
  old.end();
  now.end();
  // the catalog price is the server's too: not exported; a user price is
  assert.equal(old.otelSpan.attributes["llmledger.llm.cost"], undefined);
  assert.deepEqual(JSON.parse(now.otelSpan.attributes["llmledger.llm.cost"]), { input_cost: 0.001, output_cost: 0.001, total_cost: 0.002 });
});

test("a future-only override leaves the catalog price in force until then", () => {
  setPrice("gpt-4o", { input_per_million: 2, output_per_million: 8, cache_read_per_million: 1 }, { effectiveFrom: "2100-01-01" });
  const u = usage(1000, 100, { cache_read_input_tokens: 600 });
  // catalog gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M
  assert.deepEqual({ ...computeCost("gpt-4o", u) }, { input_cost: 0.00175, output_cost: 0.001, total_cost: 0.00275 });
  // override: 400 x $2 + 600 x $1 = $0.0014; 100 x $8 = $0.0008
  assert.deepEqual({ ...computeCost("gpt-4o", u, { at: "2100-01-01" }) }, { input_cost: 0.0014, output_cost: 0.0008, total_cost: 0.0022 });
});

test("a provider's override applies to that provider only", () => {
  setPrice("gpt-5-mini", { input_per_million: "0.1", output_per_million: "0.4" }, { provider: "azure" });
  const u = usage(10_000, 1000);
  assert.equal(computeCost("gpt-5-mini", u, { provider: "azure" }).total_cost, 0.0014);
  assert.equal(computeCost("azure/gpt-5-mini", u).total_cost, 0.0014);
  // OpenAI's gpt-5-mini: $0.25 / $2 per 1M -> 0.0025 + 0.002
  assert.equal(computeCost("gpt-5-mini", u).total_cost, 0.0045);
  assert.equal(computeCost("gpt-5-mini", u, { provider: "openai" }).total_cost, 0.0045);
});

test("Azure deployment names price as their model, azure/ entry first", () => {
  setAzureDeployment("prod-gpt", "gpt-4o-mini");
  const price = getPrice("prod-gpt");
  assert.equal(price.model_id, "azure/gpt-4o-mini");
  assert.equal(price.matched_by, "azure_deployment");
  assert.equal(getPrice("azure/PROD-GPT").model_id, "azure/gpt-4o-mini");
  assert.equal(getPrice("prod-gpt", "openai"), null);
  // Azure gpt-4o-mini: 7000 x $0.15/1M + 700 x $0.60/1M, as Python's golden azure-deployment-prefixed case
  assert.equal(computeCost("azure/prod-gpt", usage(7000, 700)).decimals.total_cost, "0.00147");
});

test("the overrides file named by LLMLEDGER_PRICES_FILE (JSON): versions and deployments", () => {
  process.env.LLMLEDGER_PRICES_FILE = writeJson("prices.json", {
    models: {
      "house-model": [
        { input_per_million: 3, output_per_million: 6 },
        { input_cost_per_token: "0.000002", output_cost_per_token: 4e-6, effective_from: "2026-03-01" },
      ],
    },
    azure_deployments: { "eu-chat": "gpt-4o" },
  });
  clearOverrides();
  const u = usage(1000, 1000);
  assert.equal(computeCost("house-model", u, { at: "2026-02-28T23:00:00" }).decimals.total_cost, "0.009");
  assert.equal(computeCost("house-model", u, { at: "2026-03-01" }).decimals.total_cost, "0.006");
  assert.match(getPrice("house-model").source, /^override: .*prices\.json$/);
  assert.equal(getPrice("eu-chat").model_id, "azure/gpt-4o");
  assert.equal(catalogInfo().override_versions, 2);
  // an explicit setPrice made later wins over the file's version of the same date
  setPrice("house-model", { input_per_million: 1, output_per_million: 1 });
  assert.equal(computeCost("house-model", u, { at: "2026-01-01" }).decimals.total_cost, "0.002");
});

test("a bad overrides file is reported (file and problem) and skipped; the catalog still prices", () => {
  process.env.LLMLEDGER_PRICES_FILE = writeJson("bad.json", { models: { m: { input_per_milion: 1 } } });
  clearOverrides();
  const errors = captureErrors(() => assert.equal(computeCost("gpt-4o-mini", usage(84, 22)).total_cost, 0.0000258));
  assert.equal(errors.length, 1);
  assert.match(errors[0], /LLMLEDGER_PRICES_FILE ignored: .*bad\.json: models\['m'\]: unknown price field 'input_per_milion'/);
  process.env.LLMLEDGER_PRICES_FILE = writeJson("prices.toml", "[models]\n");
  clearOverrides();
  const toml = captureErrors(() => getPrice("gpt-4o-mini"));
  assert.match(toml[0], /reads overrides files as JSON only/);
});

test("bad input to setPrice / loadOverrides: PricingConfigError naming the field; nothing applied", () => {
  const cases = [
    [() => setPrice("m", { input_per_million: -1 }), /setPrice\('m'\): input_per_million must not be negative/],
    [() => setPrice("m", { input_per_million: "abc" }), /input_per_million must be a decimal number/],
    [() => setPrice("m", {}), /no price given/],
    [() => setPrice("", { input_per_million: 1 }), /model name must be a non-empty string/],
    [() => setPrice("m", { input_per_million: 1 }, { effectiveFrom: "tomorrow" }), /effective_from 'tomorrow' is not an ISO date/],
    [() => setPrice("m", { input_per_million: 1, input_cost_per_token: 1e-6 }), /input_cost_per_token is given twice/],
    [() => setAzureDeployment("", "gpt-4o"), /deployment and model must be non-empty/],
    [() => loadOverrides(join(dir, "missing.json")), /missing\.json: cannot read the prices file \(ENOENT\)/],
    [() => loadOverrides(writeJson("dup.json", { models: { m: [{ input_per_million: 1 }, { input_per_million: 2 }] } })), /has two prices with no effective_from/],
    [() => loadOverrides(writeJson("top.json", { model: {} })), /unknown top-level key\(s\) 'model'/],
    [() => loadOverrides(writeJson("broken.json", "{")), /broken\.json: invalid JSON/],
  ];
  for (const [fn, message] of cases) assert.throws(fn, (e) => e instanceof PricingConfigError && message.test(e.message));
  assert.equal(catalogInfo().override_versions, 0);
  assert.equal(getPrice("m"), null);
});
