/** Token usage in the canonical shape of the Python SDK (llmledger/usage.py): input counts
 * every prompt token (cache reads and writes included), output every generated token
 * (reasoning included), details are subsets. Unknown usage is undefined, never 0. */

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_creation_1h_input_tokens?: number;
  audio_input_tokens?: number;
  image_input_tokens?: number;
  reasoning_tokens?: number;
  audio_output_tokens?: number;
  image_output_tokens?: number;
}

export const DETAIL_KEYS = [
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "cache_creation_1h_input_tokens",
  "audio_input_tokens",
  "image_input_tokens",
  "reasoning_tokens",
  "audio_output_tokens",
  "image_output_tokens",
] as const;
const CANONICAL = new Set<string>(["input_tokens", "output_tokens", "total_tokens", ...DETAIL_KEYS]);
const ALIASES: Record<string, string> = {
  prompt_tokens: "input_tokens",
  completion_tokens: "output_tokens",
  inputTokens: "input_tokens",
  outputTokens: "output_tokens",
  totalTokens: "total_tokens",
  cached_tokens: "cache_read_input_tokens",
  cache_read_tokens: "cache_read_input_tokens",
  cache_creation_tokens: "cache_creation_input_tokens",
  cache_write_tokens: "cache_creation_input_tokens",
  cache_write_input_tokens: "cache_creation_input_tokens",
};

export class UsageError extends Error {}

function count(key: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  let n: number;
  if (typeof value === "number" && Number.isInteger(value)) n = value;
  else if (typeof value === "string" && /^\s*-?\d+\s*$/.test(value)) n = Number(value.trim());
  else throw new UsageError(`token count ${key} must be a whole number, got ${JSON.stringify(value)}`);
  if (n < 0) throw new UsageError(`token count ${key} must not be negative, got ${n}`);
  return n;
}

/** The canonical usage of a usage object (or its JSON text), or undefined. Throws
 * UsageError for values that cannot be token counts. */
export function normalizeUsage(raw: unknown): TokenUsage | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") raw = JSON.parse(raw);
  if (typeof raw !== "object" || Array.isArray(raw)) throw new UsageError("token usage must be an object");
  const found: Record<string, number> = {};
  const merge = (key: string, value: unknown) => {
    const n = count(key, value);
    if (n !== undefined && !(key in found)) found[key] = n;
  };
  let ttl: Record<string, unknown> | null = null;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const canonical = CANONICAL.has(key) ? key : ALIASES[key];
    if (canonical === undefined) {
      if (value && typeof value === "object") {
        const v = value as Record<string, unknown>;
        if (key === "prompt_tokens_details") {
          merge("cache_read_input_tokens", v.cached_tokens);
          merge("audio_input_tokens", v.audio_tokens);
        } else if (key === "completion_tokens_details") {
          merge("reasoning_tokens", v.reasoning_tokens);
          merge("audio_output_tokens", v.audio_tokens);
        } else if (key === "cache_creation") ttl = v;
      }
      continue;
    }
    const n = count(key, value);
    if (n !== undefined) found[canonical] = n;
  }
  if (ttl) {
    const t = ttl as Record<string, unknown>;
    const five = count("ephemeral_5m_input_tokens", t.ephemeral_5m_input_tokens);
    const hour = count("ephemeral_1h_input_tokens", t.ephemeral_1h_input_tokens);
    if (!("cache_creation_input_tokens" in found) && (five !== undefined || hour !== undefined)) {
      found.cache_creation_input_tokens = (five ?? 0) + (hour ?? 0);
    }
    if (hour && !("cache_creation_1h_input_tokens" in found)) found.cache_creation_1h_input_tokens = hour;
  }
  return complete(found);
}

function complete(found: Record<string, number>): TokenUsage | undefined {
  let inp = found.input_tokens;
  let out = found.output_tokens;
  const total = found.total_tokens;
  if (inp === undefined && out === undefined && total === undefined) return undefined;
  if (inp === undefined && out !== undefined && total !== undefined && total >= out) inp = total - out;
  else if (out === undefined && inp !== undefined && total !== undefined && total >= inp) out = total - inp;
  const read = found.cache_read_input_tokens ?? 0;
  const write = found.cache_creation_input_tokens ?? 0;
  const write1h = found.cache_creation_1h_input_tokens;
  if (write1h !== undefined && write1h > write) {
    throw new UsageError(`cache_creation_1h_input_tokens=${write1h} exceeds cache_creation_input_tokens=${write}`);
  }
  if (inp !== undefined && read + write > inp) inp += read + write; // Anthropic's convention
  if (inp === undefined && out === undefined) return undefined; // only a total: split unknown
  const usage: Record<string, number> = {
    input_tokens: inp ?? 0,
    output_tokens: out ?? 0,
    total_tokens: (inp ?? 0) + (out ?? 0),
  };
  for (const key of DETAIL_KEYS) if (key in found) usage[key] = found[key];
  return usage as unknown as TokenUsage;
}

/** normalizeUsage that never throws (undefined for unusable usage). */
export function canonicalUsage(raw: unknown): TokenUsage | undefined {
  try {
    return normalizeUsage(raw);
  } catch {
    return undefined;
  }
}

/** Anthropic (and Bedrock) usage: their input excludes cache reads and writes; they are
 * added back so input means the same for every provider. */
export function anthropicUsage(u: {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: { ephemeral_1h_input_tokens?: number | null } | null;
}): TokenUsage | undefined {
  if (u.input_tokens == null && u.output_tokens == null) return undefined;
  const read = u.cache_read_input_tokens ?? 0;
  const write = u.cache_creation_input_tokens ?? 0;
  const raw: Record<string, unknown> = {
    input_tokens: (u.input_tokens ?? 0) + read + write,
    output_tokens: u.output_tokens ?? 0,
  };
  if (u.cache_read_input_tokens != null) raw.cache_read_input_tokens = read;
  if (u.cache_creation_input_tokens != null) raw.cache_creation_input_tokens = write;
  const hour = u.cache_creation?.ephemeral_1h_input_tokens;
  if (hour) raw.cache_creation_1h_input_tokens = hour;
  return normalizeUsage(raw);
}
