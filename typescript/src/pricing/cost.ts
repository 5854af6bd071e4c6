/** The cost formula of llmledger/pricing/cost.py (its PARTS table) and rates.py, in exact
 * BigInt units: uncached input, cache reads (cached audio at its own rate), cache writes
 * (5-minute and 1-hour), audio and image input, the per-request fee, text output, reasoning,
 * audio and image output; units that are not tokens (characters, seconds of audio, images,
 * web-search calls, with the providers' list price or an unpriced_* note); context-size tiers
 * (`_above_{N}k_tokens`), service tiers (batch, priority, flex, ...), and Anthropic fast mode
 * and US-only inference (multipliers on every token rate). */
import { SpanAttributeKey as K } from "../attributes";
import { canonicalUsage, normalizeUsage, type TokenUsage } from "../usage";
import { getPrice, type At, type ModelPrice } from "./catalog";
import { canonicalProvider } from "./resolution";
import { decToString, pow10, scaleFor, toUnits, unitsToNumber, unitsToString, type Dec } from "./money";

export interface CostDict {
  input_cost: number;
  output_cost: number;
  total_cost: number;
}

/** A computed cost: the three floats (each the double nearest to the exact amount), plus,
 * not enumerable, `details` (each part in USD), `decimals` (exact decimal strings) and
 * `price` (the catalog entry, rule and fields used). */
export interface Cost extends CostDict {
  readonly details: Record<string, number | string>;
  readonly decimals: Record<string, string>;
  readonly price: {
    model_id: string;
    provider: string | null;
    matched_by: string;
    source: string;
    service_tier: string;
    tier: string;
    fields_used: Record<string, string>;
    rates: Record<string, string>;
    /** fast mode / US-only inference applied, and their combined factor */
    modifiers?: Record<string, string>;
  };
}

export class MissingPriceError extends Error {}

// component -> [catalog base field, component whose rate is the fallback] (rates.py COMPONENTS)
const COMPONENTS: [string, string, string | null][] = [
  ["input", "input_cost_per_token", null],
  ["cache_read", "cache_read_input_token_cost", "input"],
  ["cache_write", "cache_creation_input_token_cost", "input"],
  ["audio_input", "input_cost_per_audio_token", "input"],
  ["image_input", "input_cost_per_image_token", "input"],
  ["request", "input_cost_per_request", null],
  ["output", "output_cost_per_token", null],
  ["reasoning", "output_cost_per_reasoning_token", null],
  ["audio_output", "output_cost_per_audio_token", "output"],
  ["image_output", "output_cost_per_image_token", "output"],
  // cached audio: its own rate, else the cache-read rate
  ["cache_read_audio", "cache_read_input_audio_token_cost", "cache_read"],
  // units that are not tokens (priced per unit, no fallback to a token rate)
  ["character", "input_cost_per_character", null],
  ["audio_second", "input_cost_per_second", null],
  ["web_search", "web_search_cost_per_request", null],
  ["grounded_prompt", "grounded_prompt_cost_per_request", null],
  ["image_input_field", "input_cost_per_image", null],
  ["image", "output_cost_per_image", "image_input_field"],
];
/** Web-search tool calls of entries without web_search_cost_per_request: the providers' list
 * price per call (rates.py WEB_SEARCH_PER_REQUEST). Anthropic "$10 per 1,000 searches"
 * (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool#usage-and-pricing);
 * OpenAI Responses web_search "$10.00 / 1k calls" (https://platform.openai.com/docs/pricing#built-in-tools). */
export const WEB_SEARCH_PER_REQUEST: Record<string, Dec> = {
  anthropic: { n: 1n, e: -2 },
  openai: { n: 1n, e: -2 },
};
/** Grounding with Google Search of Gemini entries (Gemini API, Vertex AI) that price neither
 * unit themselves (rates.py GROUNDING_PER_*; https://ai.google.dev/gemini-api/docs/pricing):
 * Gemini 3 and newer "$14 / 1,000 search queries", earlier Gemini "$35 / 1,000 grounded
 * prompts" (one per request, its queries included). Every grounded call at the paid rate. */
export const GROUNDING_PER_QUERY: Dec = { n: 14n, e: -3 };
export const GROUNDING_PER_PROMPT: Dec = { n: 35n, e: -3 };
const GEMINI_GENERATION = /(?:^|\/)gemini-(\d+)(?:\.\d+)?-/;
/** Anthropic fast mode: 6x standard rates on these models
 * (https://platform.claude.com/docs/en/build-with-claude/fast-mode#pricing). */
export const FAST_MODE_MULTIPLIERS: Record<string, Dec> = {
  "claude-opus-4-6": { n: 6n, e: 0 },
  "claude-opus-4-7": { n: 6n, e: 0 },
};
/** Anthropic US-only inference: 1.1x on every token price, Claude 4.6 and newer
 * (https://platform.claude.com/docs/en/about-claude/pricing#data-residency-pricing). */
export const US_ONLY_MULTIPLIER: Dec = { n: 11n, e: -1 };
const CLAUDE_VERSION = /claude-(?:opus|sonnet|haiku)-(\d+)-(\d{1,2})(?!\d)/;
// the components priced per token (a modifier multiplies these, not fees or other units)
const TOKEN_RATES = new Set([
  "input", "cache_read", "cache_write", "cache_write_1h", "cache_read_audio", "audio_input", "image_input",
  "output", "reasoning", "audio_output", "image_output",
]);
const FIELD_1H = "cache_creation_input_token_cost_above_1hr";
const STANDARD_TIERS = new Set(["", "default", "standard", "auto", "on_demand", "on-demand"]);
const MONEY_DETAILS = [
  "uncached_input_cost", "cache_read_cost", "cache_write_cost", "audio_input_cost", "image_input_cost",
  "request_cost", "text_output_cost", "reasoning_cost", "audio_output_cost", "image_output_cost",
];

/** One row of the formula (cost.py PARTS): a usage key's own count at one rate of the card. */
interface Part {
  key: string;
  component: string;
  detail: string;
  output?: boolean;
  /** usage keys whose counts include this one (priced once, here) */
  within?: string[];
  /** a sub-detail: its amount also counts in this detail */
  into?: string;
  /** without a rate of its own it is priced as its parent (reasoning as text output) */
  ownRateOnly?: boolean;
  /** false: a count of other units than tokens */
  tokens?: boolean;
  /** without a price: noted as unpriced_<key>, the rest still priced */
  unpricedOk?: boolean;
}

const PARTS: Part[] = [
  { key: "cache_read_input_tokens", component: "cache_read", detail: "cache_read_cost" },
  { key: "cache_read_audio_input_tokens", component: "cache_read_audio", detail: "cache_read_audio_cost", within: ["cache_read_input_tokens", "audio_input_tokens"] },
  { key: "cache_creation_input_tokens", component: "cache_write", detail: "cache_write_cost" },
  { key: "cache_creation_1h_input_tokens", component: "cache_write_1h", detail: "cache_write_1h_cost", within: ["cache_creation_input_tokens"], into: "cache_write_cost" },
  { key: "audio_input_tokens", component: "audio_input", detail: "audio_input_cost" },
  { key: "image_input_tokens", component: "image_input", detail: "image_input_cost" },
  { key: "input_characters", component: "character", detail: "characters_cost", tokens: false },
  { key: "input_audio_seconds", component: "audio_second", detail: "audio_seconds_cost", tokens: false },
  { key: "web_search_requests", component: "web_search", detail: "web_search_cost", tokens: false, unpricedOk: true },
  { key: "grounded_prompts", component: "grounded_prompt", detail: "grounding_cost", tokens: false, unpricedOk: true },
  { key: "reasoning_tokens", component: "reasoning", detail: "reasoning_cost", output: true, ownRateOnly: true },
  { key: "audio_output_tokens", component: "audio_output", detail: "audio_output_cost", output: true },
  { key: "image_output_tokens", component: "image_output", detail: "image_output_cost", output: true },
  { key: "output_images", component: "image", detail: "images_cost", output: true, tokens: false },
];
const INNER: Record<string, string[]> = Object.fromEntries(
  PARTS.map((p) => [p.key, PARTS.filter((q) => (q.within ?? []).includes(p.key)).map((q) => q.key)]),
);
// the order of the money details: MONEY_DETAILS always, the others when not 0
const ORDER = [
  "uncached_input_cost",
  ...PARTS.filter((p) => !p.output).map((p) => p.detail),
  "request_cost",
  "text_output_cost",
  ...PARTS.filter((p) => p.output).map((p) => p.detail),
];
const CANONICAL_KEYS = new Set(["input_tokens", "output_tokens", "total_tokens", ...PARTS.map((p) => p.key)]);

export function serviceTierName(tier: string | null | undefined): [string, string] {
  if (tier === null || tier === undefined) return ["standard", ""];
  const name = String(tier).trim().toLowerCase();
  if (STANDARD_TIERS.has(name)) return ["standard", ""];
  if (name === "batch" || name === "batches") return ["batch", "_batches"];
  if (!/^[a-z0-9_]+$/.test(name)) return [name, ""];
  return [name, "_" + name];
}

function pick(fields: Map<string, Dec>, base: string, suffix: string, applicable: number[]): [string | null, number | null] {
  for (const n of applicable) {
    if (suffix && fields.has(`${base}_above_${n}k_tokens${suffix}`)) return [`${base}_above_${n}k_tokens${suffix}`, n];
    if (fields.has(`${base}_above_${n}k_tokens`)) return [`${base}_above_${n}k_tokens`, n];
  }
  if (suffix && fields.has(base + suffix)) return [base + suffix, null];
  if (fields.has(base)) return [base, null];
  return [null, null];
}

interface Card {
  scale: number;
  /** component -> units of 10^-scale USD (cache_write_1h included); null = no price */
  rates: Record<string, bigint | null>;
  field1h: string | null;
  priced1hAs: string | null;
  rate1hText: string | null;
  used: Record<string, string>;
  serviceTier: string;
  tier: string;
  rateText: Record<string, string>;
  /** fast mode / US-only inference applied: {speed, inference_geo} */
  notes: Record<string, string>;
  factor: string | null;
}

/** standard1h x (tier write / standard write), when the tier prices 5-minute writes and the
 * result is an exact decimal; else null. */
function tierRate1h(fields: Map<string, Dec>, standard1h: Dec, writeField: string | undefined, suffix: string): Dec | null {
  if (!writeField || !writeField.endsWith(suffix)) return null;
  const standardWrite = fields.get(writeField.slice(0, -suffix.length));
  const tierWrite = fields.get(writeField)!;
  if (!standardWrite || standardWrite.n === 0n) return null;
  const num = standard1h.n * tierWrite.n;
  for (let p = 0; p <= 30; p++) {
    const scaled = num * pow10(p);
    if (scaled % standardWrite.n === 0n) {
      return { n: scaled / standardWrite.n, e: standard1h.e + tierWrite.e - p - standardWrite.e };
    }
  }
  return null;
}

/** Cards built per price (the resolution keeps each price object), by service tier and
 * number of context thresholds passed: built once, as Python caches them on the price. */
const cards = new WeakMap<ModelPrice, { thresholds: number[]; byKey: Map<string, Card> }>();
const MAX_CARDS = 32;

function cardFor(price: ModelPrice, serviceTier: string | null | undefined, inputTokens: number): Card {
  let cached = cards.get(price);
  if (!cached) {
    const found = new Set<number>();
    for (const field of price.fields.keys()) for (const m of field.matchAll(/_above_(\d+)k_tokens/g)) found.add(Number(m[1]));
    cached = { thresholds: [...found].sort((a, b) => a - b), byKey: new Map() };
    cards.set(price, cached);
  }
  const [tierName, suffix] = serviceTierName(serviceTier);
  const passed = cached.thresholds.filter((n) => n * 1000 < inputTokens);
  const key = `${tierName}\u0000${suffix}\u0000${passed.length}`;
  let card = cached.byKey.get(key);
  if (!card) {
    card = buildCard(price, tierName, suffix, passed.reverse());
    if (cached.byKey.size < MAX_CARDS) cached.byKey.set(key, card);
  }
  return card;
}

/** The card for the context thresholds `applicable` (largest first). */
/** Gemini's Google Search grounding list prices on a card whose entry prices neither unit
 * (rates.py _google_search_grounding): per search query from Gemini 3 on (a grounded prompt
 * then costs nothing of its own), per grounded prompt before (its queries included). */
function googleSearchGrounding(
  price: ModelPrice,
  rates: Record<string, Dec | null>,
  used: Record<string, string>,
  rateText: Record<string, string>,
): void {
  if (rates.web_search !== null || rates.grounded_prompt !== null) return;
  const family = canonicalProvider(price.provider);
  if (family !== "gemini" && family !== "vertex_ai") return;
  const generation = GEMINI_GENERATION.exec(price.model_id.toLowerCase());
  if (generation === null) return;
  const zero: Dec = { n: 0n, e: 0 };
  if (Number(generation[1]) >= 3) {
    rates.web_search = GROUNDING_PER_QUERY;
    rates.grounded_prompt = zero;
    used.web_search = "Google Search grounding, Gemini 3+ list price per search query";
    used.grounded_prompt = "Google Search grounding, billed per search query";
  } else {
    rates.web_search = zero;
    rates.grounded_prompt = GROUNDING_PER_PROMPT;
    used.web_search = "Google Search grounding, included in the grounded prompt";
    used.grounded_prompt = "Google Search grounding, Gemini 2 list price per grounded prompt";
  }
  rateText[used.web_search] = decToString(rates.web_search);
  rateText[used.grounded_prompt] = decToString(rates.grounded_prompt);
}

function buildCard(price: ModelPrice, tierName: string, suffix: string, applicable: number[]): Card {
  const fields = price.fields;
  const rates: Record<string, Dec | null> = {};
  const used: Record<string, string> = {};
  let largest: number | null = null;
  for (const [component, base, fallback] of COMPONENTS) {
    const [name, n] = pick(fields, base, suffix, applicable);
    if (n !== null && (largest === null || n > largest)) largest = n;
    if (name !== null) {
      rates[component] = fields.get(name)!;
      used[component] = name;
    } else if (fallback !== null && rates[fallback]) {
      rates[component] = rates[fallback];
      used[component] = used[fallback];
    } else rates[component] = null;
  }
  const rateText: Record<string, string> = {};
  const provider = price.provider ?? "";
  if (rates.web_search === null && Object.prototype.hasOwnProperty.call(WEB_SEARCH_PER_REQUEST, provider)) {
    rates.web_search = WEB_SEARCH_PER_REQUEST[provider];
    used.web_search = `web search, ${provider} list price`;
    rateText[used.web_search] = decToString(rates.web_search);
  }
  googleSearchGrounding(price, rates, used, rateText);
  const [name1h] = pick(fields, FIELD_1H, suffix, applicable);
  let rate1h = name1h !== null ? fields.get(name1h)! : rates.cache_write;
  let field1h = name1h ?? used.cache_write ?? null;
  let derived1h: Dec | null = null;
  if (name1h !== null && suffix && !name1h.endsWith(suffix)) {
    // the tier's discount on 5-minute writes covers 1-hour writes (Anthropic batch), as in Python
    derived1h = tierRate1h(fields, fields.get(name1h)!, used.cache_write, suffix);
    if (derived1h !== null) {
      rate1h = derived1h;
      field1h = `${name1h}${suffix} (derived: ${name1h} at the tier's cache-write discount)`;
    }
  }
  const present = Object.values(rates).filter((r): r is Dec => r !== null);
  if (name1h !== null && rate1h) present.push(rate1h);
  const scale = scaleFor(present);
  const units: Record<string, bigint | null> = {};
  for (const [component, rate] of Object.entries(rates)) units[component] = rate === null ? null : toUnits(rate, scale);
  units.cache_write_1h = rate1h ? toUnits(rate1h, scale) : null;
  for (const field of new Set(Object.values(used))) if (fields.has(field)) rateText[field] = decToString(fields.get(field)!);
  return {
    scale,
    rates: units,
    field1h,
    priced1hAs: name1h !== null ? null : field1h,
    rate1hText: derived1h !== null ? decToString(derived1h) : null,
    used,
    serviceTier: tierName,
    tier: largest !== null ? `above_${largest}k_tokens` : "standard",
    rateText,
    notes: {},
    factor: null,
  };
}

function mulDec(a: Dec, b: Dec): Dec {
  return { n: a.n * b.n, e: a.e + b.e };
}

/** [factor, notes] of a call run in `speed` mode in `inferenceGeo` (rates.py price_modifier),
 * or null when they change nothing for this model. */
export function priceModifier(modelId: string, speed?: string | null, inferenceGeo?: string | null): [Dec, Record<string, string>] | null {
  const name = modelId.slice(modelId.lastIndexOf("/") + 1).toLowerCase();
  let factor: Dec = { n: 1n, e: 0 };
  const notes: Record<string, string> = {};
  if (typeof speed === "string" && speed.trim().toLowerCase() === "fast") {
    const hit = Object.entries(FAST_MODE_MULTIPLIERS).find(([prefix]) => name.startsWith(prefix));
    if (hit) {
      factor = mulDec(factor, hit[1]);
      notes.speed = "fast";
    }
  }
  if (typeof inferenceGeo === "string" && inferenceGeo.trim().toLowerCase() === "us") {
    const v = CLAUDE_VERSION.exec(name);
    if (v && (Number(v[1]) > 4 || (Number(v[1]) === 4 && Number(v[2]) >= 6))) {
      factor = mulDec(factor, US_ONLY_MULTIPLIER);
      notes.inference_geo = "us";
    }
  }
  return Object.keys(notes).length ? [factor, notes] : null;
}

/** `card` with every per-token rate times `factor`, exactly (at a larger scale if need be). */
function modifiedCard(card: Card, factor: Dec, notes: Record<string, string>): Card {
  const values: Record<string, Dec> = {};
  const all: Dec[] = [];
  for (const [c, u] of Object.entries(card.rates)) {
    if (u === null) continue;
    const d: Dec = { n: u, e: -card.scale };
    all.push(d);
    if (TOKEN_RATES.has(c)) values[c] = mulDec(d, factor);
  }
  const scale = scaleFor([...Object.values(values), ...all]);
  const rates: Record<string, bigint | null> = {};
  for (const [c, u] of Object.entries(card.rates)) {
    rates[c] = u === null ? null : toUnits(values[c] ?? { n: u, e: -card.scale }, scale);
  }
  return { ...card, scale, rates, notes, factor: decToString(factor) };
}

function tokens(usage: Record<string, unknown>, key: string): number {
  const v = usage[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`inconsistent usage: ${key} must be a whole number, got ${JSON.stringify(v)}`);
  if (v < 0) throw new Error(`inconsistent usage: ${key} must not be negative, got ${v}`);
  return v;
}

/** Options of a call that change its price: Anthropic fast mode and US-only inference. */
export interface PriceModifiers {
  /** "fast": Anthropic fast mode (6x on Opus 4.6/4.7) */
  speed?: string | null;
  /** "us": Anthropic US-only inference (1.1x on Claude 4.6 and newer) */
  inferenceGeo?: string | null;
}

/** The usage in canonical keys: another shape (OpenAI's prompt_tokens and nested details,
 * DeepSeek's prompt_cache_hit_tokens, camelCase...), even mixed with canonical keys, is read
 * as normalizeUsage reads it. */
function canonicalShape(usage: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(usage).every((key) => CANONICAL_KEYS.has(key))) return usage;
  return (normalizeUsage(usage) as Record<string, unknown> | undefined) ?? usage;
}

/** The cost of a usage at a price: pure, exact (the table of cost.py). Throws Error for
 * inconsistent usage and MissingPriceError when a count needs a price the entry lacks. */
export function costFromPrice(
  usage: TokenUsage | Record<string, unknown>,
  price: ModelPrice,
  serviceTier?: string | null,
  modifiers: PriceModifiers = {},
): Cost {
  const u = canonicalShape(usage as Record<string, unknown>);
  const inp = tokens(u, "input_tokens");
  const out = tokens(u, "output_tokens");
  let card = cardFor(price, serviceTier, inp);
  const modifier = priceModifier(price.model_id, modifiers.speed, modifiers.inferenceGeo);
  if (modifier) card = modifiedCard(card, ...modifier);
  const r = card.rates;
  const priced: [number, Part][] = [];
  const used = [0, 0];
  const reported = [0, 0];
  const unpriced: Record<string, number> = {};
  for (const part of PARTS) {
    if (u[part.key] === undefined || u[part.key] === null) continue;
    const count = tokens(u, part.key);
    let n = count;
    for (const innerKey of INNER[part.key]) {
      const m = tokens(u, innerKey);
      n -= m;
      if (n < 0) throw new Error(`inconsistent usage: ${innerKey} = ${m} exceeds ${part.key} = ${count}; ${innerKey} is part of ${part.key}`);
    }
    if (!n) continue;
    for (const outerKey of part.within ?? []) {
      if (u[outerKey] === undefined || u[outerKey] === null) {
        throw new Error(`inconsistent usage: ${part.key} = ${count} exceeds ${outerKey} = 0; ${part.key} is part of ${outerKey}`);
      }
    }
    const side = part.output ? 1 : 0;
    if (part.tokens !== false) {
      reported[side] += n;
      if (part.ownRateOnly && r[part.component] === null) continue;
      used[side] += n;
    } else if (part.unpricedOk && r[part.component] === null) {
      unpriced[`unpriced_${part.key}`] = n;
      continue;
    }
    priced.push([n, part]);
  }
  if (reported[0] > inp) throw new Error(`inconsistent usage: the input details add up to ${reported[0]}, which exceeds input_tokens = ${inp}`);
  if (reported[1] > out) throw new Error(`inconsistent usage: the output details add up to ${reported[1]}, which exceeds output_tokens = ${out}`);
  const times = (count: number, component: string): bigint => {
    if (count === 0) return 0n;
    const rate = r[component];
    if (rate === null || rate === undefined) {
      throw new MissingPriceError(`model ${JSON.stringify(price.model_id)} has no price for ${count} ${component} units`);
    }
    return BigInt(count) * rate;
  };
  const amounts = new Map<string, bigint>(MONEY_DETAILS.map((d) => [d, 0n]));
  amounts.set("uncached_input_cost", times(inp - used[0], "input"));
  amounts.set("request_cost", r.request ?? 0n);
  amounts.set("text_output_cost", times(out - used[1], "output"));
  const totals = [amounts.get("uncached_input_cost")! + (r.request ?? 0n), amounts.get("text_output_cost")!];
  for (const [n, part] of priced) {
    const units = times(n, part.component);
    amounts.set(part.detail, (amounts.get(part.detail) ?? 0n) + units);
    if (part.into) amounts.set(part.into, amounts.get(part.into)! + units);
    totals[part.output ? 1 : 0] += units;
  }
  const [inUnits, outUnits] = totals;
  if (inUnits < 0n || outUnits < 0n || inUnits + outUnits < 0n) throw new Error("cost must not be negative");
  return makeCost(price, card, inUnits, outUnits, amounts, unpriced, priced.some(([, p]) => p.key === "cache_creation_1h_input_tokens"));
}

function makeCost(
  price: ModelPrice,
  card: Card,
  inUnits: bigint,
  outUnits: bigint,
  amounts: Map<string, bigint>,
  unpriced: Record<string, number>,
  has1h: boolean,
): Cost {
  const k = card.scale;
  const details: Record<string, number | string> = {};
  const decimals: Record<string, string> = {
    input_cost: unitsToString(inUnits, k),
    output_cost: unitsToString(outUnits, k),
    total_cost: unitsToString(inUnits + outUnits, k),
  };
  for (const key of ORDER) {
    const units = amounts.get(key);
    if (units === undefined) continue;
    details[key] = unitsToNumber(units, k);
    decimals[key] = unitsToString(units, k);
  }
  details.service_tier = card.serviceTier;
  details.tier = card.tier;
  Object.assign(details, card.notes, unpriced);
  if (has1h && card.priced1hAs) details.cache_write_1h_priced_as = card.priced1hAs;
  const fieldsUsed: Record<string, string> = { ...card.used };
  const rates: Record<string, string> = { ...card.rateText };
  if (has1h && card.field1h) {
    fieldsUsed.cache_write_1h = card.field1h;
    rates[card.field1h] = card.rate1hText ?? decToString(price.fields.get(card.field1h)!);
  }
  const cost = {
    input_cost: unitsToNumber(inUnits, k),
    output_cost: unitsToNumber(outUnits, k),
    total_cost: unitsToNumber(inUnits + outUnits, k),
  } as Cost;
  const explanation: Cost["price"] = {
    model_id: price.model_id,
    provider: price.provider,
    matched_by: price.matched_by,
    source: price.source,
    service_tier: card.serviceTier,
    tier: card.tier,
    fields_used: fieldsUsed,
    rates: Object.fromEntries(Object.entries(rates).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
  if (card.factor !== null) explanation.modifiers = { ...card.notes, factor: card.factor };
  const hidden = { details, decimals, price: explanation };
  for (const [key, value] of Object.entries(hidden)) Object.defineProperty(cost, key, { value, enumerable: false });
  return cost;
}

const warnedMissing = new Set<string>();

/** Resolve the model (user overrides in force at `at`, default now, then the bundled
 * catalog) and price the usage; undefined when the model is unknown, the usage has no input
 * or output, or the entry lacks a needed price. */
export function computeCost(
  model: string,
  usage: TokenUsage | Record<string, unknown> | null | undefined,
  options: { provider?: string | null; serviceTier?: string | null; at?: At } & PriceModifiers = {},
): Cost | undefined {
  if (!usage) return undefined;
  let u = usage as Record<string, unknown>;
  if (u.input_tokens == null && u.output_tokens == null) {
    // another shape (prompt_tokens...), or a call billed in other units only (images, seconds)
    const canonical = normalizeUsage(u) as Record<string, unknown> | undefined;
    if (!canonical || (canonical.input_tokens == null && canonical.output_tokens == null)) return undefined;
    u = canonical;
  }
  const price = getPrice(model, options.provider, options.at);
  if (!price) return undefined;
  try {
    return costFromPrice(u, price, options.serviceTier, { speed: options.speed, inferenceGeo: options.inferenceGeo });
  } catch (error) {
    if (error instanceof MissingPriceError) {
      if (!warnedMissing.has(price.model_id)) {
        warnedMissing.add(price.model_id);
        console.warn(`llmledger: ${error.message}; no cost computed`);
      }
      return undefined;
    }
    throw error;
  }
}

const MODEL_KEYS = [K.MODEL, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "llm.response.model", "llm.request.model"];
const PROVIDER_KEYS = [K.PROVIDER, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"];
const TIER_KEYS = [K.SERVICE_TIER, "openai.response.service_tier", "gen_ai.openai.response.service_tier"];

function firstNamed(attrs: Record<string, unknown>, keys: string[]): string | null {
  for (const key of keys) if (attrs[key]) return String(attrs[key]);
  return null;
}

function handSetCost(value: unknown): CostDict | undefined {
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : 0);
  const input = num(v.input_cost);
  const output = num(v.output_cost);
  // a missing total is the exact sum of the parts
  const total = typeof v.total_cost === "number" ? v.total_cost : Number(exactSum(input, output));
  return { input_cost: input, output_cost: output, total_cost: total };
}

function exactSum(a: number, b: number): string {
  const decs = [a, b].map((x) => {
    const text = String(x);
    const m = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text);
    if (!m) return null;
    return { n: BigInt((m[1] || "0") + (m[2] ?? "")), e: Number(m[3] ?? 0) - (m[2] ?? "").length };
  });
  if (decs.some((d) => d === null)) return String(a + b);
  const k = Math.max(0, ...decs.map((d) => -d!.e));
  const units = decs.reduce((acc, d) => acc + d!.n * pow10(k + d!.e), 0n);
  return `${units}e-${k}`;
}

/** A span's cost from its attributes: set by hand (kept as set), else computed at the
 * prices in force at the span's start (`startMs`). */
export function costOfAttributes(attrs: Record<string, unknown>, startMs?: number): CostDict | undefined {
  if (attrs[K.COST] !== undefined) return handSetCost(attrs[K.COST]);
  const usage = canonicalUsage(attrs[K.TOKEN_USAGE]);
  if (!usage) return undefined;
  const model = firstNamed(attrs, MODEL_KEYS);
  if (!model) return undefined;
  try {
    return computeCost(model, usage, {
      provider: firstNamed(attrs, PROVIDER_KEYS),
      serviceTier: firstNamed(attrs, TIER_KEYS),
      at: startMs,
      speed: typeof attrs[K.SPEED] === "string" ? (attrs[K.SPEED] as string) : null,
      inferenceGeo: typeof attrs[K.INFERENCE_GEO] === "string" ? (attrs[K.INFERENCE_GEO] as string) : null,
    });
  } catch {
    return undefined;
  }
}
