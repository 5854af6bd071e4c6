/** The bundled price catalog: the Python package's pricing/data/prices.json, copied into
 * dist/data at build time (one source of truth). Parsed on the first lookup. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDecimal, type Dec } from "./money";
import { VENDOR_PREFIXES, candidates, canonicalProvider, type Candidate } from "./resolution";

export interface ModelPrice {
  model_id: string;
  provider: string | null;
  mode: string | null;
  matched_by: string;
  query: string;
  source: string;
  /** every cost field, exact */
  fields: Map<string, Dec>;
}

type Entry = Record<string, number | string>;

class Snapshot {
  readonly entries: Record<string, Entry>;
  readonly aliases: Record<string, string>;
  readonly source: string;
  private lower: Map<string, string> | null = null;
  private knownSet: Set<string> | null = null;
  private decimals = new Map<string, Map<string, Dec>>();

  constructor(data: Record<string, unknown>) {
    const meta = (data._meta ?? {}) as Record<string, unknown>;
    this.aliases = (data._aliases ?? {}) as Record<string, string>;
    const entries: Record<string, Entry> = {};
    for (const [key, value] of Object.entries(data)) if (!key.startsWith("_")) entries[key] = value as Entry;
    this.entries = entries;
    this.source = `bundled: litellm ${meta.litellm_version ?? "unknown version"} snapshot ${meta.snapshot_date}`;
  }

  private lowerIndex(): Map<string, string> {
    if (!this.lower) {
      const index = new Map<string, string>();
      for (const key of Object.keys(this.entries)) if (!index.has(key.toLowerCase())) index.set(key.toLowerCase(), key);
      for (const key of Object.keys(this.aliases)) if (!index.has(key.toLowerCase())) index.set(key.toLowerCase(), key);
      this.lower = index;
    }
    return this.lower;
  }

  get known(): Set<string> {
    if (!this.knownSet) {
      const known = new Set<string>(VENDOR_PREFIXES);
      for (const [key, entry] of Object.entries(this.entries)) {
        const family = canonicalProvider(entry.litellm_provider as string | undefined);
        if (family) known.add(family);
        const slash = key.indexOf("/");
        if (slash >= 0 && family && canonicalProvider(key.slice(0, slash)) === family) known.add(key.slice(0, slash).toLowerCase());
      }
      this.knownSet = known;
    }
    return this.knownSet;
  }

  find(name: string): [string | null, string] {
    if (Object.prototype.hasOwnProperty.call(this.entries, name)) return [name, "exact"];
    const key = this.lowerIndex().get(name.toLowerCase());
    if (key === undefined) return [null, ""];
    if (Object.prototype.hasOwnProperty.call(this.entries, key)) return [key, key !== name ? "lower" : "exact"];
    const target = this.aliases[key];
    if (target !== undefined && Object.prototype.hasOwnProperty.call(this.entries, target)) return [target, "alias"];
    return [null, ""];
  }

  family(key: string): string | null {
    return canonicalProvider(this.entries[key].litellm_provider as string | undefined);
  }

  price(key: string, matchedBy: string, query: string): ModelPrice {
    const entry = this.entries[key];
    let fields = this.decimals.get(key);
    if (!fields) {
      fields = new Map();
      for (const [field, value] of Object.entries(entry)) {
        if (field !== "litellm_provider" && field !== "mode") fields.set(field, parseDecimal(value as number));
      }
      this.decimals.set(key, fields);
    }
    return {
      model_id: key,
      provider: (entry.litellm_provider as string) ?? null,
      mode: (entry.mode as string) ?? null,
      matched_by: matchedBy,
      query,
      source: this.source,
      fields,
    };
  }
}

let snapshot: Snapshot | null = null;
const resolved = new Map<string, ModelPrice | null>();
const warned = new Set<string>();

/** Where the catalog is read from: dist/data/prices.json next to the build. */
export function catalogPath(): string {
  return join(__dirname, "..", "..", "data", "prices.json");
}

function catalog(): Snapshot {
  if (!snapshot) snapshot = new Snapshot(JSON.parse(readFileSync(catalogPath(), "utf8")));
  return snapshot;
}

const EXACTISH = new Set(["exact", "case_whitespace"]);

function rule(cand: Candidate, how: string): string {
  if (how === "lower" && cand.rule === "exact") return "case_whitespace";
  if (how === "alias" && EXACTISH.has(cand.rule)) return "alias";
  return cand.rule;
}

function prefixedRule(cand: Candidate, how: string): string {
  return EXACTISH.has(cand.rule) && how !== "alias" ? "provider_prefix" : rule(cand, how);
}

function firstHit(snap: Snapshot, cands: Candidate[], family: string | null): [string, string] | null {
  if (family !== null || cands.some((c) => c.hint)) {
    for (const cand of cands) {
      const hint = cand.hint ?? family;
      if (hint === null) continue;
      let [key, how] = snap.find(cand.name);
      if (key !== null && snap.family(key) === hint) return [key, rule(cand, how)];
      [key, how] = snap.find(`${hint}/${cand.name}`);
      if (key !== null && snap.family(key) === hint) return [key, prefixedRule(cand, how)];
    }
  }
  for (const cand of cands) {
    const [key, how] = snap.find(cand.name);
    if (key !== null) return [key, rule(cand, how)];
    const hits: [string, string][] = [];
    for (const vendor of VENDOR_PREFIXES) {
      const [k, h] = snap.find(`${vendor}/${cand.name}`);
      if (k !== null && snap.family(k) === vendor) hits.push([k, h]);
    }
    if (hits.length === 1) return [hits[0][0], prefixedRule(cand, hits[0][1])];
  }
  return null;
}

/** The catalog price of a model (provider picks between entries of one name), or null
 * (warned once per name). */
export function getPrice(model: string, provider?: string | null): ModelPrice | null {
  const cacheKey = `${model}\u0000${provider ?? ""}`;
  const cached = resolved.get(cacheKey);
  if (cached !== undefined) return cached;
  const snap = catalog();
  const hit = firstHit(snap, candidates(model, snap.known), canonicalProvider(provider));
  const price = hit ? snap.price(hit[0], hit[1], model) : null;
  if (resolved.size > 10_000) resolved.clear();
  resolved.set(cacheKey, price);
  if (!price && !warned.has(model)) {
    warned.add(model);
    console.warn(`llmledger: no price for model ${JSON.stringify(model)}${provider ? ` (provider ${provider})` : ""}; its cost is unknown`);
  }
  return price;
}

export function catalogInfo(): { source: string; entries: number } {
  const snap = catalog();
  return { source: snap.source, entries: Object.keys(snap.entries).length };
}
