// A Node HTTP service traced with llmledger: each request runs in the caller's trace
// context (W3C traceparent) and makes its own LLM call. Prints its URL, then serves until
// killed. Used by tests/test_typescript.py (one trace across Python and Node).
import { createServer } from "node:http";
import OpenAI from "openai";
import * as llmledger from "llmledger";

llmledger.init({ trackingUri: process.env.LLMLEDGER_TRACKING_URI, serviceName: "node-service" });
const openai = llmledger.tracedOpenAI(new OpenAI({ baseURL: `${process.env.FAKE_PROVIDER_URL}/v1`, apiKey: "x", maxRetries: 0 }));

const handle = llmledger.trace(
  async (question) => {
    const r = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }] });
    return r.choices[0].message.content;
  },
  { name: "node-handler", spanType: "CHAIN" },
);

const server = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", async () => {
    try {
      const { question } = JSON.parse(body || "{}");
      const answer = await llmledger.withTracingContext(req.headers, () => handle(question));
      await llmledger.flushTraces(); // delivered before the caller reads the trace
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ answer, traceId: llmledger.getLastActiveTraceId() }));
    } catch (error) {
      res.writeHead(500);
      res.end(String(error));
    }
  });
});
server.listen(0, "127.0.0.1", () => console.log(`http://127.0.0.1:${server.address().port}`));
