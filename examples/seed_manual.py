"""The seed's "Manually Setting Token and Cost Information" sample (llmledger as mlflow)."""

import llmledger as mlflow


@mlflow.trace
def my_llm_call():
    # Get the current span
    span = mlflow.get_current_active_span()

    # Your LLM call logic here...

    # Manually set token usage
    span.set_attribute(
        "mlflow.chat.tokenUsage",
        {
            "input_tokens": 100,
            "output_tokens": 50,
            "total_tokens": 150,
        },
    )

    # Manually set cost (in USD)
    span.set_attribute(
        "mlflow.llm.cost",
        {
            "input_cost": 0.0001,
            "output_cost": 0.0002,
            "total_cost": 0.0003,
        },
    )

    return "response"


# --- not in the seed: call it and read the numbers back ---
my_llm_call()
trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
print("token usage:", trace.info.token_usage)
print("cost:", trace.info.cost)
