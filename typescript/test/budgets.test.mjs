// Block budgets without a server: a stand-in client object (the wrapper is the same one the
// real openai client gets; itest/budgets.test.mjs runs the real npm clients and a server).
// Dollars by hand from https://openai.com/api/pricing/: gpt-4o-mini $0.15 in, $0.60 out per 1M.
import assert from "node:assert/strict";
import { mock, test } from "node:test";
import {
  BudgetExceeded,
  budget,
  clearBudgets,
  flushTraces,
  init,
  setBudget,
  startSpan,
  tracedOpenAI,
  updateCurrentTrace,
  withSpan,
} from "../dist/index.mjs";

const exported = [];
init({ exporter: { export: (spans, done) => (exported.push(...spans), done({ code: 0 })), shutdown: async () => undefined } });

/** A client whose chat.completions.create answers 84 in / 22 out tokens of gpt-4o-mini
 * ($0.0000126 + $0.0000132 = $0.0000258) and records what was sent. */
function stubClient() {
  const sent = [];
  const client = {
    chat: {
      completions: {
        create: async (params) => {
          sent.push(params);
          return { model: "gpt-4o-mini", choices: [{ message: { content: "ok" } }], usage: { prompt_tokens: 84, completion_tokens: 22 } };
        },
      },
    },
  };
  return { openai: tracedOpenAI(client), sent };
}
const ask = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };

test("a block budget refuses the call that would start at or over the limit; exact money", async () => {
  const { openai, sent } = stubClient();
  // 3 calls cost 3 x $0.0000258 = $0.0000774 exactly (floats would give 0.00007740000000000001)
  const error = await budget({ usd: "0.0000774", name: "agent" }, async (b) => {
    for (let i = 0; i < 3; i++) await openai.chat.completions.create(ask);
    assert.equal(b.spentUsd, 0.0000774);
    assert.equal(b.spent, "0.0000774");
    return openai.chat.completions.create(ask).then(
      () => null,
      (e) => e,
    );
  });
  assert.equal(sent.length, 3, "the 4th call was not sent");
  assert.ok(error instanceof BudgetExceeded);
  assert.equal(error.scope, "block 'agent'");
  assert.equal(error.limitUsd, 0.0000774);
  assert.equal(error.spentUsd, 0.0000774);
  assert.equal(error.message, "llmledger budget exceeded for block 'agent': spent $0.000077 of $0.000077; the LLM call was not sent");
  await flushTraces();
  const refused = exported.filter((s) => s.name === "Completions").at(-1);
  assert.equal(refused.status.code, 2, "the refused call's span is ERROR");
  assert.match(refused.status.message, /^BudgetExceeded: llmledger budget exceeded/);
  // outside the block the calls go again
  await openai.chat.completions.create(ask);
  assert.equal(sent.length, 4);
});

test("blocks nest and concurrent blocks keep their own spend (AsyncLocalStorage)", async () => {
  const { openai, sent } = stubClient();
  const results = await Promise.all(
    ["a", "b"].map((name) =>
      budget({ usd: 0.00005, name }, async (b) => {
        await openai.chat.completions.create(ask);
        await new Promise((r) => setTimeout(r, 5));
        await openai.chat.completions.create(ask);
        return b.spentUsd;
      }),
    ),
  );
  assert.deepEqual(results, [0.0000516, 0.0000516]);
  assert.equal(sent.length, 4);
  await budget({ usd: 1, name: "outer" }, async (outer) => {
    const inner = await budget({ usd: "0.0000258", name: "inner" }, async (b) => {
      await openai.chat.completions.create(ask);
      return openai.chat.completions.create(ask).catch((e) => e);
    });
    assert.equal(inner.scope, "block 'inner'");
    assert.equal(outer.spentUsd, 0.0000258, "the outer block counts the inner block's call");
  });
});

test("a wrapper span with usage around an LLM call counts once", async () => {
  const { openai } = stubClient();
  await budget({ usd: 1 }, async (b) => {
    await withSpan(async () => {
      await openai.chat.completions.create(ask);
      const wrapper = startSpan({ name: "wrapper", attributes: { "llmledger.chat.tokenUsage": { input_tokens: 84, output_tokens: 22 }, "llmledger.llm.model": "gpt-4o-mini" } });
      wrapper.end();
    }, { name: "root", attributes: { "llmledger.chat.tokenUsage": { input_tokens: 168, output_tokens: 44 }, "llmledger.llm.model": "gpt-4o-mini" } });
    // the LLM call and the sibling span count; the root above them does not
    assert.equal(b.spentUsd, 0.0000516);
  });
});

test("onExceed: warn lets the call go (warned once); a callback sees the error, throwing refuses", async () => {
  const { openai, sent } = stubClient();
  const warnings = [];
  const warn = console.warn;
  console.warn = (m) => warnings.push(m);
  try {
    await budget({ usd: "0.00001", onExceed: "warn", name: "soft" }, async () => {
      for (let i = 0; i < 3; i++) await openai.chat.completions.create(ask);
    });
  } finally {
    console.warn = warn;
  }
  assert.equal(sent.length, 3);
  assert.deepEqual(warnings, ["llmledger: llmledger budget exceeded for block 'soft': spent $0.000026 of $0.000010; the call is sent (onExceed: warn)"]);
  const seen = [];
  await budget({ usd: "0.00001", onExceed: (e) => seen.push(e.spentUsd) }, async () => {
    for (let i = 0; i < 2; i++) await openai.chat.completions.create(ask);
  });
  assert.deepEqual(seen, [0.0000258]);
  assert.equal(sent.length, 5);
  class Stop extends Error {}
  const error = await budget({ usd: "0.00001", onExceed: () => { throw new Stop("stop"); } }, async () => {
    await openai.chat.completions.create(ask);
    return openai.chat.completions.create(ask).catch((e) => e);
  });
  assert.ok(error instanceof Stop);
  assert.equal(sent.length, 6);
});

test("bad budgets are clear errors naming the field", () => {
  const run = () => null;
  assert.throws(() => budget({ usd: 0 }, run), /a budget needs a positive number of USD \(usd\), got 0/);
  assert.throws(() => budget({ usd: -1 }, run), RangeError);
  assert.throws(() => budget({ usd: "abc" }, run), /got "abc"/);
  assert.throws(() => budget({ usd: Number.NaN }, run), /positive number of USD/);
  assert.throws(() => budget({ usd: 1, onExceed: "stop" }, run), /onExceed must be "raise", "warn" or a function, got "stop"/);
  assert.throws(() => setBudget({ usd: 1, per: "week" }), /per must be one of hour, day, month, got "week"/);
  assert.throws(() => setBudget({ usd: 1, tags: { a: "1", b: "2" } }), /one tag/);
  assert.throws(() => setBudget({ usd: 0 }), /positive number of USD/);
  assert.throws(() => setBudget({ usd: 1, user: "" }), /user must be a non-empty string, got ""/);
  assert.throws(() => setBudget({ usd: 1, user: 42 }), TypeError);
  assert.throws(() => setBudget({ usd: 1, user: "u-1", tags: { team: "a" } }), /a user or a tag, not both/);
  clearBudgets();
});

test("a window budget starts over with each calendar window (controlled clock, no server)", async () => {
  const { openai, sent } = stubClient();
  const warn = console.warn;
  const warnings = [];
  console.warn = (m) => warnings.push(m);
  mock.timers.enable({ apis: ["Date"], now: Date.UTC(2026, 0, 31, 23, 59) });
  try {
    const window = setBudget({ usd: "0.00005", per: "month" });
    await openai.chat.completions.create(ask);
    await openai.chat.completions.create(ask);
    const refused = await openai.chat.completions.create(ask).catch((e) => e);
    assert.ok(refused instanceof BudgetExceeded);
    assert.deepEqual([refused.scope, refused.spentUsd], ["month (all traces)", 0.0000516]);
    assert.equal(sent.length, 2);
    mock.timers.setTime(Date.UTC(2026, 1, 1)); // February: a new window, January's calls are out
    await openai.chat.completions.create(ask);
    assert.equal(sent.length, 3);
    assert.equal(window.spent, "0.0000258");
    // no tracking server to read: said once, counted locally
    assert.equal(warnings.filter((w) => /spend not read from the server \(no tracking server/.test(w)).length, 1);
  } finally {
    mock.timers.reset();
    console.warn = warn;
    clearBudgets();
  }
});

test("a user's window budget counts and refuses only that user's calls (no server)", async () => {
  const { openai, sent } = stubClient();
  const warn = console.warn;
  console.warn = () => undefined; // "no tracking server": counted locally
  try {
    const window = setBudget({ usd: "0.00005", per: "day", user: "u-42" });
    assert.equal(window.scope, "day (user=u-42)");
    const asUser = (user) => withSpan(async () => {
      updateCurrentTrace({ user });
      return openai.chat.completions.create(ask).catch((e) => e);
    }, { name: `as-${user}` });
    await asUser("u-42");
    await asUser("u-42"); // 2 x $0.0000258 = $0.0000516: at the limit
    await asUser("u-7"); // another user: neither counted nor refused
    await openai.chat.completions.create(ask); // no user: neither
    assert.equal(window.spent, "0.0000516");
    const refused = await asUser("u-42");
    assert.ok(refused instanceof BudgetExceeded);
    assert.deepEqual([refused.scope, refused.spentUsd], ["day (user=u-42)", 0.0000516]);
    const other = await asUser("u-7");
    assert.ok(!(other instanceof Error), String(other));
    assert.equal(sent.length, 5);
  } finally {
    console.warn = warn;
    clearBudgets();
  }
});
