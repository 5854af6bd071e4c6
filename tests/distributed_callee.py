"""A small HTTP service for the cross-service tracing test, run as its own process.

``python distributed_callee.py PORT OPENAI_BASE_URL`` (tracking URI from
``LLMLEDGER_TRACKING_URI``). ``POST /answer`` joins the caller's trace from the request's
``traceparent`` header, makes one OpenAI call (recorded by autolog) under a handler span,
stores its part of the trace, then answers ``{"trace_id": ..., "text": ...}``.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import openai

import llmledger
import llmledger.tracing


class Handler(BaseHTTPRequestHandler):
    client: openai.OpenAI

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with (
            llmledger.tracing.set_tracing_context_from_http_request_headers(self.headers),
            llmledger.start_span("callee-handler", span_type="AGENT") as span,
        ):
            answer = self.client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": body["question"]}]
            )
            trace_id = span.trace_id
        llmledger.flush()  # this process's part is stored before the caller goes on
        out = json.dumps({"trace_id": trace_id, "text": answer.choices[0].message.content})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out.encode())

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    port, base_url = int(sys.argv[1]), sys.argv[2]
    llmledger.openai.autolog()
    Handler.client = openai.OpenAI(base_url=base_url, api_key="test")
    server = HTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
