"""LangChain autolog end to end: a prompt | ChatOpenAI | parser chain against the fake
OpenAI server, with the OpenAI autolog on too (the OpenAI span nests under the chat-model
span, and the trace counts its usage once).

Run from the repo root: ``.venv/bin/python examples/langchain_example.py``.
"""

from __future__ import annotations

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

import llmledger
from llmledger.fakes import start_fake_server


@tool
def lookup_capital(country: str) -> str:
    """The capital of a country."""
    return {"France": "Paris", "Italy": "Rome"}.get(country, "unknown")


def main() -> None:
    server = start_fake_server()
    llmledger.openai.autolog()
    llmledger.langchain.autolog()

    llm = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=server.openai_base_url,
        api_key="sk-fake",
        max_retries=0,
        stream_usage=True,
    )
    chain = (
        ChatPromptTemplate.from_messages([("system", "Answer briefly."), ("user", "{question}")])
        | llm
        | StrOutputParser()
    )

    @llmledger.trace(span_type="AGENT")
    def answer(country: str) -> str:
        capital = lookup_capital.invoke({"country": country})
        server.reply(
            text=f"The capital of {country} is {capital}.",
            usage={
                "prompt_tokens": 1000,
                "completion_tokens": 200,
                "prompt_tokens_details": {"cached_tokens": 800},
            },
        )
        return chain.invoke({"question": f"Confirm: is {capital} the capital of {country}?"})

    print("answer:", answer("France"))
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    ids = {s.span_id: s for s in trace.data.spans}
    print("\nspans:")
    for span in trace.data.spans:
        depth, parent = 0, span.parent_id
        while parent:
            depth, parent = depth + 1, ids[parent].parent_id
        usage = f" usage={span.token_usage}" if span.token_usage else ""
        print(f"  {'  ' * depth}{span.name} ({span.span_type}){usage}")
    print("\ntrace usage (counted once):", trace.info.token_usage)
    print("trace cost:", trace.info.cost)
    llmledger.flush()
    server.stop()


if __name__ == "__main__":
    main()
