/** User price overrides: the semantics of llmledger/pricing/overrides.py. A version is one
 * price of a model (optionally for one provider) in force from `effective_from` on; the
 * version in force at a span's start prices it. Azure deployment names map to models. The
 * overrides file (LLMLEDGER_PRICES_FILE) is read as JSON here (Python also reads TOML/YAML). */
import { readFileSync } from "node:fs";
import { parseDecimal, type Dec } from "./money";
import { canonicalProvider } from "./resolution";

export const PRICES_FILE_ENV = "LLMLEDGER_PRICES_FILE";

/** An overrides file or `setPrice` call that cannot be used; the message says why. */
export class PricingConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PricingConfigError";
  }
}

const PRICE_FIELD_BASES = [
  "input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
  "cache_creation_input_token_cost", "cache_creation_input_token_cost_above_1hr",
  "input_cost_per_audio_token", "output_cost_per_audio_token", "cache_read_input_audio_token_cost",
  "input_cost_per_image_token", "output_cost_per_image_token", "output_cost_per_reasoning_token",
  "input_cost_per_request", "input_cost_per_second", "output_cost_per_second",
  "input_cost_per_character", "output_cost_per_character", "input_cost_per_image", "output_cost_per_image",
  "web_search_cost_per_request", "grounded_prompt_cost_per_request",
];
const PER_MILLION_BASES: Record<string, string> = {
  input: "input_cost_per_token",
  output: "output_cost_per_token",
  cache_read: "cache_read_input_token_cost",
  cache_write: "cache_creation_input_token_cost",
  cache_creation: "cache_creation_input_token_cost",
  reasoning: "output_cost_per_reasoning_token",
  audio_input: "input_cost_per_audio_token",
  audio_output: "output_cost_per_audio_token",
  image_input: "input_cost_per_image_token",
  image_output: "output_cost_per_image_token",
};
const SUFFIXES = "((?:_above_\\d+k_tokens)?(?:_batches|_priority|_flex)?)";
const alternatives = (names: string[]) =>
  [...names].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
const FIELD_RE = new RegExp(`^(${alternatives(PRICE_FIELD_BASES)})${SUFFIXES}$`);
const PER_MILLION_RE = new RegExp(`^(${alternatives(Object.keys(PER_MILLION_BASES))})_per_million${SUFFIXES}$`);
const META_KEYS = new Set(["effective_from", "provider", "mode"]);

/** A price value: a number (read by its shortest decimal form, as Python's repr), a decimal
 * string ("0.15"), or a bigint. */
export type PriceValue = number | string | bigint;

function toDec(value: unknown, where: string): Dec {
  if (typeof value === "bigint") return { n: value, e: 0 };
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new PricingConfigError(`${where} must be a finite number, got ${value}`);
  }
  if (typeof value !== "number" && typeof value !== "string") {
    throw new PricingConfigError(`${where} must be a number or a decimal string, got ${JSON.stringify(value)}`);
  }
  try {
    return parseDecimal(value);
  } catch {
    throw new PricingConfigError(`${where} must be a decimal number, got ${JSON.stringify(value)}`);
  }
}

/** Validate override price keys and values; per-million keys become per-token fields. */
export function normalizePriceFields(values: Record<string, unknown>, where: string): Map<string, Dec> {
  const out = new Map<string, Dec>();
  for (const [key, value] of Object.entries(values)) {
    if (META_KEYS.has(key) || value === null || value === undefined) continue;
    let name: string;
    let shift = 0;
    const m = PER_MILLION_RE.exec(key);
    if (m) {
      name = PER_MILLION_BASES[m[1]] + m[2];
      shift = -6;
    } else if (FIELD_RE.test(key)) {
      name = key;
    } else {
      throw new PricingConfigError(
        `${where}: unknown price field '${key}'; use a catalog field such as 'input_cost_per_token', ` +
          "'output_cost_per_token', 'cache_read_input_token_cost', 'cache_creation_input_token_cost' " +
          "(optionally with '_above_200k_tokens' and/or '_batches'/'_priority'/'_flex'), or a per-million " +
          "key such as 'input_per_million', 'output_per_million', 'cache_read_per_million'",
      );
    }
    const amount = toDec(value, `${where}: ${key}`);
    if (amount.n < 0n) throw new PricingConfigError(`${where}: ${key} must not be negative, got ${JSON.stringify(value)}`);
    if (out.has(name)) {
      throw new PricingConfigError(`${where}: ${name} is given twice (as '${key}' and another spelling); keep one`);
    }
    out.set(name, { n: amount.n, e: amount.e + shift });
  }
  if (out.size === 0) {
    throw new PricingConfigError(
      `${where}: no price given; set at least input_cost_per_token/output_cost_per_token ` +
        "(or input_per_million/output_per_million)",
    );
  }
  return out;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/** A Date, epoch milliseconds or an ISO date / datetime string (no zone: UTC) -> epoch ms;
 * null/undefined -> null (in force always). */
export function parseEffectiveFrom(value: unknown, where: string): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new PricingConfigError(`${where}: effective_from is an invalid Date`);
    return value.getTime();
  }
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") {
    const text = value.trim();
    const d = DATE_ONLY.exec(text);
    const t = DATE_TIME.exec(text);
    const ms = d ? Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3])) : t ? Date.parse(`${t[1]}T${t[2]}${t[3] ?? "Z"}`) : NaN;
    const valid = d ? new Date(ms).toISOString().slice(0, 10) === text : !Number.isNaN(ms);
    if (!valid || Number.isNaN(ms)) {
      throw new PricingConfigError(
        `${where}: effective_from '${text}' is not an ISO date such as '2026-01-01' or datetime such as '2026-01-01T00:00:00Z'`,
      );
    }
    return ms;
  }
  throw new PricingConfigError(`${where}: effective_from must be a date or datetime, got ${typeof value}`);
}

/** One user price for `model` (optionally for one provider), in force from a time. */
export interface OverrideVersion {
  model: string;
  fields: Map<string, Dec>;
  /** epoch ms; null = always */
  effectiveFrom: number | null;
  /** canonical provider family; null = any provider */
  provider: string | null;
  mode: string | null;
  source: string;
}

export function makeVersion(model: unknown, values: Record<string, unknown>, where: string, source: string): OverrideVersion {
  if (typeof model !== "string" || !model.trim()) throw new PricingConfigError(`${where}: the model name must be a non-empty string`);
  const { provider, mode } = values;
  if (provider !== undefined && provider !== null && typeof provider !== "string") {
    throw new PricingConfigError(`${where}: provider must be a string, got ${JSON.stringify(provider)}`);
  }
  if (mode !== undefined && mode !== null && typeof mode !== "string") {
    throw new PricingConfigError(`${where}: mode must be a string, got ${JSON.stringify(mode)}`);
  }
  return {
    model: model.trim(),
    fields: normalizePriceFields(values, where),
    effectiveFrom: parseEffectiveFrom(values.effective_from, where),
    provider: canonicalProvider(provider as string | null | undefined),
    mode: (mode as string | null | undefined) ?? null,
    source,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validate a parsed overrides document ({models, azure_deployments}); `origin` names it. */
export function parseOverridesDocument(doc: unknown, origin: string): [OverrideVersion[], Map<string, string>] {
  if (!isObject(doc)) {
    throw new PricingConfigError(`${origin}: expected an object with 'models' and/or 'azure_deployments', got ${Array.isArray(doc) ? "list" : typeof doc}`);
  }
  const unknown = Object.keys(doc).filter((k) => k !== "models" && k !== "azure_deployments").sort();
  if (unknown.length) {
    throw new PricingConfigError(`${origin}: unknown top-level key(s) ${unknown.map((k) => `'${k}'`).join(", ")}; expected 'models' and/or 'azure_deployments'`);
  }
  const source = `override: ${origin}`;
  const versions: OverrideVersion[] = [];
  const models = doc.models ?? {};
  if (!isObject(models)) throw new PricingConfigError(`${origin}: 'models' must map model names to prices`);
  for (const [model, spec] of Object.entries(models)) {
    const items = Array.isArray(spec) ? spec : [spec];
    items.forEach((item, i) => {
      const where = `${origin}: models['${model}']` + (Array.isArray(spec) ? `[${i}]` : "");
      if (!isObject(item)) throw new PricingConfigError(`${where}: expected an object of prices, got ${JSON.stringify(item)}`);
      versions.push(makeVersion(model, item, where, source));
    });
  }
  checkDuplicates(versions, origin);
  const raw = doc.azure_deployments ?? {};
  if (!isObject(raw)) throw new PricingConfigError(`${origin}: 'azure_deployments' must map deployment names to model names`);
  const deployments = new Map<string, string>();
  for (const [name, target] of Object.entries(raw)) {
    if (typeof target !== "string" || !target.trim()) {
      throw new PricingConfigError(`${origin}: azure_deployments['${name}'] must be a model name, got ${JSON.stringify(target)}`);
    }
    deployments.set(name.trim(), target.trim());
  }
  return [versions, deployments];
}

function checkDuplicates(versions: OverrideVersion[], origin: string): void {
  const seen = new Set<string>();
  for (const v of versions) {
    const key = `${v.model.toLowerCase()}\u0000${v.provider ?? ""}\u0000${v.effectiveFrom ?? ""}`;
    if (seen.has(key)) {
      const when = v.effectiveFrom === null ? "no effective_from" : new Date(v.effectiveFrom).toISOString();
      throw new PricingConfigError(
        `${origin}: models['${v.model}'] has two prices with ${when}` +
          (v.provider ? ` for provider '${v.provider}'` : "") +
          "; give each version a different effective_from",
      );
    }
    seen.add(key);
  }
}

/** Parse and validate a JSON overrides file. */
export function readOverridesFile(path: string): [OverrideVersion[], Map<string, string>] {
  if (/\.(toml|ya?ml)$/i.test(path)) {
    throw new PricingConfigError(`${path}: the TypeScript SDK reads overrides files as JSON only; write it as .json`);
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new PricingConfigError(`${path}: cannot read the prices file (${code}); check the path (set via ${PRICES_FILE_ENV} or loadOverrides())`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new PricingConfigError(`${path}: invalid JSON: ${(error as Error).message}`);
  }
  return parseOverridesDocument(doc, path);
}

type Key = string; // model lower-cased + "\0" + provider family or ""

function keyOf(model: string, provider: string | null): Key {
  return `${model.toLowerCase()}\u0000${provider ?? ""}`;
}

/** All overrides in force in this process. */
export class OverrideStore {
  private models = new Map<Key, OverrideVersion[]>();
  private deployments = new Map<string, string>();

  get size(): number {
    return this.models.size;
  }

  /** Whether any price or deployment name is set. */
  get empty(): boolean {
    return this.models.size === 0 && this.deployments.size === 0;
  }

  /** Add a version; one with the same model, provider and date replaces the old one. */
  add(version: OverrideVersion): void {
    const key = keyOf(version.model, version.provider);
    const versions = (this.models.get(key) ?? []).filter((v) => v.effectiveFrom !== version.effectiveFrom);
    versions.push(version);
    const order = (v: OverrideVersion) => v.effectiveFrom ?? Number.MIN_SAFE_INTEGER;
    versions.sort((a, b) => order(a) - order(b));
    this.models.set(key, versions);
  }

  addAll(versions: OverrideVersion[], deployments: Map<string, string>): void {
    for (const version of versions) this.add(version);
    for (const [name, target] of deployments) this.setDeployment(name, target);
  }

  setDeployment(deployment: string, model: string): void {
    this.deployments.set(deployment.trim(), model.trim());
  }

  deployment(name: string): string | null {
    if (this.deployments.size === 0) return null;
    const found = this.deployments.get(name);
    if (found !== undefined) return found;
    const lowered = name.toLowerCase();
    for (const [d, m] of this.deployments) if (d.toLowerCase() === lowered) return m;
    return null;
  }

  clear(): void {
    this.models.clear();
    this.deployments.clear();
  }

  /** The override key for `name`: the provider's own override, else a provider-agnostic
   * one. A provider-specific override never applies when the provider is unknown. */
  find(name: string, provider: string | null): Key | null {
    if (this.models.size === 0) return null;
    if (provider !== null && this.models.has(keyOf(name, provider))) return keyOf(name, provider);
    if (this.models.has(keyOf(name, null))) return keyOf(name, null);
    return null;
  }

  /** The version in force at `at` (epoch ms): the latest that started at or before it. */
  inForce(key: Key, at: number): OverrideVersion | null {
    let chosen: OverrideVersion | null = null;
    for (const version of this.models.get(key) ?? []) {
      if (version.effectiveFrom === null || version.effectiveFrom <= at) chosen = version;
      else break;
    }
    return chosen;
  }

  versions(): OverrideVersion[] {
    return [...this.models.values()].flat();
  }
}
