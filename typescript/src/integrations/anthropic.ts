/** Autolog for the `@anthropic-ai/sdk` npm client: messages.create (streams too) and
 * messages.stream() become spans. Anthropic's input_tokens exclude cache reads and writes;
 * they are added back (input means every prompt token, as for every provider), and the
 * 1-hour part of the cache writes is kept, so each part is priced at its own rate. Web
 * searches (usage.server_tool_use.web_search_requests) are billed per search; fast mode
 * (usage.speed) and US-only inference (usage.inference_geo) are kept as span attributes,
 * price multipliers on the models they apply to. */
import { SpanAttributeKey as K, SpanType } from "../attributes";
import type { LiveSpan } from "../span";
import { anthropicUsage, type TokenUsage } from "../usage";
import { plain, wrapMethod, type StreamRecorder } from "./common";

type Obj = Record<string, any>;

function present(usage: Obj | null | undefined): Obj {
  return Object.fromEntries(Object.entries(usage ?? {}).filter(([, v]) => v !== undefined && v !== null));
}

/** Canonical usage of an Anthropic `usage` object (cache reads and writes added to input). */
export function anthropicMessageUsage(usage: Obj | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  const ttl = usage.cache_creation ?? {};
  let write = usage.cache_creation_input_tokens;
  if ((write === undefined || write === null) && (ttl.ephemeral_5m_input_tokens != null || ttl.ephemeral_1h_input_tokens != null)) {
    write = (ttl.ephemeral_5m_input_tokens ?? 0) + (ttl.ephemeral_1h_input_tokens ?? 0);
  }
  return anthropicUsage({
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cache_read_input_tokens: usage.cache_read_input_tokens,
    cache_creation_input_tokens: write,
    cache_creation: ttl,
  });
}

/** The canonical usage of a message, with its web searches (`server_tool_use`, billed per
 * search). */
function messageUsage(usage: Obj | null | undefined): TokenUsage | undefined {
  const canonical = anthropicMessageUsage(usage);
  const searches = usage?.server_tool_use?.web_search_requests;
  if (canonical && Number.isInteger(searches) && searches > 0) canonical.web_search_requests = searches;
  return canonical;
}

function record(span: LiveSpan, message: Obj): void {
  span.setOutputs(plain(message));
  if (typeof message.model === "string" && message.model) span.setAttribute(K.MODEL, message.model);
  if (typeof message.usage?.service_tier === "string") span.setAttribute(K.SERVICE_TIER, message.usage.service_tier);
  // price multipliers: fast mode (usage.speed) and US-only inference (usage.inference_geo)
  for (const [key, field] of [[K.SPEED, "speed"], [K.INFERENCE_GEO, "inference_geo"]] as const) {
    const value = message.usage?.[field];
    if (typeof value === "string" && value) span.setAttribute(key, value);
  }
  const usage = messageUsage(message.usage);
  if (usage) span.setAttribute(K.TOKEN_USAGE, usage);
}

/** Assembles a message from stream events: usage from message_start, with the cumulative
 * counts of message_delta overriding it. */
class MessageEvents implements StreamRecorder {
  private message: Obj = {};
  private usage: Obj = {};
  private blocks: Obj[] = [];

  add(event: Obj): void {
    if (event.type === "message_start") {
      const { content: _content, usage, ...rest } = event.message ?? {};
      this.message = rest;
      Object.assign(this.usage, present(usage));
    } else if (event.type === "content_block_start") {
      this.blocks[event.index ?? 0] = { ...(event.content_block ?? {}) };
    } else if (event.type === "content_block_delta") {
      const block = (this.blocks[event.index ?? 0] ??= { type: "text", text: "" });
      if (event.delta?.type === "text_delta") block.text = (block.text ?? "") + event.delta.text;
      else if (event.delta?.type === "thinking_delta") block.thinking = (block.thinking ?? "") + event.delta.thinking;
      else if (event.delta?.type === "input_json_delta") block.partial_json = (block.partial_json ?? "") + event.delta.partial_json;
    } else if (event.type === "message_delta") {
      for (const key of ["stop_reason", "stop_sequence"]) if (event.delta?.[key] != null) this.message[key] = event.delta[key];
      Object.assign(this.usage, present(event.usage));
    }
  }

  finish(span: LiveSpan): void {
    if (!this.message.model && Object.keys(this.usage).length === 0) return;
    record(span, { ...this.message, content: this.blocks.filter(Boolean), usage: this.usage });
  }
}

/** Trace every messages.create and messages.stream call of this client (instrumented in
 * place; messages.stream() goes through messages.create). */
export function tracedAnthropic<T>(client: T): T {
  const messages = (client as unknown as Obj).messages;
  wrapMethod(
    messages,
    "create",
    (params) => ({
      name: "Messages",
      spanType: SpanType.CHAT_MODEL,
      attributes: { [K.REQUEST_MODEL]: params.model, [K.MODEL]: params.model, [K.PROVIDER]: "anthropic" },
    }),
    {
      response: (span, value) => record(span, (value ?? {}) as Obj),
      stream: () => new MessageEvents(),
    },
  );
  return client;
}
