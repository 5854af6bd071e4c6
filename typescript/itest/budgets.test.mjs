// Budgets with the real `openai` and `@anthropic-ai/sdk` npm clients, the fake provider
// server (GET /_fake/requests proves a refused call never reached it) and a real llmledger
// server (window budgets read its rollups). Dollars by hand from the price sheets:
// https://openai.com/api/pricing/ gpt-4o-mini $0.15 in / $0.60 out per 1M;
// https://docs.anthropic.com/en/docs/about-claude/pricing claude-sonnet-4-5 $3 in / $15 out.
import assert from "node:assert/strict";
import { test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import * as llmledger from "llmledger";
import { client, fakeReply, fakeUrl } from "./helpers.mjs";

const openai = llmledger.tracedOpenAI(new OpenAI({ baseURL: `${fakeUrl}/v1`, apiKey: "x", maxRetries: 0 }));
const anthropic = llmledger.tracedAnthropic(new Anthropic({ baseURL: fakeUrl, apiKey: "x", maxRetries: 0 }));

// 1000 in x $0.15/1M + 500 out x $0.60/1M = $0.00015 + $0.0003 = $0.00045 a call
const OPENAI_USAGE = { prompt_tokens: 1000, completion_tokens: 500 };
// 100 in x $3/1M + 20 out x $15/1M = $0.0003 + $0.0003 = $0.0006 a call
const ANTHROPIC_USAGE = { input_tokens: 100, output_tokens: 20 };

/** Requests the fake received whose first message says `marker`. */
async function sentWith(marker) {
  const requests = await (await fetch(`${fakeUrl}/_fake/requests`)).json();
  return requests.filter((r) => JSON.stringify(r.body?.messages?.[0]?.content ?? "").includes(marker)).length;
}

const chat = (marker) => openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: marker }] });
async function paidChat(marker) {
  await fakeReply({ model: "gpt-4o-mini", usage: OPENAI_USAGE });
  return chat(marker);
}

/** The spans of the last trace, read back from the server. */
async function lastTrace() {
  await llmledger.flushTraces();
  return client.getTrace(llmledger.getLastActiveTraceId());
}

test("openai: a block budget stops the call that would pass it; it never reaches the provider", async () => {
  const marker = `block-openai-${Date.now()}`;
  let refusal;
  await llmledger.withSpan(async () => {
    await llmledger.budget({ usd: "0.0009", name: "agent" }, async (b) => {
      await paidChat(marker); // spent 0 before: sent
      await paidChat(marker); // spent $0.00045 < $0.0009: sent
      assert.equal(b.spentUsd, 0.0009);
      refusal = await chat(marker).catch((e) => e); // spent $0.0009: refused
    });
  }, { name: "runaway" });
  assert.equal(await sentWith(marker), 2);
  assert.ok(refusal instanceof llmledger.BudgetExceeded);
  assert.deepEqual([refusal.scope, refusal.limitUsd, refusal.spentUsd], ["block 'agent'", 0.0009, 0.0009]);
  const trace = await lastTrace();
  const calls = trace.data.spans.filter((s) => s.name === "Completions");
  assert.deepEqual(calls.map((s) => s.status), ["OK", "OK", "ERROR"]);
  assert.equal(calls[2].tokenUsage, undefined);
  assert.deepEqual(trace.info.cost, { input_cost: 0.0003, output_cost: 0.0006, total_cost: 0.0009 });
});

test("openai stream and withResponse(): refused before sending too", async () => {
  const marker = `block-stream-${Date.now()}`;
  await llmledger.budget({ usd: "0.0001" }, async () => {
    await paidChat(marker);
    const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: marker }], stream: true }).catch((e) => e);
    assert.ok(stream instanceof llmledger.BudgetExceeded);
    const raw = await chat(marker).withResponse().catch((e) => e);
    assert.ok(raw instanceof llmledger.BudgetExceeded);
  });
  assert.equal(await sentWith(marker), 1);
});

test("anthropic: messages.create and messages.stream are refused once the block is spent", async () => {
  const marker = `block-anthropic-${Date.now()}`;
  const request = { model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: marker }] };
  await llmledger.budget({ usd: "0.0006", name: "claude" }, async (b) => {
    await fakeReply({ model: "claude-sonnet-4-5", usage: ANTHROPIC_USAGE });
    await anthropic.messages.create(request);
    assert.equal(b.spentUsd, 0.0006);
    const refused = await anthropic.messages.create(request).catch((e) => e);
    assert.ok(refused instanceof llmledger.BudgetExceeded);
    assert.equal(refused.scope, "block 'claude'");
    // the SDK's MessageStream wraps errors of its request in an AnthropicError (cause: ours)
    const streamed = await anthropic.messages.stream(request).finalMessage().catch((e) => e);
    assert.ok(streamed.cause instanceof llmledger.BudgetExceeded, String(streamed));
  });
  assert.equal(await sentWith(marker), 1);
});

test("a window budget reads the spend other processes stored on the server", async () => {
  process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS = "0"; // read the server before every call
  const run = `w-${Date.now()}`;
  const tagged = (fn) => llmledger.withSpan(async () => {
    llmledger.updateCurrentTrace({ tags: { budget_run: run } });
    return fn();
  }, { name: "tagged" });
  try {
    // spend made before the budget exists (as another process would): only the server knows it
    await tagged(() => paidChat(run));
    await tagged(() => paidChat(run));
    await llmledger.flushTraces();
    const window = llmledger.setBudget({ usd: "0.0009", per: "day", tags: { budget_run: run } });
    assert.equal(window.scope, "day (budget_run=" + run + ")");
    const refusal = await tagged(() => chat(run)).catch((e) => e);
    assert.ok(refusal instanceof llmledger.BudgetExceeded, String(refusal));
    assert.equal(refusal.spentUsd, 0.0009);
    assert.equal(await sentWith(run), 2);
    // traces without the tag are not in this budget's scope
    const other = await paidChat(`${run}-other`);
    assert.equal(other.choices[0].message.content, "Hello from the fake provider.");
  } finally {
    llmledger.clearBudgets();
    delete process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS;
  }
});

test("a user's window budget reads that user's spend from the server's user rollup", async () => {
  process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS = "0"; // read the server before every call
  const run = `u-${Date.now()}`;
  const asUser = (user, fn) => llmledger.withSpan(async () => {
    llmledger.updateCurrentTrace({ user });
    return fn();
  }, { name: "as-user" });
  try {
    // spend stored before the budget exists (as another process would): 2 x $0.00045
    await asUser(run, () => paidChat(run));
    await asUser(run, () => paidChat(run));
    await asUser(`${run}-other`, () => paidChat(`${run}-other`)); // another user's spend
    await llmledger.flushTraces();
    const window = llmledger.setBudget({ usd: "0.0009", per: "day", user: run });
    assert.equal(window.scope, `day (user=${run})`);
    const sent = await sentWith(run); // 3: the other user's marker contains this one
    const refusal = await asUser(run, () => chat(run)).catch((e) => e);
    assert.ok(refusal instanceof llmledger.BudgetExceeded, String(refusal));
    assert.equal(refusal.spentUsd, 0.0009); // the other user's $0.00045 is not in it
    assert.equal(await sentWith(run), sent, "the refused call was not sent");
    // the other user, and calls without a user, are not in this budget's scope
    const other = await asUser(`${run}-other`, () => paidChat(`${run}-other`));
    assert.equal(other.choices[0].message.content, "Hello from the fake provider.");
    assert.equal((await paidChat(`${run}-none`)).choices[0].message.content, "Hello from the fake provider.");
  } finally {
    llmledger.clearBudgets();
    delete process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS;
  }
});

test("a window budget counts this process's calls not yet on the server (no read per call)", async () => {
  process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS = "3600"; // one read, then local counting
  const run = `local-${Date.now()}`;
  try {
    const window = llmledger.setBudget({ usd: "0.0009", per: "hour", tags: { budget_run: run } });
    let refusal;
    await llmledger.withSpan(async () => {
      llmledger.updateCurrentTrace({ tags: { budget_run: run } });
      await paidChat(run);
      await paidChat(run);
      refusal = await chat(run).catch((e) => e); // the trace is still open: nothing stored yet
    }, { name: "open-trace" });
    assert.ok(refusal instanceof llmledger.BudgetExceeded);
    assert.deepEqual([refusal.scope, refusal.spentUsd], [`hour (budget_run=${run})`, 0.0009]);
    assert.equal(window.spentUsd, 0.0009);
    assert.equal(await sentWith(run), 2);
  } finally {
    llmledger.clearBudgets();
    delete process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS;
  }
});

test("under a window budget being read, streams and withResponse() work as without budgets", async () => {
  process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS = "0"; // every call waits for a read first
  const run = `pass-${Date.now()}`;
  try {
    llmledger.setBudget({ usd: 1, per: "day", tags: { budget_run: run } });
    await llmledger.withSpan(async () => {
      llmledger.updateCurrentTrace({ tags: { budget_run: run } });
      await fakeReply({ model: "gpt-4o-mini", text: "streamed answer", usage: { prompt_tokens: 45, completion_tokens: 14 } });
      const stream = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: run }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      assert.equal(text, "streamed answer");
      await fakeReply({ model: "gpt-4o-mini", usage: OPENAI_USAGE });
      const { data, response } = await chat(run).withResponse();
      assert.equal(response.status, 200);
      assert.equal(data.usage.prompt_tokens, 1000);
    }, { name: "passing" });
    const trace = await lastTrace();
    // 45 x $0.15/1M + 14 x $0.60/1M = $0.00001515; plus $0.00045
    assert.deepEqual(trace.data.spans.filter((s) => s.name === "Completions").map((s) => s.llmCost.total_cost), [0.00001515, 0.00045]);
    assert.equal(await sentWith(run), 2);
  } finally {
    llmledger.clearBudgets();
    delete process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS;
  }
});

test("a window budget with the server down keeps counting locally and never throws into the call", async () => {
  const run = `down-${Date.now()}`;
  llmledger.init({ trackingUri: "http://127.0.0.1:9", experimentId: "0", exportTimeoutMillis: 500 });
  process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS = "0";
  try {
    llmledger.setBudget({ usd: "0.00045", per: "month" });
    await paidChat(run); // no stored spend known, none local: sent
    const refusal = await chat(run).catch((e) => e);
    assert.ok(refusal instanceof llmledger.BudgetExceeded);
    assert.equal(refusal.spentUsd, 0.00045);
    assert.equal(await sentWith(run), 1);
  } finally {
    llmledger.clearBudgets();
    delete process.env.LLMLEDGER_BUDGET_REFRESH_SECONDS;
  }
});
