// The seed's TypeScript sample ("Accessing Programmatically" > TypeScript / JavaScript SDK)
// with only the import changed, after two LLM calls so that there is a trace to read.
//
//   npm install <path-to-this-repo>/typescript openai
//   LLMLEDGER_TRACKING_URI=http://127.0.0.1:5000 OPENAI_BASE_URL=... node seed_typescript.mjs
//
// The one other change: the sample's trackingUri "http://localhost:5000" is read from
// LLMLEDGER_TRACKING_URI when set (the tests run the server on a free port).
import * as mlflow from "llmledger";
import OpenAI from "openai";

const trackingUri = process.env.LLMLEDGER_TRACKING_URI ?? "http://localhost:5000";
mlflow.init({ trackingUri, experimentId: process.env.LLMLEDGER_EXPERIMENT_ID ?? "0" });
const openai = mlflow.tracedOpenAI(new OpenAI({ apiKey: process.env.OPENAI_API_KEY ?? "x" }));

const answer = mlflow.trace(
  async (question) => {
    const draft = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }] });
    const final = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: `Improve: ${draft.choices[0].message.content}` }],
    });
    return final.choices[0].message.content;
  },
  { name: "answer" },
);
await answer("What does this trace cost?");

// ---- the seed's sample: import changed only ----
// Flush any pending spans then fetch the most recent trace
await mlflow.flushTraces();
const lastTraceId = mlflow.getLastActiveTraceId();
if (lastTraceId) {
  const client = new mlflow.MlflowClient({ trackingUri: trackingUri });
  const trace = await client.getTrace(lastTraceId);
  // Access token usage
  console.log("== Total token usage: ==");
  console.log(trace.info.tokenUsage); // { input_tokens, output_tokens, total_tokens }
  // Per-span usage
  console.log("\n== Usage for each LLM call: ==");
  for (const span of trace.data.spans) {
    const usage = span.attributes?.["mlflow.chat.tokenUsage"];
    if (usage) {
      console.log(`${span.name}:`, usage);
    }
  }

  // ---- beyond the seed: cost, for the trace and for each LLM call ----
  console.log("\n== Total cost (USD): ==");
  console.log(trace.info.cost); // { input_cost, output_cost, total_cost }
  console.log("\n== Cost of each LLM call: ==");
  for (const span of trace.data.spans) {
    if (span.llmCost) console.log(`${span.name}:`, span.llmCost);
  }
}
