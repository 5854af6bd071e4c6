// tracedOpenAI with the real `openai` npm client against the fake provider server.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import OpenAI from "openai";
import * as llmledger from "llmledger";
import { fakeReply, fakeUrl, traced } from "./helpers.mjs";

const openai = llmledger.tracedOpenAI(new OpenAI({ baseURL: `${fakeUrl}/v1`, apiKey: "x", maxRetries: 0 }));
const messages = [{ role: "user", content: "hi" }];

test("chat completion with cached and reasoning tokens: usage and exact cost on the server", async () => {
  await fakeReply({
    model: "gpt-4o-mini",
    usage: {
      prompt_tokens: 1000,
      completion_tokens: 300,
      prompt_tokens_details: { cached_tokens: 800 },
      completion_tokens_details: { reasoning_tokens: 200 },
    },
  });
  const { trace, llm, value } = await traced("chat", () => openai.chat.completions.create({ model: "gpt-4o-mini", messages }));
  assert.equal(value.choices[0].message.content, "Hello from the fake provider.");
  assert.equal(llm.length, 1);
  const [span] = llm;
  assert.equal(span.name, "Completions");
  assert.equal(span.spanType, "CHAT_MODEL");
  assert.deepEqual(span.tokenUsage, { input_tokens: 1000, output_tokens: 300, total_tokens: 1300, cache_read_input_tokens: 800, reasoning_tokens: 200 });
  // 200 uncached x $0.15/1M + 800 cached x $0.075/1M; 300 output (reasoning included) x $0.6/1M
  assert.deepEqual(span.llmCost, { input_cost: 0.00009, output_cost: 0.00018, total_cost: 0.00027 });
  assert.deepEqual(trace.info.cost, span.llmCost);
  assert.equal(span.attributes["llmledger.llm.provider"], "openai");
  assert.equal(span.attributes["llmledger.llm.requestModel"], "gpt-4o-mini");
});

test("chat stream with include_usage: chunks reach the caller, usage from the last chunk", async () => {
  await fakeReply({ model: "gpt-4o-mini", text: "streamed answer", usage: { prompt_tokens: 45, completion_tokens: 14 } });
  const { llm, value } = await traced("chat-stream", async () => {
    const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, stream: true, stream_options: { include_usage: true } });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    return text;
  });
  assert.equal(value, "streamed answer");
  const [span] = llm;
  assert.deepEqual(span.tokenUsage, { input_tokens: 45, output_tokens: 14, total_tokens: 59 });
  assert.deepEqual(span.llmCost, { input_cost: 0.00000675, output_cost: 0.0000084, total_cost: 0.00001515 });
  assert.equal(span.outputs.choices[0].message.content, "streamed answer");
});

test("chat stream without include_usage: usage and cost unknown (undefined), never 0", async () => {
  await fakeReply({ model: "gpt-4o-mini", usage: { prompt_tokens: 45, completion_tokens: 14 } });
  const { trace, llm } = await traced("chat-stream-no-usage", async () => {
    const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, stream: true });
    for await (const _chunk of stream);
  });
  assert.equal(llm[0].tokenUsage, undefined);
  assert.equal(llm[0].llmCost, undefined);
  assert.equal(trace.info.tokenUsage, undefined);
  assert.equal(trace.info.cost, undefined);
});

test("Responses API, plain and streamed: cached and reasoning tokens", async () => {
  const usage = { input_tokens: 100, output_tokens: 50, input_tokens_details: { cached_tokens: 40 }, output_tokens_details: { reasoning_tokens: 10 } };
  await fakeReply({ model: "gpt-4o-mini", usage });
  await fakeReply({ model: "gpt-4o-mini", usage });
  const { llm } = await traced("responses", async () => {
    await openai.responses.create({ model: "gpt-4o-mini", input: "hi" });
    const stream = await openai.responses.create({ model: "gpt-4o-mini", input: "hi", stream: true });
    for await (const _event of stream);
  });
  assert.deepEqual(llm.map((s) => s.name), ["Responses", "Responses"]);
  for (const span of llm) {
    assert.deepEqual(span.tokenUsage, { input_tokens: 100, output_tokens: 50, total_tokens: 150, cache_read_input_tokens: 40, reasoning_tokens: 10 });
    // 60 x 0.15/1M + 40 x 0.075/1M = 0.000012; 50 x 0.6/1M = 0.00003
    assert.deepEqual(span.llmCost, { input_cost: 0.000012, output_cost: 0.00003, total_cost: 0.000042 });
  }
});

test("embeddings: input tokens only", async () => {
  await fakeReply({ model: "text-embedding-3-small", usage: { prompt_tokens: 8, total_tokens: 8 } });
  const { llm } = await traced("embed", () => openai.embeddings.create({ model: "text-embedding-3-small", input: "hello" }));
  assert.equal(llm[0].spanType, "EMBEDDING");
  assert.deepEqual(llm[0].tokenUsage, { input_tokens: 8, output_tokens: 0, total_tokens: 8 });
  assert.deepEqual(llm[0].llmCost, { input_cost: 1.6e-7, output_cost: 0, total_cost: 1.6e-7 });
});

test("a provider error ends the span ERROR and reaches the caller unchanged", async () => {
  await fakeReply({ status: 429, provider: "openai" });
  let thrown;
  const { trace, llm } = await traced("failing", async () => {
    try {
      await openai.chat.completions.create({ model: "gpt-4o-mini", messages });
    } catch (error) {
      thrown = error;
    }
  });
  assert.ok(thrown instanceof OpenAI.RateLimitError, `got ${thrown}`);
  assert.equal(thrown.status, 429);
  assert.equal(llm[0].status, "ERROR");
  assert.equal(trace.info.tokenUsage, undefined);
});

/** A Responses API answer with web_search_call output items, served over HTTP (the fake
 * provider has no web-search items): [base URL, close]. */
async function webSearchServer(searches) {
  const body = {
    id: "resp_ws",
    object: "response",
    created_at: 1700000000,
    status: "completed",
    model: "gpt-4o-mini",
    output: [
      ...Array.from({ length: searches }, (_, i) => ({ type: "web_search_call", id: `ws_${i}`, status: "completed", action: { type: "search", query: "q" } })),
      { type: "message", id: "msg_1", status: "completed", role: "assistant", content: [{ type: "output_text", text: "found", annotations: [] }] },
    ],
    usage: { input_tokens: 2000, output_tokens: 500, total_tokens: 2500, input_tokens_details: { cached_tokens: 1500 }, output_tokens_details: { reasoning_tokens: 0 } },
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return [`http://127.0.0.1:${server.address().port}/v1`, () => new Promise((resolve) => server.close(resolve))];
}

test("Responses web_search_call items are counted and billed per call", async () => {
  const [baseURL, close] = await webSearchServer(3);
  try {
    const client = llmledger.tracedOpenAI(new OpenAI({ baseURL, apiKey: "x", maxRetries: 0 }));
    const { llm, value } = await traced("responses-web-search", () =>
      client.responses.create({ model: "gpt-4o-mini", input: "news?", tools: [{ type: "web_search" }] }),
    );
    assert.equal(value.output_text, "found");
    const [span] = llm;
    assert.deepEqual(span.tokenUsage, { input_tokens: 2000, output_tokens: 500, total_tokens: 2500, cache_read_input_tokens: 1500, reasoning_tokens: 0, web_search_requests: 3 });
    // https://platform.openai.com/docs/pricing: gpt-4o-mini 500 x $0.15/1M + 1500 cached x
    // $0.075/1M; web search $10.00 / 1k calls: 3 x $0.01; 500 output x $0.60/1M
    assert.deepEqual(span.llmCost, { input_cost: 0.0301875, output_cost: 0.0003, total_cost: 0.0304875 });
  } finally {
    await close();
  }
});

test("images, transcriptions and speech: billed per image, per second, per character", async () => {
  await fakeReply({ provider: "openai" }); // images: no token usage (per image)
  await fakeReply({ provider: "openai", usage: { type: "duration", seconds: 8.5 } });
  await fakeReply({ provider: "openai" });
  const { llm } = await traced("media", async () => {
    const images = await openai.images.generate({ model: "gpt-image-1", prompt: "a cat", n: 2, quality: "medium", size: "1024x1024" });
    assert.equal(images.data.length, 2);
    const file = await OpenAI.toFile(Buffer.from("ID3"), "a.mp3");
    const text = await openai.audio.transcriptions.create({ model: "whisper-1", file });
    assert.equal(text.text, "Hello from the fake provider.");
    const speech = await openai.audio.speech.create({ model: "tts-1", voice: "alloy", input: "hello world" });
    assert.ok((await speech.arrayBuffer()).byteLength > 0);
  });
  const byName = Object.fromEntries(llm.map((s) => [s.name, s]));
  // https://platform.openai.com/docs/pricing: gpt-image-1 medium 1024x1024 $0.042 per image
  assert.equal(byName.Images.attributes["llmledger.llm.model"], "medium/1024-x-1024/gpt-image-1");
  assert.deepEqual(byName.Images.tokenUsage, { input_tokens: 0, output_tokens: 0, total_tokens: 0, output_images: 2 });
  assert.deepEqual(byName.Images.llmCost, { input_cost: 0, output_cost: 0.084, total_cost: 0.084 });
  // whisper-1 $0.006 / minute = $0.0001 / second; 8.5 s rounds half to even (as Python): 8 s
  assert.deepEqual(byName.Transcriptions.tokenUsage, { input_tokens: 0, output_tokens: 0, total_tokens: 0, input_audio_seconds: 8 });
  assert.deepEqual(byName.Transcriptions.llmCost, { input_cost: 0.0008, output_cost: 0, total_cost: 0.0008 });
  // tts-1 $15.00 / 1M characters: 11 characters
  assert.deepEqual(byName.Speech.tokenUsage, { input_tokens: 0, output_tokens: 0, total_tokens: 0, input_characters: 11 });
  assert.deepEqual(byName.Speech.llmCost, { input_cost: 0.000165, output_cost: 0, total_cost: 0.000165 });
});

test("DALL-E images: billed per image by quality and size", async () => {
  await fakeReply({ provider: "openai" });
  await fakeReply({ provider: "openai" });
  const { llm } = await traced("dall-e", async () => {
    await openai.images.generate({ model: "dall-e-3", prompt: "a cat", n: 2, quality: "hd", size: "1024x1792" });
    await openai.images.generate({ model: "dall-e-2", prompt: "a cat", n: 3, size: "512x512" });
  });
  // https://platform.openai.com/docs/pricing: DALL-E 3 HD 1024x1792 $0.12, DALL-E 2 512x512 $0.018
  assert.equal(llm[0].attributes["llmledger.llm.model"], "hd/1024-x-1792/dall-e-3");
  assert.deepEqual(llm[0].llmCost, { input_cost: 0, output_cost: 0.24, total_cost: 0.24 });
  assert.equal(llm[1].attributes["llmledger.llm.model"], "512-x-512/dall-e-2");
  assert.deepEqual(llm[1].llmCost, { input_cost: 0, output_cost: 0.054, total_cost: 0.054 });
});

test("a cost the provider reports (OpenRouter's usage.cost) is kept beside ours", async () => {
  await fakeReply({ model: "gpt-4o-mini", usage: { prompt_tokens: 1000, completion_tokens: 100, cost: 0.00021 } });
  const { llm } = await traced("provider-cost", () => openai.chat.completions.create({ model: "gpt-4o-mini", messages }));
  assert.equal(llm[0].attributes["llmledger.llm.providerCost"], 0.00021);
  // ours: 1000 x $0.15/1M + 100 x $0.60/1M
  assert.deepEqual(llm[0].llmCost, { input_cost: 0.00015, output_cost: 0.00006, total_cost: 0.00021 });
});
