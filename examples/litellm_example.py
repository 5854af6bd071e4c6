"""LiteLLM autolog end to end: one code path, two providers (the fake OpenAI and Anthropic
servers), each priced with its own cache rules.

Run from the repo root: ``.venv/bin/python examples/litellm_example.py``.
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download

import litellm

import llmledger
from llmledger.fakes import start_fake_server


def main() -> None:
    warnings.filterwarnings("ignore")  # LiteLLM's pydantic and deprecation notices
    server = start_fake_server()
    llmledger.litellm.autolog()
    question = [{"role": "user", "content": "What is the capital of France?"}]

    @llmledger.trace(span_type="CHAIN")
    def ask_both() -> list[str]:
        server.reply(
            usage={
                "prompt_tokens": 1000,
                "completion_tokens": 200,
                "prompt_tokens_details": {"cached_tokens": 800},
            }
        )
        server.reply(
            usage={
                "input_tokens": 100,
                "output_tokens": 50,
                "cache_read_input_tokens": 800,
                "cache_creation_input_tokens": 200,
            }
        )
        first = litellm.completion(
            model="openai/gpt-4o-mini",
            messages=question,
            api_base=server.openai_base_url,
            api_key="sk-fake",
        )
        second = litellm.completion(
            model="anthropic/claude-sonnet-4-5",
            messages=question,
            api_base=server.base_url,
            api_key="sk-ant-fake",
        )
        return [first.choices[0].message.content, second.choices[0].message.content]

    print("answers:", ask_both())
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    for span in trace.data.spans[1:]:
        print(f"\n{span.name}: provider={span.provider} model={span.model}")
        print("  usage:", span.token_usage)
        print("  cost: ", span.llm_cost)
    print("\ntrace usage:", trace.info.token_usage)
    print("trace cost: ", trace.info.cost)
    llmledger.flush()
    server.stop()


if __name__ == "__main__":
    main()
