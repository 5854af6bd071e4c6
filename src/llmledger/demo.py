"""``llmledger demo``: record realistic traces of a support agent calling several models.

Each trace is an agent run: embed the question, retrieve documents, plan with a small model
(OpenAI prompt caching), answer with a large one (Anthropic cache reads and writes), and
sometimes call a tool or fail. Token counts vary with a fixed seed.

Two kinds of traces: *history* spread over the past days (spans recorded with explicit times,
so the Overview charts have days to show), and *live* runs made now through the real
``openai`` and ``anthropic`` client libraries with autolog on, against the local fake
provider server (:mod:`llmledger.fakes`): no network, no API key, but every span, usage field
and cost goes through exactly the path a real application's calls take.
"""

from __future__ import annotations

import random
import sys
import time

import llmledger
from llmledger import SpanType
from llmledger.reports import format_usd

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


def _who(question: str, tier: str, start_ns: int) -> tuple[str, str]:
    """A demo user (from the question and tier: no draw from the random sequence, so the
    demo's other values stay as they were) and their session of that day."""
    user = f"{tier}-user-{QUESTIONS.index(question) % 3 + 1}"
    return user, f"{user}-day-{start_ns // 86_400_000_000_000}"


def record_agent_run(rng: random.Random, start_ns: int) -> str:
    question = rng.choice(QUESTIONS)
    model, provider = rng.choice(ANSWER_MODELS)
    tier = rng.choice(["free", "pro", "enterprise"])
    t = start_ns
    with llmledger.start_span("support_agent", SpanType.AGENT, start_time_ns=t) as root:
        llmledger.update_current_trace(tags={"customer_tier": tier, "feature": "support"})
        user, session = _who(question, tier, start_ns)
        llmledger.update_current_trace(user=user, session=session)
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


def record_live_runs(count: int, rng: random.Random) -> list[str]:
    """Agent runs through the real client libraries against the fake providers."""
    try:
        import anthropic
        import openai
    except ImportError:
        print(
            "live demo traces skipped: pip install 'llmledger[openai,anthropic]' to record "
            "them through the real client libraries",
            file=sys.stderr,
        )
        return []
    import warnings

    from llmledger.fakes import start_fake_server

    server = start_fake_server()
    llmledger.openai.autolog()
    llmledger.anthropic.autolog()
    oa = openai.OpenAI(base_url=server.openai_base_url, api_key="demo", max_retries=0)
    an = anthropic.Anthropic(base_url=server.base_url, api_key="demo", max_retries=0)
    ids = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # model deprecation notices
            for _ in range(count):
                ids.append(_live_run(rng, server, oa, an))
    finally:
        llmledger.openai.autolog(disable=True)
        llmledger.anthropic.autolog(disable=True)
        server.stop()
    return ids


def _live_run(rng: random.Random, server, oa, an) -> str:
    question = rng.choice(QUESTIONS)
    tier = rng.choice(["free", "pro", "enterprise"])
    messages = [{"role": "user", "content": question}]
    with llmledger.start_span("support_agent", SpanType.AGENT) as root:
        llmledger.update_current_trace(tags={"customer_tier": tier, "feature": "support"})
        user, session = _who(question, tier, time.time_ns())
        llmledger.update_current_trace(user=user, session=session)
        root.set_inputs({"question": question})
        with llmledger.start_span("retrieve_docs", SpanType.RETRIEVER) as ret:
            n = rng.randint(6, 14)
            server.reply(provider="openai", usage={"prompt_tokens": n, "total_tokens": n})
            oa.embeddings.create(model="text-embedding-3-small", input=question)
            ret.set_outputs([f"doc-{rng.randint(1, 300)}" for _ in range(3)])
        prompt, cached = rng.randint(1800, 2600), rng.choice([0, 1024, 1536])
        server.reply(
            provider="openai",
            model="gpt-4o-mini-2024-07-18",
            text="lookup; answer",
            usage={
                "prompt_tokens": prompt,
                "completion_tokens": rng.randint(40, 120),
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        )
        oa.chat.completions.create(model="gpt-4o-mini", messages=messages)
        if rng.random() < 0.3:
            with llmledger.start_span("lookup_account", SpanType.TOOL) as tool:
                tool.set_inputs({"customer_tier": tier})
                tool.set_outputs({"plan": tier, "seats": rng.randint(1, 40)})
        if rng.random() < 0.5:  # Anthropic with prompt caching (reads, or a first write)
            read = rng.choice([0, 2048, 4096])
            server.reply(
                provider="anthropic",
                model="claude-sonnet-4-5",
                text="Here is how: ...",
                usage={
                    "input_tokens": rng.randint(800, 4000),
                    "output_tokens": rng.randint(150, 600),
                    "cache_read_input_tokens": read,
                    "cache_creation_input_tokens": 0 if read else 2048,
                },
            )
            answer = (
                an.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=messages)
                .content[0]
                .text
            )
        else:  # OpenAI, streamed, usage in the last chunk
            server.reply(
                provider="openai",
                model="gpt-4.1-2025-04-14",
                text="Here is how: ...",
                usage={
                    "prompt_tokens": rng.randint(3000, 9000),
                    "completion_tokens": rng.randint(150, 600),
                    "prompt_tokens_details": {"cached_tokens": rng.choice([0, 2048])},
                },
            )
            stream = oa.chat.completions.create(
                model="gpt-4.1",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
            answer = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        root.set_outputs(answer)
    return root.trace_id


def run_demo(
    traces: int = 40, experiment: str = "demo", days: int = 7, seed: int = 7, live: int = 12
) -> list[str]:
    llmledger.set_experiment(experiment)
    rng = random.Random(seed)
    now = time.time_ns()
    span_ns = max(days, 1) * 86_400 * 1_000_000_000
    ids = []
    for i in range(traces):
        start = now - span_ns + (span_ns * i) // max(traces, 1) + rng.randint(0, 3_600_000_000_000)
        ids.append(record_agent_run(rng, min(start, now - 60_000_000_000)))
        if (i + 1) % 10 == 0 or i + 1 == traces:
            print(f"recorded {i + 1}/{traces} history traces", file=sys.stderr)
    live_ids = record_live_runs(live, rng) if live else []
    if live_ids:
        print(
            f"recorded {len(live_ids)} live traces through the openai and anthropic "
            "clients (fake providers, no network)",
            file=sys.stderr,
        )
    ids += live_ids
    llmledger.flush()
    last = llmledger.get_trace(ids[-1])
    total = sum(
        (t.info.cost["total_cost"] for t in map(llmledger.get_trace, ids) if t and t.info.cost),
        0.0,
    )
    print(f"experiment {experiment!r}: {len(ids)} traces in {llmledger.get_tracking_uri()}")
    if last is not None:
        print(f"last trace {last.info.trace_id}: tokens {last.info.token_usage}")
        print(f"  cost {dict(last.info.cost) if last.info.cost else None}")
    print(f"all demo traces: {format_usd(total)}")
    return ids
