/** Autolog for the `openai` npm client: chat completions (streams too, usage with
 * stream_options.include_usage), Responses (streams too) and embeddings become spans with
 * usage (cached and reasoning tokens included, and the Responses web_search_call items, billed
 * per call); cost follows from the model. */
import { SpanAttributeKey as K, SpanType } from "../attributes";
import type { LiveSpan } from "../span";
import { normalizeUsage, type TokenUsage } from "../usage";
import { plain, wrapMethod, type CallRecorder, type StreamRecorder } from "./common";

type Obj = Record<string, any>;

function first(...values: unknown[]): unknown {
  return values.find((v) => v !== undefined && v !== null);
}

/** Chat Completions / Embeddings usage: prompt_tokens include the cached ones. */
export function openaiUsage(usage: Obj | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  const prompt = usage.prompt_tokens_details ?? {};
  const completion = usage.completion_tokens_details ?? {};
  return build({
    input_tokens: usage.prompt_tokens,
    output_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
    cache_read_input_tokens: first(prompt.cached_tokens, usage.cache_read_input_tokens),
    cache_creation_input_tokens: first(prompt.cache_write_tokens, prompt.cache_creation_tokens, usage.cache_creation_input_tokens),
    audio_input_tokens: prompt.audio_tokens,
    reasoning_tokens: completion.reasoning_tokens,
    audio_output_tokens: completion.audio_tokens,
  });
}

/** Responses API usage: input_tokens include the cached ones, output the reasoning. */
export function openaiResponsesUsage(usage: Obj | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  return build({
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens,
    cache_read_input_tokens: usage.input_tokens_details?.cached_tokens,
    cache_creation_input_tokens: usage.input_tokens_details?.cache_write_tokens,
    reasoning_tokens: usage.output_tokens_details?.reasoning_tokens,
  });
}

/** The Responses API usage of a response, with its web-search tool calls (`web_search_call`
 * output items, billed per call). */
function responseUsage(response: Obj): TokenUsage | undefined {
  const usage = openaiResponsesUsage(response.usage);
  const output: unknown[] = Array.isArray(response.output) ? response.output : [];
  const searches = output.filter((item) => (item as Obj)?.type === "web_search_call").length;
  if (usage && searches) usage.web_search_requests = searches;
  return usage;
}

function build(raw: Record<string, unknown>): TokenUsage | undefined {
  return normalizeUsage(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== null)));
}

function recordCommon(span: LiveSpan, response: Obj, usage: TokenUsage | undefined): void {
  if (typeof response.model === "string" && response.model) span.setAttribute(K.MODEL, response.model);
  if (typeof response.service_tier === "string" && response.service_tier) span.setAttribute(K.SERVICE_TIER, response.service_tier);
  if (usage) span.setAttribute(K.TOKEN_USAGE, usage);
  // the cost the provider reported (OpenRouter's usage.cost, USD), kept beside ours
  const reported = response.usage?.cost;
  if (typeof reported === "number" && Number.isFinite(reported) && reported >= 0) span.setAttribute(K.PROVIDER_COST, reported);
}

class ChatStream {
  private model: string | undefined;
  private tier: string | undefined;
  private usage: Obj | undefined;
  private texts: string[] = [];
  private reasons: (string | null)[] = [];

  add(chunk: Obj): void {
    if (chunk.model) this.model = chunk.model;
    if (chunk.service_tier) this.tier = chunk.service_tier;
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      const i = choice.index ?? 0;
      this.texts[i] = (this.texts[i] ?? "") + (choice.delta?.content ?? "");
      if (choice.finish_reason) this.reasons[i] = choice.finish_reason;
    }
  }

  finishSpan(span: LiveSpan): void {
    span.setOutputs({
      model: this.model,
      choices: this.texts.map((content, index) => ({ index, message: { role: "assistant", content }, finish_reason: this.reasons[index] ?? null })),
      usage: this.usage ?? null,
    });
    recordCommon(span, { model: this.model, service_tier: this.tier, usage: this.usage }, openaiUsage(this.usage));
  }
}

class ResponsesStream implements StreamRecorder {
  private response: Obj | undefined;

  add(event: Obj): void {
    if (event.response && (event.type === "response.completed" || event.type === "response.incomplete" || event.type === "response.failed")) {
      this.response = event.response;
    }
  }

  finish(span: LiveSpan): void {
    if (!this.response) return;
    span.setOutputs(plain(this.response));
    recordCommon(span, this.response, responseUsage(this.response));
  }
}

function recorder(kind: "chat" | "responses" | "embeddings"): CallRecorder {
  return {
    response(span, value) {
      const response = (value ?? {}) as Obj;
      const usage = kind === "responses" ? responseUsage(response) : openaiUsage(response.usage);
      span.setOutputs(kind === "embeddings" ? { model: response.model, count: response.data?.length ?? 0, usage: response.usage } : plain(response));
      recordCommon(span, response, usage);
    },
    stream() {
      if (kind === "responses") return new ResponsesStream();
      const chat = new ChatStream();
      return { add: (c) => chat.add(c as Obj), finish: (span) => chat.finishSpan(span) };
    },
  };
}

/** Python's round(): halves to even (a duration of 8.5 s is 8 billed seconds, 9.5 s 10). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** The canonical usage of an images / transcription / speech call (Python's media_usage):
 * per input character, per second of audio, per image, or tokens when reported. */
export function mediaUsage(kind: "images" | "transcription" | "speech", response: Obj, request: Obj): TokenUsage | undefined {
  if (kind === "speech") return typeof request.input === "string" ? normalizeUsage({ input_characters: request.input.length }) : undefined;
  const usage: Obj | undefined = response?.usage && typeof response.usage === "object" ? response.usage : undefined;
  if (kind === "transcription") {
    if (usage?.type === "duration") return normalizeUsage({ input_audio_seconds: roundHalfEven(usage.seconds ?? 0) });
    if (usage?.input_tokens != null) return normalizeUsage(Object.fromEntries(Object.entries(usage).filter(([k]) => k !== "type")));
    if (typeof response?.duration === "number") return normalizeUsage({ input_audio_seconds: roundHalfEven(response.duration) }); // verbose_json
    return undefined;
  }
  if (usage?.input_tokens != null) {
    // gpt-image-1: billed by tokens, the generated image's tokens as image output
    return build({
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      image_input_tokens: usage.input_tokens_details?.image_tokens,
      image_output_tokens: usage.output_tokens,
    });
  }
  return Array.isArray(response?.data) ? normalizeUsage({ output_images: response.data.length }) : undefined;
}

function mediaRecorder(kind: "images" | "transcription" | "speech"): CallRecorder {
  return {
    response(span, value, params) {
      const response = (value ?? {}) as Obj;
      if (kind !== "speech") span.setOutputs(plain(response));
      const usage = mediaUsage(kind, response, params);
      if (kind === "images" && usage?.output_images !== undefined) {
        // the catalog's per-image name: quality/size/model (hd/1024-x-1792/dall-e-3); dall-e-2
        // has one quality, its names none (256-x-256/dall-e-2), as Python's per_image_model
        const model = String(params.model || "dall-e-2");
        const quality = params.quality || "standard";
        const size = String(params.size || "1024x1024").replace(/x/g, "-x-");
        span.setAttribute(K.MODEL, model === "dall-e-2" ? `${size}/${model}` : `${quality}/${size}/${model}`);
      }
      if (usage) span.setAttribute(K.TOKEN_USAGE, usage);
    },
    stream: () => ({ add: () => undefined, finish: () => undefined }),
  };
}

function providerOf(client: Obj): string {
  const name = client?.constructor?.name ?? "";
  return /azure/i.test(name) || /\.openai\.azure\.com/i.test(String(client?.baseURL ?? "")) ? "azure" : "openai";
}

/** Trace every chat.completions.create, responses.create, embeddings.create, images.generate,
 * audio.transcriptions.create and audio.speech.create call of this client (the client itself
 * is returned, instrumented in place). */
export function tracedOpenAI<T>(client: T): T {
  const c = client as unknown as Obj;
  const provider = providerOf(c);
  const describe = (name: string, spanType: string) => (params: Obj) => ({
    name,
    spanType,
    attributes: { [K.REQUEST_MODEL]: params.model, [K.MODEL]: params.model, [K.PROVIDER]: provider },
  });
  wrapMethod(c.chat?.completions, "create", describe("Completions", SpanType.CHAT_MODEL), recorder("chat"));
  wrapMethod(c.responses, "create", describe("Responses", SpanType.CHAT_MODEL), recorder("responses"));
  wrapMethod(c.embeddings, "create", describe("Embeddings", SpanType.EMBEDDING), recorder("embeddings"));
  wrapMethod(c.images, "generate", describe("Images", SpanType.LLM), mediaRecorder("images"));
  wrapMethod(c.audio?.transcriptions, "create", describe("Transcriptions", SpanType.LLM), mediaRecorder("transcription"));
  wrapMethod(c.audio?.speech, "create", describe("Speech", SpanType.LLM), mediaRecorder("speech"));
  return client;
}
