"""google-genai autolog end to end, against the fake Gemini API (no network, no key).

Gemini's ``prompt_token_count`` includes the cached tokens and its thinking tokens are billed
as output: both show in the recorded usage and cost.

Run from the repo root: ``.venv/bin/python examples/google_genai_example.py``.
"""

from __future__ import annotations

from google import genai
from google.genai import types

import llmledger
from llmledger.fakes import start_fake_server


def show(title: str) -> None:
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    span = trace.data.spans[0]
    print(f"\n== {title}: span {span.name!r} provider={span.provider} model={span.model}")
    print("  usage:", trace.info.token_usage)
    print("  cost: ", trace.info.cost)


def main() -> None:
    server = start_fake_server()
    llmledger.google_genai.autolog()
    client = genai.Client(
        api_key="fake-key", http_options=types.HttpOptions(base_url=server.base_url)
    )
    usage = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 800,
        "candidatesTokenCount": 50,
        "thoughtsTokenCount": 100,
    }

    server.reply(text="Paris.", usage=usage)
    response = client.models.generate_content(
        model="gemini-2.5-flash", contents="Capital of France?"
    )
    print("answer:", response.text)
    show("generate_content (800 cached prompt tokens, 100 thinking tokens)")

    server.reply(text="Paris is the capital of France.", usage=usage)
    text = "".join(
        chunk.text
        for chunk in client.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Capital of France?"
        )
    )
    print("\nstreamed:", text)
    show("generate_content_stream")
    llmledger.flush()
    server.stop()


if __name__ == "__main__":
    main()
