"""Two LLM calls recorded the MLflow way, so the seed samples have a trace to read.

Usage is set by hand here, as an integration would from the provider's response:
45 + 39 input tokens and 14 + 8 output tokens on gpt-4o-mini, the seed's numbers.
"""

import llmledger as mlflow


@mlflow.trace(name="Completions", span_type="CHAT_MODEL")
def completions(prompt: str, usage: dict) -> str:
    span = mlflow.get_current_active_span()
    span.set_attribute("mlflow.llm.model", "gpt-4o-mini")
    span.set_attribute("mlflow.chat.tokenUsage", usage)
    return f"answer to {prompt!r}"


@mlflow.trace
def answer(question: str) -> str:
    draft = completions(question, {"input_tokens": 45, "output_tokens": 14, "total_tokens": 59})
    return completions(draft, {"input_tokens": 39, "output_tokens": 8, "total_tokens": 47})


def record_two_llm_calls() -> None:
    answer("What does this trace cost?")
