/** Model-name resolution: the deterministic rules of llmledger/pricing/resolution.py and
 * catalog.py (exact, case_whitespace, alias, provider_prefix, fine_tuned, bedrock_version,
 * bedrock_region, dated_snapshot_base). No fuzzy matching: a name no rule turns into a
 * known key is unknown. (Overrides and Azure deployment names: catalog.ts.) */

const PROVIDER_ALIASES: Record<string, string> = {
  google: "gemini", google_genai: "gemini", google_ai_studio: "gemini", google_ai: "gemini",
  gemini_api: "gemini", vertex: "vertex_ai", vertexai: "vertex_ai", google_vertex: "vertex_ai",
  google_vertex_ai: "vertex_ai", "gcp.vertex_ai": "vertex_ai", "gcp.gemini": "gemini",
  aws: "bedrock", aws_bedrock: "bedrock", "aws.bedrock": "bedrock", amazon_bedrock: "bedrock",
  bedrock_converse: "bedrock", azure_openai: "azure", "az.ai.openai": "azure", azure_text: "azure",
  "az.ai.inference": "azure_ai", mistralai: "mistral", mistral_ai: "mistral", x_ai: "xai",
  "x.ai": "xai", grok: "xai", cohere_chat: "cohere", text_completion_openai: "openai",
  deepseek_ai: "deepseek",
};

export const VENDOR_PREFIXES = [
  "openai", "anthropic", "gemini", "mistral", "deepseek", "xai", "cohere", "ai21", "moonshot",
  "zai", "minimax", "dashscope", "perplexity", "voyage", "jina_ai",
];

export function canonicalProvider(name: string | null | undefined): string | null {
  if (!name) return null;
  let p = name.trim().toLowerCase().replace(/ /g, "_");
  if (p.startsWith("text-completion-")) p = p.slice("text-completion-".length);
  for (const spelling of [p, p.replace(/-/g, "_")]) {
    if (spelling in PROVIDER_ALIASES) return PROVIDER_ALIASES[spelling];
  }
  const dash = p.indexOf("-");
  const head = dash >= 0 ? p.slice(0, dash) : p;
  const tail = dash >= 0 ? p.slice(dash + 1) : "";
  const family = dash >= 0 && tail.endsWith("models") ? head : p.replace(/-/g, "_");
  return (PROVIDER_ALIASES[family] ?? family) || null;
}

export interface Candidate {
  name: string;
  rule: string;
  hint: string | null;
}

const ISO_DATE = /^(.+?)[-@](20\d\d)-(\d\d)-(\d\d)$/;
const COMPACT_DATE = /^(.+?)[-@](20\d\d)(\d\d)(\d\d)$/;
const MOVING_TAG = /^(.+?)(?:-latest|@latest|@default)$/i;
const BEDROCK_GEO = /^(?:us-gov|us|eu|apac|ap|global|au|jp|in|ca|sa|me|af|il|mx)\.(?=[a-z0-9-]+\.[a-z0-9])/i;
const AWS_REGION_PATH = /^[a-z]{2}(?:-gov)?-[a-z]+-\d+\//i;
const BEDROCK_ARN = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:(?:inference-profile|foundation-model)\//i;
const FINE_TUNED = /^(ft:[^:]+):.+$/;
const BEDROCK_ROUTE = /^(?:converse|invoke)\//i;
const BEDROCK_ID = /^[a-z0-9-]+\.[a-z0-9]/i;
const VERSION_COLON = /^(.+-v\d+):\d+$/i;
const VERSION_V = /^(.+?)-v\d+$/i;

function validDate(y: string, m: string, d: string): boolean {
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return date.getUTCFullYear() === Number(y) && date.getUTCMonth() === Number(m) - 1 && date.getUTCDate() === Number(d);
}

export function stripDate(name: string): string | null {
  for (const pattern of [ISO_DATE, COMPACT_DATE]) {
    const m = pattern.exec(name);
    if (m && validDate(m[2], m[3], m[4])) return m[1];
  }
  const m = MOVING_TAG.exec(name);
  return m ? m[1] : null;
}

function stripProviderPrefix(name: string, known: Set<string>): [string, string] | null {
  const slash = name.indexOf("/");
  if (slash < 0) return null;
  const head = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  if (!rest) return null;
  const family = canonicalProvider(head);
  if (family === null || (!known.has(family) && !known.has(head.toLowerCase()))) return null;
  return [rest, family];
}

function regionVariants(name: string): string[] {
  const out: string[] = [];
  for (const pattern of [BEDROCK_ROUTE, AWS_REGION_PATH, BEDROCK_GEO]) {
    const m = pattern.exec(name);
    if (m) {
      name = name.slice(m[0].length);
      out.push(name);
    }
  }
  return out;
}

function versionVariants(name: string): string[] {
  if (!BEDROCK_ID.test(name)) return [];
  const out: string[] = [];
  let m = VERSION_COLON.exec(name);
  if (m) {
    name = m[1];
    out.push(name);
  }
  m = VERSION_V.exec(name);
  if (m) out.push(m[1]);
  return out;
}

/** Lookup candidates for a name, most specific first (rules combine). */
export function candidates(query: string, known: Set<string>): Candidate[] {
  const name = query.trim();
  const out: Candidate[] = [{ name, rule: name === query ? "exact" : "case_whitespace", hint: null }];
  const seen = new Set([`${name}\u0000`]);
  const add = (c: Candidate) => {
    const key = `${c.name}\u0000${c.hint ?? ""}`;
    if (c.name && !seen.has(key)) {
      seen.add(key);
      out.push(c);
    }
  };
  const ft = FINE_TUNED.exec(name);
  if (ft) add({ name: ft[1], rule: "fine_tuned", hint: null });
  for (const cand of [...out]) {
    let current = cand.name;
    let hint = cand.hint;
    for (let i = 0; i < 3; i++) {
      const stripped = stripProviderPrefix(current, known);
      if (stripped === null) break;
      current = stripped[0];
      hint = hint ?? stripped[1];
      add({ name: current, rule: "provider_prefix", hint });
    }
  }
  for (const cand of [...out]) {
    const m = BEDROCK_ARN.exec(cand.name);
    if (m) add({ name: cand.name.slice(m[0].length), rule: "bedrock_region", hint: cand.hint ?? "bedrock" });
  }
  for (const cand of [...out]) {
    for (const v of versionVariants(cand.name)) add({ name: v, rule: "bedrock_version", hint: cand.hint });
  }
  for (const cand of [...out]) {
    for (const v of regionVariants(cand.name)) add({ name: v, rule: "bedrock_region", hint: cand.hint });
  }
  for (const cand of [...out]) {
    const base = stripDate(cand.name);
    if (base) add({ name: base, rule: "dated_snapshot_base", hint: cand.hint });
  }
  return out;
}
