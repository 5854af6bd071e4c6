"""Amazon Bedrock autolog end to end, against the fake Bedrock Runtime (no AWS account).

Bedrock's ``inputTokens`` excludes cache reads and writes; llmledger adds them back and
prices each part (the ``us.`` cross-region profile has its own prices).

Run from the repo root: ``.venv/bin/python examples/bedrock_example.py``.
"""

from __future__ import annotations

import json

import boto3
from botocore.config import Config

import llmledger
from llmledger.fakes import start_fake_server

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def show(title: str) -> None:
    trace = llmledger.get_trace(llmledger.get_last_active_trace_id())
    span = trace.data.spans[0]
    print(f"\n== {title}: span {span.name!r} model={span.model}")
    print("  usage:", trace.info.token_usage)
    print("  cost: ", trace.info.cost)


def main() -> None:
    server = start_fake_server()
    llmledger.bedrock.autolog()  # before creating the client
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=server.base_url,
        aws_access_key_id="fake",
        aws_secret_access_key="fake",
        config=Config(retries={"total_max_attempts": 1}),
    )
    messages = [{"role": "user", "content": [{"text": "Summarise the contract."}]}]
    usage = {
        "inputTokens": 100,
        "outputTokens": 50,
        "cacheReadInputTokens": 800,
        "cacheWriteInputTokens": 200,
    }

    server.reply(text="It renews yearly.", usage=usage)
    response = client.converse(modelId=MODEL, messages=messages)
    print("answer:", response["output"]["message"]["content"][0]["text"])
    show("converse (inputTokens=100 + 800 cache read + 200 cache write)")

    server.reply(text="It renews every year.", usage=usage)
    stream = client.converse_stream(modelId=MODEL, messages=messages)["stream"]
    text = "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in stream if "contentBlockDelta" in e
    )
    print("\nstreamed:", text)
    show("converse_stream")

    server.reply(
        usage={
            "input_tokens": 100,
            "output_tokens": 50,
            "cache_read_input_tokens": 800,
            "cache_creation_input_tokens": 200,
        }
    )
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 256,
            "messages": [{"role": "user", "content": "Summarise the contract."}],
        }
    )
    answer = json.loads(client.invoke_model(modelId=MODEL, body=body)["body"].read())
    print("\ninvoke_model answer:", answer["content"][0]["text"])
    show("invoke_model with an Anthropic body")
    llmledger.flush()
    server.stop()


if __name__ == "__main__":
    main()
