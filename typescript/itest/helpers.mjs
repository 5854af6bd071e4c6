// Shared by the integration tests, which tests/test_typescript.py runs with a real
// `llmledger server` (LLMLEDGER_TRACKING_URI) and the fake provider server (FAKE_PROVIDER_URL).
import * as llmledger from "llmledger";

export const trackingUri = process.env.LLMLEDGER_TRACKING_URI;
export const fakeUrl = process.env.FAKE_PROVIDER_URL;
if (!trackingUri || !fakeUrl) throw new Error("run these through tests/test_typescript.py (LLMLEDGER_TRACKING_URI and FAKE_PROVIDER_URL)");

llmledger.init({ trackingUri, experimentId: "0", serviceName: "ts-itest" });
export const client = new llmledger.LlmledgerClient({ trackingUri });

/** Queue the fake provider's next answer (see llmledger.fakes.server.Reply). */
export async function fakeReply(reply) {
  const response = await fetch(`${fakeUrl}/_fake/reply`, { method: "POST", body: JSON.stringify(reply), headers: { "content-type": "application/json" } });
  if (!response.ok) throw new Error(`fake reply: ${response.status}`);
}

/** Run fn inside a trace named `name`, flush, and read the trace back from the server. */
export async function traced(name, fn) {
  let value;
  await llmledger.withSpan(async () => {
    value = await fn();
  }, { name });
  await llmledger.flushTraces();
  const trace = await client.getTrace(llmledger.getLastActiveTraceId());
  if (!trace) throw new Error(`trace ${name} not on the server`);
  return { trace, value, llm: trace.data.spans.filter((s) => s.name !== name) };
}
