/** The cost formula of llmledger/pricing/cost.py and rates.py, in exact BigInt units:
 * uncached input, cache reads, cache writes (5-minute and 1-hour), audio and image input,
 * the per-request fee, text output, reasoning, audio and image output; context-size tiers
 * (`_above_{N}k_tokens`) and service tiers (batch, priority, flex, ...). */
import { SpanAttributeKey as K } from "../attributes";
import { canonicalUsage, type TokenUsage } from "../usage";
import { getPrice, type At, type ModelPrice } from "./catalog";
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
  };
}

export class MissingPriceError extends Error {}

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
];
const FIELD_1H = "cache_creation_input_token_cost_above_1hr";
const STANDARD_TIERS = new Set(["", "default", "standard", "auto", "on_demand", "on-demand"]);
const MONEY_DETAILS = [
  "uncached_input_cost", "cache_read_cost", "cache_write_cost", "audio_input_cost", "image_input_cost",
  "request_cost", "text_output_cost", "reasoning_cost", "audio_output_cost", "image_output_cost",
];

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
  rates: Record<string, bigint | null>;
  rate1h: bigint | null;
  field1h: string | null;
  priced1hAs: string | null;
  rate1hText: string | null;
  used: Record<string, string>;
  serviceTier: string;
  tier: string;
  rateText: Record<string, string>;
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

function cardFor(price: ModelPrice, serviceTier: string | null | undefined, inputTokens: number): Card {
  const fields = price.fields;
  const [tierName, suffix] = serviceTierName(serviceTier);
  const thresholds = new Set<number>();
  for (const field of fields.keys()) for (const m of field.matchAll(/_above_(\d+)k_tokens/g)) thresholds.add(Number(m[1]));
  const applicable = [...thresholds].sort((a, b) => a - b).filter((n) => n * 1000 < inputTokens).reverse();
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
  const rateText: Record<string, string> = {};
  for (const field of [...new Set(Object.values(used))].sort()) rateText[field] = decToString(fields.get(field)!);
  return {
    scale,
    rates: units,
    rate1h: rate1h ? toUnits(rate1h, scale) : null,
    field1h,
    priced1hAs: name1h !== null ? null : field1h,
    rate1hText: derived1h !== null ? decToString(derived1h) : null,
    used,
    serviceTier: tierName,
    tier: largest !== null ? `above_${largest}k_tokens` : "standard",
    rateText,
  };
}

function tokens(usage: Record<string, unknown>, key: string): number {
  const v = usage[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`inconsistent usage: ${key} must be a whole number, got ${JSON.stringify(v)}`);
  if (v < 0) throw new Error(`inconsistent usage: ${key} must not be negative, got ${v}`);
  return v;
}

/** The cost of a canonical usage at a price: pure, exact. Throws Error for inconsistent
 * usage and MissingPriceError when tokens need a price the entry lacks. */
export function costFromPrice(usage: TokenUsage | Record<string, unknown>, price: ModelPrice, serviceTier?: string | null): Cost {
  const u = usage as Record<string, unknown>;
  const inp = tokens(u, "input_tokens");
  const out = tokens(u, "output_tokens");
  const read = tokens(u, "cache_read_input_tokens");
  const write = tokens(u, "cache_creation_input_tokens");
  const write1h = tokens(u, "cache_creation_1h_input_tokens");
  const audioIn = tokens(u, "audio_input_tokens");
  const imageIn = tokens(u, "image_input_tokens");
  const reasoning = tokens(u, "reasoning_tokens");
  const audioOut = tokens(u, "audio_output_tokens");
  const imageOut = tokens(u, "image_output_tokens");
  if (write1h > write) throw new Error(`inconsistent usage: cache_creation_1h_input_tokens = ${write1h} exceeds cache_creation_input_tokens = ${write}`);
  const uncached = inp - read - write - audioIn - imageIn;
  if (uncached < 0) throw new Error(`inconsistent usage: input details add up to ${inp - uncached}, more than input_tokens = ${inp}`);
  if (reasoning + audioOut + imageOut > out) throw new Error(`inconsistent usage: output details add up to more than output_tokens = ${out}`);
  const card = cardFor(price, serviceTier, inp);
  const r = card.rates;
  const times = (count: number, rate: bigint | null, component: string): bigint => {
    if (count === 0) return 0n;
    if (rate === null) throw new MissingPriceError(`model ${JSON.stringify(price.model_id)} has no per-token price for ${count} ${component} tokens`);
    return BigInt(count) * rate;
  };
  const separateReasoning = r.reasoning !== null;
  const textOut = out - audioOut - imageOut - (separateReasoning ? reasoning : 0);
  const write1hUnits = times(write1h, card.rate1h, "cache_write_1h");
  const parts = [
    times(uncached, r.input, "input"),
    times(read, r.cache_read, "cache_read"),
    times(write - write1h, r.cache_write, "cache_write") + write1hUnits,
    times(audioIn, r.audio_input, "audio_input"),
    times(imageIn, r.image_input, "image_input"),
    r.request ?? 0n,
    times(textOut, r.output, "output"),
    separateReasoning ? times(reasoning, r.reasoning, "reasoning") : 0n,
    times(audioOut, r.audio_output, "audio_output"),
    times(imageOut, r.image_output, "image_output"),
  ];
  const inUnits = parts[0] + parts[1] + parts[2] + parts[3] + parts[4] + parts[5];
  const outUnits = parts[6] + parts[7] + parts[8] + parts[9];
  if (inUnits < 0n || outUnits < 0n) throw new Error("cost must not be negative");
  const k = card.scale;
  const details: Record<string, number | string> = {};
  const decimals: Record<string, string> = {
    input_cost: unitsToString(inUnits, k),
    output_cost: unitsToString(outUnits, k),
    total_cost: unitsToString(inUnits + outUnits, k),
  };
  MONEY_DETAILS.forEach((key, i) => {
    details[key] = unitsToNumber(parts[i], k);
    decimals[key] = unitsToString(parts[i], k);
    if (key === "cache_write_cost" && write1h) {
      details.cache_write_1h_cost = unitsToNumber(write1hUnits, k);
      decimals.cache_write_1h_cost = unitsToString(write1hUnits, k);
    }
  });
  details.service_tier = card.serviceTier;
  details.tier = card.tier;
  if (write1h && card.priced1hAs) details.cache_write_1h_priced_as = card.priced1hAs;
  const fieldsUsed = { ...card.used };
  const rates = { ...card.rateText };
  if (write1h && card.field1h) {
    fieldsUsed.cache_write_1h = card.field1h;
    rates[card.field1h] = card.rate1hText ?? decToString(price.fields.get(card.field1h)!);
  }
  const cost = {
    input_cost: unitsToNumber(inUnits, k),
    output_cost: unitsToNumber(outUnits, k),
    total_cost: unitsToNumber(inUnits + outUnits, k),
  } as Cost;
  const hidden = {
    details,
    decimals,
    price: {
      model_id: price.model_id,
      provider: price.provider,
      matched_by: price.matched_by,
      source: price.source,
      service_tier: card.serviceTier,
      tier: card.tier,
      fields_used: fieldsUsed,
      rates: Object.fromEntries(Object.entries(rates).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    },
  };
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
  options: { provider?: string | null; serviceTier?: string | null; at?: At } = {},
): Cost | undefined {
  if (!usage) return undefined;
  const u = usage as Record<string, unknown>;
  if (u.input_tokens == null && u.output_tokens == null) return undefined;
  const price = getPrice(model, options.provider, options.at);
  if (!price) return undefined;
  try {
    return costFromPrice(usage, price, options.serviceTier);
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
    return computeCost(model, usage, { provider: firstNamed(attrs, PROVIDER_KEYS), serviceTier: firstNamed(attrs, TIER_KEYS), at: startMs });
  } catch {
    return undefined;
  }
}
