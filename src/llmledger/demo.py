"""``llmledger demo``: record realistic traces of a support agent calling several models.

Each trace is an agent run: embed the question, retrieve documents, plan with a small model
(OpenAI prompt caching), answer with a large one (Anthropic cache reads and writes), and
sometimes call a tool or fail. Token counts vary with a fixed seed, timestamps are spread over
the past days, so the Overview charts have something to show.
"""

from __future__ import annotations

import random
import sys
import time

import llmledger
from llmledger import SpanType

QUESTIONS = [
    "How do I rotate my API key?",
    "Why was I charged twice this month?",
    "Can I export traces to CSV?",
    "What is the rate limit on the free plan?",
    "How do I add a teammate to my workspace?",
    "Does the SDK support async clients?",
]
ANSWER_MODELS = [("claude-sonnet-4-5", "anthropic"), ("gpt-4o", "openai"), ("gpt-4.1", "openai")]


def _llm(name, model, provider, usage, start_ns, ms, span_type=SpanType.CHAT_MODEL, io=None):
    with llmledger.start_span(name, span_type=span_type, start_time_ns=start_ns) as span:
        span.set_attribute("llmledger.llm.model", model)
        span.set_attribute("llmledger.llm.provider", provider)
        span.set_attribute("llmledger.chat.tokenUsage", usage)
        if io:
            span.set_inputs(io[0])
            span.set_outputs(io[1])
        span.end(end_time_ns=start_ns + ms * 1_000_000)
    return start_ns + ms * 1_000_000


def record_agent_run(rng: random.Random, start_ns: int) -> str:
    question = rng.choice(QUESTIONS)
    model, provider = rng.choice(ANSWER_MODELS)
    tier = rng.choice(["free", "pro", "enterprise"])
    t = start_ns
    with llmledger.start_span("support_agent", SpanType.AGENT, start_time_ns=t) as root:
        llmledger.update_current_trace(tags={"customer_tier": tier, "feature": "support"})
        root.set_inputs({"question": question})
        with llmledger.start_span("retrieve_docs", SpanType.RETRIEVER, start_time_ns=t) as ret:
            n = rng.randint(6, 14)
            t = _llm(
                "embed_query",
                "text-embedding-3-small",
                "openai",
                {"input_tokens": n, "output_tokens": 0},
                t,
                rng.randint(20, 60),
                SpanType.EMBEDDING,
            )
            docs = [f"doc-{rng.randint(1, 300)}" for _ in range(3)]
            ret.set_outputs(docs)
            t += rng.randint(5, 30) * 1_000_000
            ret.end(end_time_ns=t)
        prompt = rng.randint(1800, 2600)
        cached = rng.choice([0, 1024, 1536])
        t = _llm(
            "plan",
            "gpt-4o-mini",
            "openai",
            {
                "input_tokens": prompt,
                "output_tokens": rng.randint(40, 120),
                "cache_read_input_tokens": cached,
            },
            t,
            rng.randint(300, 900),
            io=({"messages": [{"role": "user", "content": question}]}, "lookup; answer"),
        )
        if rng.random() < 0.3:
            with llmledger.start_span("lookup_account", SpanType.TOOL, start_time_ns=t) as tool:
                tool.set_inputs({"customer_tier": tier})
                tool.set_outputs({"plan": tier, "seats": rng.randint(1, 40)})
                t += rng.randint(40, 200) * 1_000_000
                tool.end(end_time_ns=t)
        context = rng.randint(3000, 9000)
        if provider == "anthropic":
            read = rng.choice([0, 2048, 2048, 4096])
            write = 0 if read else rng.choice([0, 2048])
            usage = {
                "input_tokens": context,
                "output_tokens": rng.randint(150, 600),
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": write,
            }
        else:
            usage = {
                "input_tokens": context,
                "output_tokens": rng.randint(150, 600),
                "cache_read_input_tokens": rng.choice([0, 2048]),
            }
        answer = f"Here is how: ... ({model})"
        t = _llm(
            "answer",
            model,
            provider,
            usage,
            t,
            rng.randint(900, 4000),
            io=({"messages": [{"role": "user", "content": question}]}, answer),
        )
        root.set_outputs(answer)
        if rng.random() < 0.08:
            root.set_status("ERROR", "TimeoutError: downstream CRM did not answer")
        root.end(end_time_ns=t + rng.randint(5, 50) * 1_000_000)
    return root.trace_id


def run_demo(traces: int = 40, experiment: str = "demo", days: int = 7, seed: int = 7) -> list[str]:
    llmledger.set_experiment(experiment)
    rng = random.Random(seed)
    now = time.time_ns()
    span_ns = max(days, 1) * 86_400 * 1_000_000_000
    ids = []
    for i in range(traces):
        start = now - span_ns + (span_ns * i) // max(traces, 1) + rng.randint(0, 3_600_000_000_000)
        ids.append(record_agent_run(rng, min(start, now - 60_000_000_000)))
        if (i + 1) % 10 == 0 or i + 1 == traces:
            print(f"recorded {i + 1}/{traces} traces", file=sys.stderr)
    llmledger.flush()
    last = llmledger.get_trace(ids[-1])
    total = sum(
        (t.info.cost["total_cost"] for t in map(llmledger.get_trace, ids) if t and t.info.cost),
        0.0,
    )
    print(f"experiment {experiment!r}: {traces} traces in {llmledger.get_tracking_uri()}")
    print(f"last trace {last.info.trace_id}: tokens {last.info.token_usage}")
    print(f"  cost {dict(last.info.cost) if last.info.cost else None}")
    print(f"all demo traces: ${total:.6f}")
    return ids
