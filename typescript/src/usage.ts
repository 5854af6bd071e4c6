/** Token usage in the canonical shape of the Python SDK (llmledger/usage.py): input counts
 * every prompt token (cache reads and writes included), output every generated token
 * (reasoning included), details are subsets. Unknown usage is undefined, never 0. */

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cache_read_input_tokens?: number;
  /** cached audio: part of cache_read_input_tokens and of audio_input_tokens */
  cache_read_audio_input_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_creation_1h_input_tokens?: number;
  audio_input_tokens?: number;
  image_input_tokens?: number;
  reasoning_tokens?: number;
  audio_output_tokens?: number;
  image_output_tokens?: number;
  /** units that are not tokens: text-to-speech characters, transcribed seconds, web-search
   * calls, generated images */
  input_characters?: number;
  input_audio_seconds?: number;
  web_search_requests?: number;
  /** requests answered with Google Search grounding (Gemini) */
  grounded_prompts?: number;
  output_images?: number;
}

export const UNIT_KEYS = ["input_characters", "input_audio_seconds", "web_search_requests", "grounded_prompts", "output_images"] as const;
export const DETAIL_KEYS = [
  "cache_read_input_tokens",
  "cache_read_audio_input_tokens",
  "cache_creation_input_tokens",
  "cache_creation_1h_input_tokens",
  "audio_input_tokens",
  "image_input_tokens",
  "reasoning_tokens",
  "audio_output_tokens",
  "image_output_tokens",
  ...UNIT_KEYS,
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
  cache_creation_input_tokens_above_1hr: "cache_creation_1h_input_tokens", // MLflow's 1-hour writes
  prompt_cache_hit_tokens: "cache_read_input_tokens", // DeepSeek (its prompt_tokens = hits + misses)
};
// OpenAI's objects detailing the input / output: Chat Completions, Responses, Realtime
const INPUT_DETAIL_OBJECTS = new Set(["prompt_tokens_details", "input_token_details", "input_tokens_details"]);
const OUTPUT_DETAIL_OBJECTS = new Set(["completion_tokens_details", "output_token_details", "output_tokens_details"]);

export class UsageError extends Error {}

function count(key: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  let n: number;
  if (typeof value === "number" && Number.isInteger(value)) n = value;
  else if (typeof value === "string" && /^\s*-?\d{1,30}\s*$/.test(value)) n = Number(value.trim());
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
  let miss: number | undefined;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const canonical = CANONICAL.has(key) ? key : ALIASES[key];
    if (canonical === undefined) {
      const v = value && typeof value === "object" ? (value as Record<string, unknown>) : null;
      if (INPUT_DETAIL_OBJECTS.has(key) && v) {
        merge("cache_read_input_tokens", v.cached_tokens);
        merge("audio_input_tokens", v.audio_tokens);
        const cached = v.cached_tokens_details;
        if (cached && typeof cached === "object") merge("cache_read_audio_input_tokens", (cached as Record<string, unknown>).audio_tokens);
      } else if (key === "prompt_cache_miss_tokens") {
        miss ??= count(key, value); // DeepSeek: input = hits + misses
      } else if (OUTPUT_DETAIL_OBJECTS.has(key) && v) {
        merge("reasoning_tokens", v.reasoning_tokens);
        merge("audio_output_tokens", v.audio_tokens);
      } else if (key === "cache_creation" && v) ttl = v; // Anthropic's split of the writes by TTL
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
  if (miss !== undefined && !("input_tokens" in found)) found.input_tokens = miss + (found.cache_read_input_tokens ?? 0);
  return complete(found);
}

function complete(found: Record<string, number>): TokenUsage | undefined {
  let inp = found.input_tokens;
  let out = found.output_tokens;
  const total = found.total_tokens;
  if (inp === undefined && out === undefined && total === undefined) {
    if (!UNIT_KEYS.some((key) => key in found)) return undefined;
    inp = out = 0; // a call billed in other units only (images, seconds, characters)
  }
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
