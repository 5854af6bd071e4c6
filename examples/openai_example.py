"""OpenAI autolog end to end, against the local fake OpenAI server (no network, no key).

Run from the repo root: ``.venv/bin/python examples/openai_example.py``. Traces go to the
tracking store (``./llmledger.db`` unless ``LLMLEDGER_TRACKING_URI`` says otherwise).
"""

from __future__ import annotations

import openai

import llmledger
from llmledger.fakes import start_fake_server


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
    llmledger.openai.autolog()
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-fake", max_retries=0)
    question = [{"role": "user", "content": "What is the capital of France?"}]

    # 1. A chat completion that read 800 of its 1000 prompt tokens from OpenAI's prompt cache.
    server.reply(
        text="Paris.",
        usage={
            "prompt_tokens": 1000,
            "completion_tokens": 200,
            "prompt_tokens_details": {"cached_tokens": 800},
        },
    )
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=question)
    print("answer:", answer.choices[0].message.content)
    show("chat completion with cached prompt tokens")

    # 2. A stream: usage arrives in the last chunk when include_usage is requested.
    server.reply(text="Paris is the capital.", usage={"prompt_tokens": 40, "completion_tokens": 6})
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=question,
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    print("\nstreamed:", text)
    show("streamed chat completion")

    # 3. Two calls inside one traced function: one trace, usage and cost summed.
    @llmledger.trace(span_type="AGENT")
    def agent(q: str) -> str:
        server.reply(usage={"prompt_tokens": 120, "completion_tokens": 30})
        server.reply(usage={"input_tokens": 200, "output_tokens": 60})
        first = client.chat.completions.create(model="gpt-4o-mini", messages=question)
        second = client.responses.create(model="gpt-4o-mini", input=q)
        return f"{first.choices[0].message.content} / {second.output_text}"

    agent("And of Italy?")
    show("agent with a chat completion and a Responses call")
    llmledger.flush()
    server.stop()


if __name__ == "__main__":
    main()
