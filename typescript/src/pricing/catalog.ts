/** The price catalog, as llmledger/pricing/catalog.py: the bundled snapshot (the Python
 * package's pricing/data/prices.json, the retired models of retired.json, the corrections of
 * corrections.json and the dated prices of history.json, all copied
 * into dist/data at build time: one source of truth), user overrides (setPrice, an
 * overrides file) and Azure deployment names. Parsed on the first lookup. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDecimal, type Dec } from "./money";
import {
  OverrideStore,
  PRICES_FILE_ENV,
  PricingConfigError,
  makeVersion,
  parseEffectiveFrom,
  readOverridesFile,
  type OverrideVersion,
  type PriceValue,
} from "./overrides";
import { VENDOR_PREFIXES, candidates, canonicalProvider, type Candidate } from "./resolution";

export interface ModelPrice {
  model_id: string;
  provider: string | null;
  mode: string | null;
  matched_by: string;
  query: string;
  source: string;
  /** ISO 8601 start of an override's price; null for bundled prices */
  effective_from: string | null;
  /** every cost field, exact */
  fields: Map<string, Dec>;
}

type Entry = Record<string, number | string>;

class Snapshot {
  readonly entries: Record<string, Entry>;
  readonly aliases: Record<string, string>;
  readonly source: string;
  /** entries added from retired.json: catalog key -> the provider page of its price */
  readonly retiredSources: Map<string, string>;
  private lower: Map<string, string> | null = null;
  private knownSet: Set<string> | null = null;
  private decimals = new Map<string, Map<string, Dec>>();

  /** entries with fields set from corrections.json: catalog key -> the provider page */
  readonly corrected: Map<string, string>;
  /** the dated prices before the current one (history.json) */
  readonly history: History;

  constructor(
    data: Record<string, unknown>,
    retiredSources: Map<string, string> = new Map(),
    corrected: Map<string, string> = new Map(),
    history: History = new History(),
  ) {
    this.retiredSources = retiredSources;
    this.corrected = corrected;
    this.history = history;
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
      source: this.sourceOf(key),
      effective_from: null,
      fields,
    };
  }

  sourceOf(key: string): string {
    const page = this.retiredSources.get(key);
    const source = page === undefined ? this.source : `bundled: retired model, last published price (${page})`;
    const fix = this.corrected.get(key);
    return fix === undefined ? source : `${source}, corrected (${fix})`;
  }
}

/** Add the retired models (data/retired.json) the snapshot lacks, and their aliases (as
 * Python's catalog.add_retired): a snapshot entry of the same name wins. Returns
 * {catalog key: source page} of those added. */
export function addRetired(snapshot: Record<string, unknown>, retired: Record<string, unknown>): Map<string, string> {
  const sources = new Map<string, string>();
  const has = (obj: object, key: string) => Object.prototype.hasOwnProperty.call(obj, key);
  if (!snapshot._aliases || typeof snapshot._aliases !== "object") snapshot._aliases = {};
  const aliases = snapshot._aliases as Record<string, string>;
  for (const [name, target] of Object.entries((retired._aliases ?? {}) as Record<string, string>)) {
    if (!has(snapshot, name) && !has(aliases, name)) aliases[name] = target;
  }
  for (const [key, entry] of Object.entries(retired)) {
    if (key.startsWith("_") || has(snapshot, key)) continue;
    const e = entry as Record<string, unknown>;
    snapshot[key] = Object.fromEntries(Object.entries(e).filter(([k]) => !k.startsWith("_")));
    sources.set(key, String(e._source ?? "llmledger retired models"));
  }
  return sources;
}

/** Set the corrected fields (data/corrections.json) on the snapshot entries they name, as
 * Python's history.apply_corrections; `_`-prefixed keys are documentation. Returns
 * {catalog key: source page} of the entries corrected. */
export function applyCorrections(snapshot: Record<string, unknown>, corrections: Record<string, unknown>): Map<string, string> {
  const sources = new Map<string, string>();
  for (const [key, fix] of Object.entries(corrections)) {
    if (key.startsWith("_") || !Object.prototype.hasOwnProperty.call(snapshot, key) || !fix || typeof fix !== "object") continue;
    const f = fix as Record<string, unknown>;
    const entry: Record<string, unknown> = { ...(snapshot[key] as Record<string, unknown>) };
    for (const [field, value] of Object.entries(f)) if (!field.startsWith("_")) entry[field] = value;
    snapshot[key] = entry;
    sources.set(key, String(f._source ?? "llmledger corrections"));
  }
  return sources;
}

/** Dated versions per catalog key (data/history.json) and when each key's current catalog
 * price began (Python's history.History): the same override store and rule as user prices. */
export class History {
  readonly store = new OverrideStore();
  /** catalog key -> epoch ms of its current price */
  readonly currentFrom = new Map<string, number>();

  /** The version of `key` in force at `at` (epoch ms); null when the catalog price applies. */
  inForce(key: string, at: number): OverrideVersion | null {
    const until = this.currentFrom.get(key);
    if (until === undefined || at >= until) return null;
    return this.store.inForce(this.store.find(key, null) ?? "", at);
  }
}

/** Parse history.json; throws PricingConfigError naming the entry. */
export function loadHistory(doc: Record<string, unknown>, origin = "history.json"): History {
  const history = new History();
  for (const [key, spec] of Object.entries(doc)) {
    if (key.startsWith("_")) continue;
    const where = `${origin}: '${key}'`;
    if (!spec || typeof spec !== "object" || !("current_from" in spec)) {
      throw new PricingConfigError(`${where}: expected an object with current_from and versions`);
    }
    const s = spec as Record<string, unknown>;
    const current = parseEffectiveFrom(s.current_from, where) as number;
    const source = `bundled: price history (${String(s._source ?? "llmledger price history")})`;
    ((s.versions as Record<string, unknown>[] | undefined) ?? []).forEach((item, i) => {
      const values = Object.fromEntries(Object.entries(item).filter(([k]) => !k.startsWith("_")));
      const version = makeVersion(key, values, `${where}.versions[${i}]`, source);
      if (version.effectiveFrom !== null && version.effectiveFrom >= current) {
        throw new PricingConfigError(`${where}.versions[${i}]: effective_from is not before current_from`);
      }
      history.store.add(version);
    });
    history.currentFrom.set(key, current);
  }
  return history;
}

let snapshot: Snapshot | null = null;
const store = new OverrideStore();
let envLoaded = false;
const warned = new Set<string>();

/** Where the catalog is read from: dist/data/prices.json next to the build. */
export function catalogPath(): string {
  return join(__dirname, "..", "..", "data", "prices.json");
}

function loadSnapshot(): Snapshot {
  const read = (name: string) => JSON.parse(readFileSync(join(catalogPath(), "..", name), "utf8")) as Record<string, unknown>;
  const data = read("prices.json");
  const retired = addRetired(data, read("retired.json"));
  const corrected = applyCorrections(data, read("corrections.json"));
  return new Snapshot(data, retired, corrected, loadHistory(read("history.json")));
}

/** The snapshot, loading it (and the LLMLEDGER_PRICES_FILE overrides) on first use. */
function catalog(): Snapshot {
  if (!snapshot) snapshot = loadSnapshot();
  if (!envLoaded) loadEnvOverrides();
  return snapshot;
}

/** Read LLMLEDGER_PRICES_FILE once; a bad file is logged (file and problem) and skipped. */
function loadEnvOverrides(): void {
  envLoaded = true;
  const path = (process.env[PRICES_FILE_ENV] ?? "").trim();
  if (!path) return;
  try {
    const [versions, deployments] = readOverridesFile(path);
    store.addAll(versions, deployments);
    resolutions.clear();
  } catch (error) {
    if (!(error instanceof PricingConfigError)) throw error;
    console.error(`llmledger: ${PRICES_FILE_ENV} ignored: ${error.message}`);
  }
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

/** The cached outcome of resolving one (model, provider); the price is chosen per call by date. */
class Resolution {
  overrideKey: string | null = null;
  overrideRule = "override";
  catalogPrice: ModelPrice | null = null;
  /** the catalog key has dated versions (history.json) before this time (epoch ms) */
  historyUntil: number | null = null;
  private overridePrices = new Map<OverrideVersion, ModelPrice>();

  constructor(readonly query: string) {}

  overridePrice(version: OverrideVersion, rule?: string): ModelPrice {
    let found = this.overridePrices.get(version);
    if (!found) {
      const base = this.catalogPrice;
      found = {
        model_id: version.model,
        provider: version.provider ?? base?.provider ?? null,
        mode: version.mode ?? base?.mode ?? null,
        matched_by: rule ?? this.overrideRule,
        query: this.query,
        source: version.source,
        effective_from: version.effectiveFrom === null ? null : new Date(version.effectiveFrom).toISOString(),
        fields: version.fields,
      };
      this.overridePrices.set(version, found);
    }
    return found;
  }
}

const resolutions = new Map<string, Resolution>();

function resolveNames(snap: Snapshot, name: string, family: string | null, query: string): Resolution {
  const cands = candidates(name, snap.known);
  const res = new Resolution(query);
  if (store.size) {
    for (const cand of cands) {
      const key = store.find(cand.name, cand.hint ?? family);
      if (key !== null) {
        res.overrideKey = key;
        break;
      }
    }
  }
  const hit = firstHit(snap, cands, family);
  if (hit) {
    res.catalogPrice = snap.price(hit[0], hit[1], query);
    res.historyUntil = snap.history.currentFrom.get(hit[0]) ?? null;
  }
  return res;
}

function resolve(model: string, provider: string | null | undefined): Resolution {
  const snap = catalog();
  const family = canonicalProvider(provider);
  const name = model.trim();
  if (family === null || family === "azure" || family === "azure_ai") {
    const deployment = name.toLowerCase().startsWith("azure/") ? name.slice("azure/".length) : name;
    const target = store.deployment(deployment);
    if (target !== null) {
      const res = resolveNames(snap, target, "azure", model);
      res.overrideRule = "azure_deployment";
      if (res.catalogPrice) res.catalogPrice = snap.price(res.catalogPrice.model_id, "azure_deployment", model);
      return res;
    }
  }
  return resolveNames(snap, model, family, model);
}

/** A moment as epoch ms: a Date, epoch ms, or an ISO string; undefined = now. */
export type At = Date | number | string | null | undefined;

function epochMs(at: At): number {
  if (at === null || at === undefined) return Date.now();
  if (at instanceof Date) return at.getTime();
  if (typeof at === "number") return at;
  try {
    return parseEffectiveFrom(at, "at") as number;
  } catch {
    throw new TypeError(`at must be a Date, epoch milliseconds or an ISO date/datetime string, got ${JSON.stringify(at)}`);
  }
}

/** The price of `model` in force at `at` (default now; only user overrides have dates), or
 * null if unknown (warned once per name). `provider` picks between entries of one name. */
export function getPrice(model: string, provider?: string | null, at?: At): ModelPrice | null {
  if (typeof model !== "string") throw new TypeError(`model must be a string, got ${typeof model}`);
  const cacheKey = `${model}\u0000${provider ?? ""}`;
  if (!envLoaded) catalog();
  let res = resolutions.get(cacheKey);
  if (!res) {
    res = resolve(model, provider);
    if (resolutions.size >= 10_000) resolutions.clear();
    resolutions.set(cacheKey, res);
  }
  if (res.overrideKey !== null) {
    const version = store.inForce(res.overrideKey, epochMs(at));
    if (version) return res.overridePrice(version);
  }
  if (res.historyUntil !== null && res.catalogPrice) {
    // precedence: a user override in force > a dated catalog version in force > the catalog
    const ms = epochMs(at);
    if (ms < res.historyUntil) {
      const version = snapshot!.history.inForce(res.catalogPrice.model_id, ms);
      if (version) return res.overridePrice(version, res.catalogPrice.matched_by);
    }
  }
  if (res.catalogPrice) return res.catalogPrice;
  if (!warned.has(model)) {
    warned.add(model);
    if (res.overrideKey !== null) {
      console.warn(
        `llmledger: no price in force for model ${JSON.stringify(model)} at ${new Date(epochMs(at)).toISOString()}: ` +
          "its override starts later and the bundled catalog does not know it; add an earlier effective_from",
      );
    } else {
      console.warn(
        `llmledger: unknown model ${JSON.stringify(model)}${provider ? ` (provider ${provider})` : ""}: no cost computed. ` +
          `Add a price with setPrice() or the ${PRICES_FILE_ENV} file`,
      );
    }
  }
  return null;
}

/** Whether a price of this process's own (setPrice, the overrides file, an Azure deployment
 * name) may apply: cheap, for the span end path. */
export function userPricesMayApply(): boolean {
  if (!store.empty) return true;
  return !envLoaded && (process.env[PRICES_FILE_ENV] ?? "").trim() !== "";
}

function invalidate(): void {
  resolutions.clear();
  warned.clear();
}

export interface SetPriceOptions {
  /** when this price starts (Date, epoch ms or ISO date/datetime; no zone = UTC); default always */
  effectiveFrom?: Date | number | string | null;
  /** only for this provider ("azure", "openai", ...); default any provider */
  provider?: string | null;
  mode?: string | null;
}

/** Add or replace the price of `model` from `effectiveFrom` on, as Python's set_price:
 * catalog field names (`input_cost_per_token`, `output_cost_per_reasoning_token`,
 * `input_cost_per_token_batches`, `input_cost_per_token_above_200k_tokens`, ...) or
 * per-million spellings (`input_per_million: 2.5`). Numbers are read by their shortest
 * decimal form (1.5e-7 is exactly 15e-8); pass strings to be explicit. The override replaces
 * the catalog entry while in force (no field is inherited). Throws PricingConfigError. */
export function setPrice(model: string, prices: Record<string, PriceValue | null | undefined>, options: SetPriceOptions = {}): void {
  if (!prices || typeof prices !== "object") throw new PricingConfigError(`setPrice('${model}'): prices must be an object`);
  const values: Record<string, unknown> = {
    ...prices,
    effective_from: options.effectiveFrom,
    provider: options.provider,
    mode: options.mode,
  };
  const version = makeVersion(model, values, `setPrice('${model}')`, "override: setPrice()");
  catalog(); // the env file first, so an explicit call made later wins over it
  store.add(version);
  invalidate();
}

/** Price the Azure deployment named `deployment` as `model` (`azure/<model>` first). */
export function setAzureDeployment(deployment: string, model: string): void {
  if (typeof deployment !== "string" || !deployment.trim() || typeof model !== "string" || !model.trim()) {
    throw new PricingConfigError("setAzureDeployment: deployment and model must be non-empty strings");
  }
  catalog();
  store.setDeployment(deployment, model);
  invalidate();
}

/** Apply a JSON overrides file now; returns the number of price versions. Throws
 * PricingConfigError (naming the file and the problem) and applies nothing when malformed. */
export function loadOverrides(path: string): number {
  const [versions, deployments] = readOverridesFile(path);
  catalog();
  store.addAll(versions, deployments);
  invalidate();
  return versions.length;
}

/** Forget every override and deployment mapping (LLMLEDGER_PRICES_FILE is read again on
 * the next lookup). */
export function clearOverrides(): void {
  store.clear();
  envLoaded = false;
  invalidate();
}

export function catalogInfo(): {
  source: string;
  entries: number;
  retired: number;
  corrected_models: number;
  history_models: number;
  override_versions: number;
  overrides_file: string | null;
} {
  const snap = catalog();
  return {
    source: snap.source,
    entries: Object.keys(snap.entries).length,
    retired: snap.retiredSources.size,
    corrected_models: snap.corrected.size,
    history_models: snap.history.currentFrom.size,
    override_versions: store.versions().length,
    overrides_file: (process.env[PRICES_FILE_ENV] ?? "").trim() || null,
  };
}
