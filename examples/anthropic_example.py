"""Anthropic autolog end to end, against the local fake Messages API (no network, no key).

Run from the repo root: ``.venv/bin/python examples/anthropic_example.py``.
"""

from __future__ import annotations

import warnings

import anthropic

import llmledger
from llmledger.fakes import start_fake_server

warnings.filterwarnings("ignore", category=DeprecationWarning)  # model deprecation notices


def show(title: str) -> None:
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    print(f"\n== {title}")
    for span in trace.data.spans:
        print(f"  span {span.name!r} ({span.span_type}) model={span.model}")
        print(f"    usage={span.token_usage} cost={span.llm_cost}")
    print("  trace usage:", trace.info.token_usage)
    print("  trace cost: ", trace.info.cost)


def main() -> None:
    server = start_fake_server()
    llmledger.anthropic.autolog()
    client = anthropic.Anthropic(base_url=server.base_url, api_key="sk-ant-fake", max_retries=0)
    messages = [{"role": "user", "content": "Summarise the attached contract."}]

    # Anthropic reports input_tokens WITHOUT the cache: 100 fresh + 800 read + 200 written.
    usage = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
    }
    server.reply(text="The contract renews yearly.", usage=usage)
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=messages)
    print("answer:", message.content[0].text)
    show("messages.create with prompt caching (input_tokens = 100 + 800 + 200)")

    # The streaming helper: usage from message_start + message_delta events.
    server.reply(text="It renews every year.", usage=usage)
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=256, messages=messages) as s:
        print("\nstreamed:", "".join(s.text_stream))
    show("messages.stream")

    # Tool use is recorded in the span outputs.
    server.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=256,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
    )
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    print("\ntool use recorded:", trace.data.spans[0].outputs["content"])
    llmledger.flush()
    server.stop()


if __name__ == "__main__":
    main()
