"""Golden cost cases: every expected dollar amount is computed here by hand.

The per-token prices below are typed in from the bundled snapshot (LiteLLM 1.110.2,
2026-11-25) as decimal literals; nothing is read from the catalog to build an expectation.
If a snapshot update changes a price, the failing case names the model to re-check.

Usage dicts follow the canonical convention: ``input_tokens`` includes cache reads/writes,
audio and image input; ``output_tokens`` includes reasoning and audio output.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import pytest

from llmledger.pricing import (
    clear_overrides,
    compute_cost,
    set_azure_deployment,
    set_price,
)

UTC = dt.UTC


@dataclass(frozen=True)
class Case:
    id: str
    model: str
    usage: dict[str, Any]  # canonical counts, or a provider's own shape (nested details)
    inp: D
    out: D
    provider: str | None = None
    tier: str | None = None
    at: dt.datetime | None = None
    model_id: str | None = None  # the catalog key (or override name) that must be used
    speed: str | None = None  # Anthropic fast mode ("fast")
    inference_geo: str | None = None  # Anthropic US-only inference ("us")
    notes: dict[str, Any] | None = None  # non-money cost details expected (e.g. unpriced_*)


CASES: list[Case] = []


def u(i: int, o: int, **details: int) -> dict[str, int]:
    return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o, **details}


def add(case_id: str, model: str, usage: dict[str, int], inp: D, out: D, **kw: Any) -> None:
    CASES.append(Case(case_id, model, usage, inp, out, **kw))


SIZES = [(1, 1), (84, 22), (1000, 200), (12_345, 678), (128_000, 16_384)]

# ---------------------------------------------------------------------------------- OpenAI
# gpt-4o-mini: in 1.5e-7, out 6e-7, cache read 7.5e-8; batches 7.5e-8 / 3e-7;
# priority 2.5e-7 / 1e-6, cache read priority 1.25e-7
for i, o in SIZES:
    add(
        f"gpt-4o-mini-{i}-{o}",
        "gpt-4o-mini",
        u(i, o),
        i * D("1.5e-7"),
        o * D("6e-7"),
        model_id="gpt-4o-mini",
    )
for i, o, c in [(1000, 100, 800), (2048, 10, 1024), (5000, 0, 5000), (100_000, 2000, 64_000)]:
    add(
        f"gpt-4o-mini-cached-{i}-{c}",
        "gpt-4o-mini",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("1.5e-7") + c * D("7.5e-8"),
        o * D("6e-7"),
    )
for i, o, c in [(1000, 200, 0), (10_000, 500, 4000), (1, 0, 0)]:
    # batch: no cache_read_input_token_cost_batches -> the standard cache-read price
    add(
        f"gpt-4o-mini-batch-{i}-{c}",
        "gpt-4o-mini",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("7.5e-8") + c * D("7.5e-8"),
        o * D("3e-7"),
        tier="batch",
    )
for i, o, c in [(1000, 200, 0), (10_000, 500, 4000), (300, 3000, 100)]:
    add(
        f"gpt-4o-mini-priority-{i}-{c}",
        "gpt-4o-mini",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("2.5e-7") + c * D("1.25e-7"),
        o * D("1e-6"),
        tier="priority",
    )
add(
    "gpt-4o-mini-dated-exact",
    "gpt-4o-mini-2024-07-18",
    u(500, 50),
    500 * D("1.5e-7"),
    50 * D("6e-7"),
    model_id="gpt-4o-mini-2024-07-18",
)
add(
    "gpt-4o-mini-tier-default",
    "gpt-4o-mini",
    u(500, 50),
    500 * D("1.5e-7"),
    50 * D("6e-7"),
    tier="default",
)
add(
    "gpt-4o-mini-tier-batches",
    "gpt-4o-mini",
    u(500, 50),
    500 * D("7.5e-8"),
    50 * D("3e-7"),
    tier="batches",
)

# gpt-4o: in 2.5e-6, out 1e-5, cache read 1.25e-6; batches 1.25e-6 / 5e-6;
# priority 4.25e-6 / 1.7e-5, cache read priority 2.125e-6
for i, o in SIZES:
    add(f"gpt-4o-{i}-{o}", "gpt-4o", u(i, o), i * D("2.5e-6"), o * D("1e-5"), model_id="gpt-4o")
for i, o, c in [(1000, 200, 500), (3000, 1, 2944), (60_000, 4000, 59_000)]:
    add(
        f"gpt-4o-cached-{i}-{c}",
        "gpt-4o",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("2.5e-6") + c * D("1.25e-6"),
        o * D("1e-5"),
    )
add(
    "gpt-4o-batch", "gpt-4o", u(10_000, 1000), 10_000 * D("1.25e-6"), 1000 * D("5e-6"), tier="batch"
)
add(
    "gpt-4o-batch-cached",
    "gpt-4o",
    u(10_000, 1000, cache_read_input_tokens=2000),
    8000 * D("1.25e-6") + 2000 * D("1.25e-6"),
    1000 * D("5e-6"),
    tier="batch",
)
add(
    "gpt-4o-priority",
    "gpt-4o",
    u(10_000, 1000),
    10_000 * D("4.25e-6"),
    1000 * D("1.7e-5"),
    tier="priority",
)
add(
    "gpt-4o-priority-cached",
    "gpt-4o",
    u(10_000, 1000, cache_read_input_tokens=6000),
    4000 * D("4.25e-6") + 6000 * D("2.125e-6"),
    1000 * D("1.7e-5"),
    tier="priority",
)
add(
    "gpt-4o-flex-missing-falls-back",
    "gpt-4o",
    u(1000, 100),
    1000 * D("2.5e-6"),
    100 * D("1e-5"),
    tier="flex",
)
add(
    "gpt-4o-dated-exact",
    "gpt-4o-2024-08-06",
    u(1000, 100),
    1000 * D("2.5e-6"),
    100 * D("1e-5"),
    model_id="gpt-4o-2024-08-06",
)
add(
    "gpt-4o-dated-base",
    "gpt-4o-2099-01-01",
    u(1000, 100),
    1000 * D("2.5e-6"),
    100 * D("1e-5"),
    model_id="gpt-4o",
)
add(
    "gpt-4o-openai-prefix",
    "openai/gpt-4o",
    u(1000, 100),
    1000 * D("2.5e-6"),
    100 * D("1e-5"),
    model_id="gpt-4o",
)
add(
    "gpt-4o-case-whitespace",
    "  GPT-4o ",
    u(1000, 100),
    1000 * D("2.5e-6"),
    100 * D("1e-5"),
    model_id="gpt-4o",
)

# gpt-5: in 1.25e-6, out 1e-5, cache read 1.25e-7; flex 6.25e-7 / 5e-6 / 6.25e-8;
# batches 6.25e-7 / 5e-6 / 6.25e-8; priority 2.5e-6 / 2e-5 / 2.5e-7. Reasoning tokens are
# part of output_tokens and billed at the output price (no separate reasoning price).
for i, o, r in [(1000, 2000, 1500), (50_000, 8000, 7000), (10, 10, 0), (4096, 32_000, 31_000)]:
    add(
        f"gpt-5-reasoning-{i}-{o}-{r}",
        "gpt-5",
        u(i, o, reasoning_tokens=r),
        i * D("1.25e-6"),
        o * D("1e-5"),
    )
for i, o, c in [(1000, 500, 0), (20_000, 3000, 10_000), (100_000, 1, 99_999)]:
    add(
        f"gpt-5-flex-{i}-{c}",
        "gpt-5",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("6.25e-7") + c * D("6.25e-8"),
        o * D("5e-6"),
        tier="flex",
    )
for i, o, c in [(1000, 500, 200), (20_000, 3000, 0)]:
    add(
        f"gpt-5-batch-{i}-{c}",
        "gpt-5",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("6.25e-7") + c * D("6.25e-8"),
        o * D("5e-6"),
        tier="batch",
    )
for i, o, c in [(1000, 500, 200), (20_000, 3000, 0)]:
    add(
        f"gpt-5-priority-{i}-{c}",
        "gpt-5",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("2.5e-6") + c * D("2.5e-7"),
        o * D("2e-5"),
        tier="priority",
    )

# gpt-5-mini: in 2.5e-7, out 2e-6, cache read 2.5e-8
for i, o, c, r in [(900, 1200, 0, 1000), (30_000, 500, 25_000, 400)]:
    add(
        f"gpt-5-mini-{i}-{c}-{r}",
        "gpt-5-mini",
        u(i, o, cache_read_input_tokens=c, reasoning_tokens=r),
        (i - c) * D("2.5e-7") + c * D("2.5e-8"),
        o * D("2e-6"),
    )

# gpt-5.4: in 2.5e-6 / out 1.5e-5 / cache 2.5e-7; above 272k: 5e-6 / 2.25e-5 / 5e-7;
# above-272k batches & flex: 2.5e-6 / 1.125e-5 / 2.5e-7; batches & flex 1.25e-6 / 7.5e-6 /
# 1.3e-7; priority 5e-6 / 3e-5 / 5e-7 (no above-272k priority fields)
add(
    "gpt-5.4-at-272000-is-standard",
    "gpt-5.4",
    u(272_000, 1000),
    272_000 * D("2.5e-6"),
    1000 * D("1.5e-5"),
)
add("gpt-5.4-above-272k", "gpt-5.4", u(272_001, 1000), 272_001 * D("5e-6"), 1000 * D("2.25e-5"))
add(
    "gpt-5.4-above-272k-cached",
    "gpt-5.4",
    u(400_000, 2000, cache_read_input_tokens=300_000),
    100_000 * D("5e-6") + 300_000 * D("5e-7"),
    2000 * D("2.25e-5"),
)
add(
    "gpt-5.4-above-272k-batch",
    "gpt-5.4",
    u(300_000, 5000, cache_read_input_tokens=100_000),
    200_000 * D("2.5e-6") + 100_000 * D("2.5e-7"),
    5000 * D("1.125e-5"),
    tier="batch",
)
add(
    "gpt-5.4-above-272k-flex",
    "gpt-5.4",
    u(500_000, 100),
    500_000 * D("2.5e-6"),
    100 * D("1.125e-5"),
    tier="flex",
)
add(
    "gpt-5.4-above-272k-priority-falls-back",
    "gpt-5.4",
    u(300_000, 5000, cache_read_input_tokens=100_000),
    200_000 * D("5e-6") + 100_000 * D("5e-7"),
    5000 * D("2.25e-5"),
    tier="priority",
)
add(
    "gpt-5.4-priority",
    "gpt-5.4",
    u(10_000, 500, cache_read_input_tokens=5000),
    5000 * D("5e-6") + 5000 * D("5e-7"),
    500 * D("3e-5"),
    tier="priority",
)
add(
    "gpt-5.4-batch",
    "gpt-5.4",
    u(10_000, 500, cache_read_input_tokens=5000),
    5000 * D("1.25e-6") + 5000 * D("1.3e-7"),
    500 * D("7.5e-6"),
    tier="batch",
)
add(
    "gpt-5.4-flex", "gpt-5.4", u(10_000, 500), 10_000 * D("1.25e-6"), 500 * D("7.5e-6"), tier="flex"
)

# o3: in 2e-6, out 8e-6, cache read 5e-7; flex 1e-6 / 4e-6 / 2.5e-7; batches 1e-6 / 4e-6
add("o3-basic", "o3", u(2000, 5000, reasoning_tokens=4500), 2000 * D("2e-6"), 5000 * D("8e-6"))
add(
    "o3-cached",
    "o3",
    u(2000, 50, cache_read_input_tokens=1024),
    976 * D("2e-6") + 1024 * D("5e-7"),
    50 * D("8e-6"),
)
add(
    "o3-flex-cached",
    "o3",
    u(2000, 50, cache_read_input_tokens=1024),
    976 * D("1e-6") + 1024 * D("2.5e-7"),
    50 * D("4e-6"),
    tier="flex",
)
add(
    "o3-batch-cached-falls-back",
    "o3",
    u(2000, 50, cache_read_input_tokens=1024),
    976 * D("1e-6") + 1024 * D("5e-7"),
    50 * D("4e-6"),
    tier="batch",
)
# o4-mini: in 1.1e-6, out 4.4e-6, cache read 2.75e-7, flex cache read 1.38e-7
add("o4-mini", "o4-mini", u(3333, 777, reasoning_tokens=700), 3333 * D("1.1e-6"), 777 * D("4.4e-6"))
add(
    "o4-mini-flex",
    "o4-mini",
    u(3333, 777, cache_read_input_tokens=3000),
    333 * D("5.5e-7") + 3000 * D("1.38e-7"),
    777 * D("2.2e-6"),
    tier="flex",
)

# embeddings: text-embedding-3-small 2e-8 (batches 1e-8), -large 1.3e-7, output 0
for n in (1, 8191, 1_000_000):
    add(f"embedding-3-small-{n}", "text-embedding-3-small", u(n, 0), n * D("2e-8"), D(0))
add(
    "embedding-3-small-batch",
    "text-embedding-3-small",
    u(500_000, 0),
    500_000 * D("1e-8"),
    D(0),
    tier="batch",
)
for n in (10, 250_000):
    add(f"embedding-3-large-{n}", "text-embedding-3-large", u(n, 0), n * D("1.3e-7"), D(0))

# audio: gpt-audio text 2.5e-6 / 1e-5, audio 3.2e-5 in / 6.4e-5 out
for i, ai, o, ao in [(1000, 800, 500, 450), (200, 0, 1000, 1000), (5000, 5000, 10, 0)]:
    add(
        f"gpt-audio-{i}-{ai}-{o}-{ao}",
        "gpt-audio",
        u(i, o, audio_input_tokens=ai, audio_output_tokens=ao),
        (i - ai) * D("2.5e-6") + ai * D("3.2e-5"),
        (o - ao) * D("1e-5") + ao * D("6.4e-5"),
    )
# gpt-4o-transcribe (audio_transcription): audio in 2.5e-6, text in 2.5e-6, text out 1e-5
add(
    "gpt-4o-transcribe",
    "gpt-4o-transcribe",
    u(1500, 120, audio_input_tokens=1450),
    50 * D("2.5e-6") + 1450 * D("2.5e-6"),
    120 * D("1e-5"),
)
add("gpt-4o-transcribe-text-only", "gpt-4o-transcribe", u(64, 10), 64 * D("2.5e-6"), 10 * D("1e-5"))
# gpt-4o-mini-tts (audio_speech): text in 6e-7, audio out 1.2e-5
add(
    "gpt-4o-mini-tts",
    "gpt-4o-mini-tts",
    u(300, 2400, audio_output_tokens=2400),
    300 * D("6e-7"),
    2400 * D("1.2e-5"),
)
# gpt-realtime: text in 4e-6, cache read 4e-7, audio in 3.2e-5, image in 5e-6,
# text out 1.6e-5, audio out 6.4e-5
add(
    "gpt-realtime-mixed",
    "gpt-realtime",
    u(
        10_000,
        3000,
        cache_read_input_tokens=4000,
        audio_input_tokens=3000,
        image_input_tokens=1000,
        audio_output_tokens=2500,
    ),
    2000 * D("4e-6") + 4000 * D("4e-7") + 3000 * D("3.2e-5") + 1000 * D("5e-6"),
    500 * D("1.6e-5") + 2500 * D("6.4e-5"),
)
add("gpt-realtime-text", "gpt-realtime", u(100, 100), 100 * D("4e-6"), 100 * D("1.6e-5"))
# gpt-image-1: text in 5e-6, image in 1e-5, image out 4e-5 (image_output_tokens extension)
add(
    "gpt-image-1",
    "gpt-image-1",
    u(1200, 4160, image_input_tokens=1000, image_output_tokens=4160),
    200 * D("5e-6") + 1000 * D("1e-5"),
    4160 * D("4e-5"),
)

# ------------------------------------------------------------------------------- Anthropic
# claude-sonnet-4-5: in 3e-6, out 1.5e-5, cache read 3e-7, cache write 3.75e-6;
# batches: 1.5e-6 / 7.5e-6 / 1.5e-7 / 1.875e-6. input_tokens below already include the
# cache reads and writes (Anthropic's own input_tokens do not; the normaliser adds them).
for i, o in [(1, 1), (1000, 300), (150_000, 8000)]:
    add(
        f"claude-sonnet-4-5-{i}-{o}",
        "claude-sonnet-4-5",
        u(i, o),
        i * D("3e-6"),
        o * D("1.5e-5"),
        model_id="claude-sonnet-4-5",
    )
for i, o, c in [(5000, 200, 4000), (20_000, 1000, 19_990), (1024, 1, 1024)]:
    add(
        f"claude-sonnet-4-5-read-{i}-{c}",
        "claude-sonnet-4-5",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("3e-6") + c * D("3e-7"),
        o * D("1.5e-5"),
    )
for i, o, w in [(5000, 200, 4000), (2048, 0, 2048), (100_000, 500, 1)]:
    add(
        f"claude-sonnet-4-5-write-{i}-{w}",
        "claude-sonnet-4-5",
        u(i, o, cache_creation_input_tokens=w),
        (i - w) * D("3e-6") + w * D("3.75e-6"),
        o * D("1.5e-5"),
    )
for i, o, c, w in [
    (10_000, 700, 6000, 3000),
    (50_000, 2000, 20_000, 29_000),
    (3000, 3000, 1500, 1500),
]:
    add(
        f"claude-sonnet-4-5-read-write-{i}-{c}-{w}",
        "claude-sonnet-4-5",
        u(i, o, cache_read_input_tokens=c, cache_creation_input_tokens=w),
        (i - c - w) * D("3e-6") + c * D("3e-7") + w * D("3.75e-6"),
        o * D("1.5e-5"),
    )
add(
    "claude-sonnet-4-5-batch",
    "claude-sonnet-4-5",
    u(10_000, 2000, cache_read_input_tokens=6000, cache_creation_input_tokens=2000),
    2000 * D("1.5e-6") + 6000 * D("1.5e-7") + 2000 * D("1.875e-6"),
    2000 * D("7.5e-6"),
    tier="batch",
)
add(
    "claude-sonnet-4-5-thinking",
    "claude-sonnet-4-5",
    u(800, 4000, reasoning_tokens=3500),
    800 * D("3e-6"),
    4000 * D("1.5e-5"),
)
add(
    "claude-sonnet-4-5-dated",
    "claude-sonnet-4-5-20250929",
    u(1000, 100),
    1000 * D("3e-6"),
    100 * D("1.5e-5"),
    model_id="claude-sonnet-4-5-20250929",
)
add(
    "claude-sonnet-4-5-unknown-date",
    "claude-sonnet-4-5-20991231",
    u(1000, 100),
    1000 * D("3e-6"),
    100 * D("1.5e-5"),
    model_id="claude-sonnet-4-5",
)
add(
    "claude-sonnet-4-5-anthropic-prefix",
    "anthropic/claude-sonnet-4-5",
    u(1000, 100),
    1000 * D("3e-6"),
    100 * D("1.5e-5"),
    model_id="claude-sonnet-4-5",
)
# claude-haiku-4-5: in 1e-6, out 5e-6, cache read 1e-7, write 1.25e-6; batches 5e-7 / 2.5e-6
# / 5e-8 / 6.25e-7
for i, o, c, w in [(1000, 100, 0, 0), (8000, 400, 4000, 2000), (60_000, 60, 59_000, 0)]:
    add(
        f"claude-haiku-4-5-{i}-{c}-{w}",
        "claude-haiku-4-5",
        u(i, o, cache_read_input_tokens=c, cache_creation_input_tokens=w),
        (i - c - w) * D("1e-6") + c * D("1e-7") + w * D("1.25e-6"),
        o * D("5e-6"),
    )
add(
    "claude-haiku-4-5-batch",
    "claude-haiku-4-5",
    u(8000, 400, cache_read_input_tokens=4000, cache_creation_input_tokens=2000),
    2000 * D("5e-7") + 4000 * D("5e-8") + 2000 * D("6.25e-7"),
    400 * D("2.5e-6"),
    tier="batch",
)
add(
    "claude-haiku-4-5-dated",
    "claude-haiku-4-5-20251001",
    u(1000, 100),
    1000 * D("1e-6"),
    100 * D("5e-6"),
    model_id="claude-haiku-4-5-20251001",
)
# claude-opus-4-7: in 5e-6, out 2.5e-5, cache read 5e-7, write 6.25e-6
for i, o, c, w in [(1000, 100, 0, 0), (30_000, 3000, 20_000, 5000), (200_000, 1, 0, 200_000)]:
    add(
        f"claude-opus-4-7-{i}-{c}-{w}",
        "claude-opus-4-7",
        u(i, o, cache_read_input_tokens=c, cache_creation_input_tokens=w),
        (i - c - w) * D("5e-6") + c * D("5e-7") + w * D("6.25e-6"),
        o * D("2.5e-5"),
    )
add(
    "claude-opus-4-7-batch",
    "claude-opus-4-7",
    u(1000, 1000),
    1000 * D("2.5e-6"),
    1000 * D("1.25e-5"),
    tier="batch",
)
# alias: claude-sonnet-latest -> claude-sonnet-5-5 (in 2e-6, out 1e-5, cache read 1e-7)
add(
    "claude-sonnet-latest-alias",
    "claude-sonnet-latest",
    u(4000, 100, cache_read_input_tokens=3000),
    1000 * D("2e-6") + 3000 * D("1e-7"),
    100 * D("1e-5"),
    model_id="claude-sonnet-5-5",
)

# ---------------------------------------------------------------------- Google (Gemini API)
# gemini/gemini-2.5-pro: in 1.25e-6, out 1e-5, cache read 1.25e-7; above 200k: 2.5e-6 /
# 1.5e-5 / 2.5e-7; priority 2.25e-6 / 1.8e-5 / 2.25e-7; above-200k priority 4.5e-6 / 2.7e-5
# / 4.5e-7; batches 6.25e-7 / 5e-6 / 1.25e-7; above-200k batches 1.25e-6 / 7.5e-6 / 2.5e-7.
# Gemini's prompt_token_count includes cached_content_token_count; thoughts are output.
for i, o, c in [(1000, 500, 0), (100_000, 2000, 80_000), (200_000, 100, 0)]:
    add(
        f"gemini-2.5-pro-{i}-{c}",
        "gemini-2.5-pro",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("1.25e-6") + c * D("1.25e-7"),
        o * D("1e-5"),
        provider="gemini",
        model_id="gemini/gemini-2.5-pro",
    )
for i, o, c in [(200_001, 100, 0), (500_000, 4000, 300_000), (1_000_000, 65_536, 999_000)]:
    add(
        f"gemini-2.5-pro-long-{i}-{c}",
        "gemini/gemini-2.5-pro",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("2.5e-6") + c * D("2.5e-7"),
        o * D("1.5e-5"),
    )
add(
    "gemini-2.5-pro-priority",
    "gemini/gemini-2.5-pro",
    u(10_000, 1000, cache_read_input_tokens=5000),
    5000 * D("2.25e-6") + 5000 * D("2.25e-7"),
    1000 * D("1.8e-5"),
    tier="priority",
)
add(
    "gemini-2.5-pro-priority-long",
    "gemini/gemini-2.5-pro",
    u(250_000, 1000, cache_read_input_tokens=50_000),
    200_000 * D("4.5e-6") + 50_000 * D("4.5e-7"),
    1000 * D("2.7e-5"),
    tier="priority",
)
add(
    "gemini-2.5-pro-batch",
    "gemini/gemini-2.5-pro",
    u(10_000, 1000),
    10_000 * D("6.25e-7"),
    1000 * D("5e-6"),
    tier="batch",
)
add(
    "gemini-2.5-pro-batch-long",
    "gemini/gemini-2.5-pro",
    u(300_000, 1000, cache_read_input_tokens=100_000),
    200_000 * D("1.25e-6") + 100_000 * D("2.5e-7"),
    1000 * D("7.5e-6"),
    tier="batch",
)
add(
    "gemini-2.5-pro-flex",
    "gemini/gemini-2.5-pro",
    u(10_000, 1000),
    10_000 * D("6.25e-7"),
    1000 * D("5e-6"),
    tier="flex",
)
add(
    "gemini-2.5-pro-thinking",
    "gemini/gemini-2.5-pro",
    u(2000, 9000, reasoning_tokens=8000),
    2000 * D("1.25e-6"),
    9000 * D("1e-5"),
)
# gemini/gemini-2.5-flash: in 3e-7, out 2.5e-6, reasoning 2.5e-6 (priced separately, same
# rate), audio in 1e-6, cache read 3e-8; batches: in 1.5e-7, out 1.25e-6, audio 5e-7 (no
# reasoning batches field -> the standard reasoning price)
for i, o, r in [(1000, 3000, 2500), (40_000, 100, 0)]:
    add(
        f"gemini-2.5-flash-{i}-{r}",
        "gemini/gemini-2.5-flash",
        u(i, o, reasoning_tokens=r),
        i * D("3e-7"),
        (o - r) * D("2.5e-6") + r * D("2.5e-6"),
    )
add(
    "gemini-2.5-flash-audio",
    "gemini/gemini-2.5-flash",
    u(5000, 200, audio_input_tokens=3200, cache_read_input_tokens=1000),
    800 * D("3e-7") + 1000 * D("3e-8") + 3200 * D("1e-6"),
    200 * D("2.5e-6"),
)
add(
    "gemini-2.5-flash-batch",
    "gemini/gemini-2.5-flash",
    u(5000, 3000, audio_input_tokens=1000, reasoning_tokens=2000),
    4000 * D("1.5e-7") + 1000 * D("5e-7"),
    1000 * D("1.25e-6") + 2000 * D("2.5e-6"),
    tier="batch",
)
add(
    "gemini-2.5-flash-google-provider",
    "gemini-2.5-flash",
    u(1000, 10),
    1000 * D("3e-7"),
    10 * D("2.5e-6"),
    provider="google",
    model_id="gemini/gemini-2.5-flash",
)
# gemini/gemini-2.5-flash-lite: in 1e-7, out 4e-7, cache read 1e-8, audio 3e-7
add(
    "gemini-2.5-flash-lite",
    "gemini/gemini-2.5-flash-lite",
    u(10_000, 1000, cache_read_input_tokens=2000, audio_input_tokens=1000),
    7000 * D("1e-7") + 2000 * D("1e-8") + 1000 * D("3e-7"),
    1000 * D("4e-7"),
)
add(
    "gemini-2.5-flash-lite-priority",
    "gemini/gemini-2.5-flash-lite",
    u(10_000, 1000),
    10_000 * D("1.8e-7"),
    1000 * D("7.2e-7"),
    tier="priority",
)
# gemini/gemini-2.5-flash-image: text in 3e-7, image out 3e-5, text out 2.5e-6
add(
    "gemini-2.5-flash-image",
    "gemini/gemini-2.5-flash-image",
    u(300, 1390, image_output_tokens=1290),
    300 * D("3e-7"),
    100 * D("2.5e-6") + 1290 * D("3e-5"),
)
# gemini/gemini-embedding-001: 1.5e-7 (batches 7.5e-8)
add("gemini-embedding-001", "gemini/gemini-embedding-001", u(2048, 0), 2048 * D("1.5e-7"), D(0))
add(
    "gemini-embedding-001-batch",
    "gemini/gemini-embedding-001",
    u(2048, 0),
    2048 * D("7.5e-8"),
    D(0),
    tier="batch",
)

# ---------------------------------------------------------------------------- Vertex AI
# gemini-2.5-pro on Vertex (bare key, vertex_ai-language-models): same text prices as above,
# cache writes: only an above-200k field (2.5e-7); below it they fall back to the input price
add(
    "vertex-gemini-2.5-pro",
    "gemini-2.5-pro",
    u(10_000, 500),
    10_000 * D("1.25e-6"),
    500 * D("1e-5"),
    model_id="gemini-2.5-pro",
)
add(
    "vertex-gemini-2.5-pro-prefix",
    "vertex_ai/gemini-2.5-pro",
    u(10_000, 500),
    10_000 * D("1.25e-6"),
    500 * D("1e-5"),
    model_id="gemini-2.5-pro",
)
add(
    "vertex-gemini-2.5-pro-provider",
    "gemini-2.5-pro",
    u(10_000, 500),
    10_000 * D("1.25e-6"),
    500 * D("1e-5"),
    provider="vertex_ai",
    model_id="gemini-2.5-pro",
)
add(
    "vertex-gemini-2.5-pro-write-short",
    "gemini-2.5-pro",
    u(10_000, 500, cache_creation_input_tokens=4000),
    6000 * D("1.25e-6") + 4000 * D("1.25e-6"),
    500 * D("1e-5"),
)
add(
    "vertex-gemini-2.5-pro-write-long",
    "gemini-2.5-pro",
    u(300_000, 500, cache_creation_input_tokens=100_000, cache_read_input_tokens=100_000),
    100_000 * D("2.5e-6") + 100_000 * D("2.5e-7") + 100_000 * D("2.5e-7"),
    500 * D("1.5e-5"),
)
# gemini-2.5-flash on Vertex: audio is $1.00 / 1M at any prompt length
# (https://cloud.google.com/vertex-ai/generative-ai/pricing; LiteLLM's 3e-7 above 200k is
# fixed by pricing/data/corrections.json)
add(
    "vertex-gemini-2.5-flash-audio-long",
    "gemini-2.5-flash",
    u(300_000, 100, audio_input_tokens=100_000),
    200_000 * D("3e-7") + 100_000 * D("1e-6"),
    100 * D("2.5e-6"),
    provider="vertex_ai",
)
# vertex_ai/claude-sonnet-4-5: in 3e-6 / out 1.5e-5 / read 3e-7 / write 3.75e-6; above
# 200k: 6e-6 / 2.25e-5 / 6e-7 / 7.5e-6; batches 1.5e-6 / 7.5e-6 / 1.5e-7 / 1.88e-6
add(
    "vertex-claude-sonnet-4-5",
    "vertex_ai/claude-sonnet-4-5",
    u(10_000, 1000, cache_read_input_tokens=5000, cache_creation_input_tokens=3000),
    2000 * D("3e-6") + 5000 * D("3e-7") + 3000 * D("3.75e-6"),
    1000 * D("1.5e-5"),
)
add(
    "vertex-claude-sonnet-4-5-long",
    "vertex_ai/claude-sonnet-4-5",
    u(300_000, 1000, cache_read_input_tokens=200_000, cache_creation_input_tokens=50_000),
    50_000 * D("6e-6") + 200_000 * D("6e-7") + 50_000 * D("7.5e-6"),
    1000 * D("2.25e-5"),
)
add(
    "vertex-claude-sonnet-4-5-batch",
    "vertex_ai/claude-sonnet-4-5",
    u(10_000, 1000, cache_creation_input_tokens=1000),
    9000 * D("1.5e-6") + 1000 * D("1.88e-6"),
    1000 * D("7.5e-6"),
    tier="batch",
)
add(
    "vertex-claude-sonnet-4-5-at-date",
    "claude-sonnet-4-5@20250929",
    u(1000, 100),
    1000 * D("3e-6"),
    100 * D("1.5e-5"),
    provider="vertex_ai",
    model_id="vertex_ai/claude-sonnet-4-5@20250929",
)
# text-embedding-005 (Vertex embedding): 1e-7 per token
add("vertex-text-embedding-005", "text-embedding-005", u(5000, 0), 5000 * D("1e-7"), D(0))

# ----------------------------------------------------------------------------- Bedrock
# anthropic.claude-sonnet-4-5-20250929-v1:0: in 3e-6 / out 1.5e-5 / read 3e-7 / write
# 3.75e-6; above 200k 6e-6 / 2.25e-5 / 6e-7 / 7.5e-6; batches 1.5e-6 / 7.5e-6
BEDROCK_SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
for i, o, c, w in [(1000, 100, 0, 0), (20_000, 1500, 15_000, 4000)]:
    add(
        f"bedrock-sonnet-4-5-{i}-{c}-{w}",
        BEDROCK_SONNET,
        u(i, o, cache_read_input_tokens=c, cache_creation_input_tokens=w),
        (i - c - w) * D("3e-6") + c * D("3e-7") + w * D("3.75e-6"),
        o * D("1.5e-5"),
        model_id=BEDROCK_SONNET,
    )
add(
    "bedrock-sonnet-4-5-long",
    BEDROCK_SONNET,
    u(250_000, 1000, cache_read_input_tokens=100_000, cache_creation_input_tokens=50_000),
    100_000 * D("6e-6") + 100_000 * D("6e-7") + 50_000 * D("7.5e-6"),
    1000 * D("2.25e-5"),
)
add(
    "bedrock-sonnet-4-5-batch",
    BEDROCK_SONNET,
    u(10_000, 1000),
    10_000 * D("1.5e-6"),
    1000 * D("7.5e-6"),
    tier="batch",
)
add(
    "bedrock-sonnet-4-5-route-prefix",
    "bedrock/converse/" + BEDROCK_SONNET,
    u(1000, 100),
    1000 * D("3e-6"),
    100 * D("1.5e-5"),
    model_id=BEDROCK_SONNET,
)
# regional inference profiles cost 10% more: us./eu./jp. 3.3e-6 / 1.65e-5 / 3.3e-7 / 4.125e-6
for region in ("us", "eu", "jp"):
    add(
        f"bedrock-sonnet-4-5-{region}",
        f"{region}.{BEDROCK_SONNET}",
        u(20_000, 1500, cache_read_input_tokens=15_000, cache_creation_input_tokens=4000),
        1000 * D("3.3e-6") + 15_000 * D("3.3e-7") + 4000 * D("4.125e-6"),
        1500 * D("1.65e-5"),
        model_id=f"{region}.{BEDROCK_SONNET}",
    )
add(
    "bedrock-sonnet-4-5-us-prefixed",
    f"bedrock/us.{BEDROCK_SONNET}",
    u(1000, 100),
    1000 * D("3.3e-6"),
    100 * D("1.65e-5"),
    model_id=f"us.{BEDROCK_SONNET}",
)
add(
    "bedrock-sonnet-4-5-us-long",
    f"us.{BEDROCK_SONNET}",
    u(200_001, 10),
    200_001 * D("6.6e-6"),
    10 * D("2.475e-5"),
)
# a region without its own entry falls back to the base id's price
add(
    "bedrock-sonnet-4-5-unlisted-region",
    f"ca.{BEDROCK_SONNET}",
    u(1000, 100),
    1000 * D("3e-6"),
    100 * D("1.5e-5"),
    model_id=BEDROCK_SONNET,
)
# anthropic.claude-opus-4-6-v1: 5e-6 / 2.5e-5 / read 5e-7 / write 6.25e-6;
# us. profile 5.5e-6 / 2.75e-5 / 5.5e-7 / 6.875e-6. Ids with ":0" resolve by version rule.
add(
    "bedrock-opus-4-6-v1",
    "anthropic.claude-opus-4-6-v1",
    u(1000, 100),
    1000 * D("5e-6"),
    100 * D("2.5e-5"),
    model_id="anthropic.claude-opus-4-6-v1",
)
add(
    "bedrock-opus-4-6-v1-0",
    "anthropic.claude-opus-4-6-v1:0",
    u(4000, 100, cache_read_input_tokens=3000),
    1000 * D("5e-6") + 3000 * D("5e-7"),
    100 * D("2.5e-5"),
    model_id="anthropic.claude-opus-4-6-v1",
)
add(
    "bedrock-opus-4-6-us-v1-0",
    "us.anthropic.claude-opus-4-6-v1:0",
    u(4000, 100, cache_creation_input_tokens=3000),
    1000 * D("5.5e-6") + 3000 * D("6.875e-6"),
    100 * D("2.75e-5"),
    model_id="us.anthropic.claude-opus-4-6-v1",
)
add(
    "bedrock-opus-4-6-provider",
    "anthropic.claude-opus-4-6-v1",
    u(10, 10),
    10 * D("5e-6"),
    10 * D("2.5e-5"),
    provider="bedrock",
)
# apac.anthropic.claude-sonnet-4-20250514-v1:0: 3e-6 / 1.5e-5, above 200k 6e-6 / 2.25e-5
add(
    "bedrock-apac-sonnet-4",
    "apac.anthropic.claude-sonnet-4-20250514-v1:0",
    u(1000, 1000),
    1000 * D("3e-6"),
    1000 * D("1.5e-5"),
)
add(
    "bedrock-apac-sonnet-4-long",
    "apac.anthropic.claude-sonnet-4-20250514-v1:0",
    u(210_000, 1000),
    210_000 * D("6e-6"),
    1000 * D("2.25e-5"),
)
# amazon.nova-pro-v1:0: 8e-7 / 3.2e-6 / read 2e-7; priority 1.4e-6 / 5.6e-6 / 3.5e-7;
# flex 4e-7 / 1.6e-6 / 1e-7; batches 4e-7 / 1.6e-6 (no batches cache read -> 2e-7)
NOVA = "amazon.nova-pro-v1:0"
add(
    "bedrock-nova-pro",
    NOVA,
    u(5000, 500, cache_read_input_tokens=1000),
    4000 * D("8e-7") + 1000 * D("2e-7"),
    500 * D("3.2e-6"),
)
add(
    "bedrock-nova-pro-priority",
    NOVA,
    u(5000, 500, cache_read_input_tokens=1000),
    4000 * D("1.4e-6") + 1000 * D("3.5e-7"),
    500 * D("5.6e-6"),
    tier="priority",
)
add(
    "bedrock-nova-pro-flex",
    NOVA,
    u(5000, 500, cache_read_input_tokens=1000),
    4000 * D("4e-7") + 1000 * D("1e-7"),
    500 * D("1.6e-6"),
    tier="flex",
)
add(
    "bedrock-nova-pro-batch",
    NOVA,
    u(5000, 500, cache_read_input_tokens=1000),
    4000 * D("4e-7") + 1000 * D("2e-7"),
    500 * D("1.6e-6"),
    tier="batch",
)

# ------------------------------------------------------------------------------- Azure
# azure/gpt-4o: 2.5e-6 / 1e-5 / read 1.25e-6; batches 1.25e-6 / 5e-6
add(
    "azure-gpt-4o-provider",
    "gpt-4o",
    u(1000, 100, cache_read_input_tokens=500),
    500 * D("2.5e-6") + 500 * D("1.25e-6"),
    100 * D("1e-5"),
    provider="azure",
    model_id="azure/gpt-4o",
)
add(
    "azure-gpt-4o-name",
    "azure/gpt-4o",
    u(1000, 100),
    1000 * D("2.5e-6"),
    100 * D("1e-5"),
    model_id="azure/gpt-4o",
)
add(
    "azure-gpt-4o-batch",
    "azure/gpt-4o",
    u(1000, 100),
    1000 * D("1.25e-6"),
    100 * D("5e-6"),
    tier="batch",
)
# azure/gpt-4o-mini: 1.5e-7 / 6e-7 / read 7.5e-8; batches 7.5e-8 / 3e-7
add(
    "azure-gpt-4o-mini",
    "azure/gpt-4o-mini",
    u(7000, 700, cache_read_input_tokens=2000),
    5000 * D("1.5e-7") + 2000 * D("7.5e-8"),
    700 * D("6e-7"),
)
add(
    "azure-gpt-4o-mini-openai-sdk-provider",
    "gpt-4o-mini",
    u(7000, 700),
    7000 * D("1.5e-7"),
    700 * D("6e-7"),
    provider="azure_openai",
    model_id="azure/gpt-4o-mini",
)
# azure/eu/gpt-4o-mini (data zone): 1.65e-7 / 6.6e-7 / read 8.3e-8; batches input 8.3e-8,
# no output batches field -> the standard 6.6e-7
add(
    "azure-eu-gpt-4o-mini",
    "azure/eu/gpt-4o-mini",
    u(7000, 700, cache_read_input_tokens=2000),
    5000 * D("1.65e-7") + 2000 * D("8.3e-8"),
    700 * D("6.6e-7"),
)
add(
    "azure-eu-gpt-4o-mini-batch",
    "azure/eu/gpt-4o-mini",
    u(7000, 700),
    7000 * D("8.3e-8"),
    700 * D("6.6e-7"),
    tier="batch",
)
# deployments (configured in the fixture): prod-gpt -> gpt-4o-mini, chat-deploy -> gpt-5
add(
    "azure-deployment",
    "prod-gpt",
    u(7000, 700, cache_read_input_tokens=2000),
    5000 * D("1.5e-7") + 2000 * D("7.5e-8"),
    700 * D("6e-7"),
    model_id="azure/gpt-4o-mini",
)
add(
    "azure-deployment-prefixed",
    "azure/prod-gpt",
    u(7000, 700),
    7000 * D("1.5e-7"),
    700 * D("6e-7"),
    model_id="azure/gpt-4o-mini",
)
add(
    "azure-deployment-provider",
    "prod-gpt",
    u(7000, 700),
    7000 * D("1.5e-7"),
    700 * D("6e-7"),
    provider="azure",
    model_id="azure/gpt-4o-mini",
)
# azure/gpt-5: 1.25e-6 / 1e-5 / read 1.25e-7; priority 2.5e-6 / 2e-5 / 2.5e-7
add(
    "azure-deployment-gpt-5",
    "chat-deploy",
    u(3000, 2000, reasoning_tokens=1500),
    3000 * D("1.25e-6"),
    2000 * D("1e-5"),
    model_id="azure/gpt-5",
)
add(
    "azure-deployment-gpt-5-priority",
    "chat-deploy",
    u(3000, 2000, cache_read_input_tokens=1000),
    2000 * D("2.5e-6") + 1000 * D("2.5e-7"),
    2000 * D("2e-5"),
    tier="priority",
)
# azure/o3: 2e-6 / 8e-6 / read 5e-7; batches 1e-6 / 4e-6 (no batches cache read)
add(
    "azure-o3-batch",
    "o3",
    u(2000, 50, cache_read_input_tokens=1024),
    976 * D("1e-6") + 1024 * D("5e-7"),
    50 * D("4e-6"),
    provider="azure",
    tier="batch",
    model_id="azure/o3",
)

# ------------------------------------------------------------------------------ Mistral
# mistral/mistral-large-latest: 5e-7 / 1.5e-6 / read 5e-8
add(
    "mistral-large",
    "mistral/mistral-large-latest",
    u(10_000, 1000),
    10_000 * D("5e-7"),
    1000 * D("1.5e-6"),
)
add(
    "mistral-large-bare-name",
    "mistral-large-latest",
    u(10_000, 1000),
    10_000 * D("5e-7"),
    1000 * D("1.5e-6"),
    model_id="mistral/mistral-large-latest",
)
add(
    "mistral-large-cached",
    "mistral-large-latest",
    u(10_000, 1000, cache_read_input_tokens=9000),
    1000 * D("5e-7") + 9000 * D("5e-8"),
    1000 * D("1.5e-6"),
    provider="mistral",
)
# mistral/mistral-small-latest: 1.5e-7 / 6e-7
add(
    "mistral-small",
    "mistral/mistral-small-latest",
    u(2000, 300),
    2000 * D("1.5e-7"),
    300 * D("6e-7"),
)
add(
    "mistral-small-provider-mistralai",
    "mistral-small-latest",
    u(2000, 300),
    2000 * D("1.5e-7"),
    300 * D("6e-7"),
    provider="mistralai",
)
# mistral/codestral-latest: 3e-7 / 9e-7
add(
    "mistral-codestral", "mistral/codestral-latest", u(2000, 300), 2000 * D("3e-7"), 300 * D("9e-7")
)
# mistral/mistral-embed (embedding, no output price): 1e-7
add("mistral-embed", "mistral/mistral-embed", u(4096, 0), 4096 * D("1e-7"), D(0))
add("mistral-embed-bare", "mistral-embed", u(4096, 0), 4096 * D("1e-7"), D(0))

# ----------------------------------------------------------------------------- DeepSeek
# deepseek-chat / deepseek-reasoner: 2.8e-7 / 4.2e-7 / read 2.8e-8 (reasoning in output)
for i, o, c in [(1000, 100, 0), (64_000, 8000, 60_000), (10, 1, 10)]:
    add(
        f"deepseek-chat-{i}-{c}",
        "deepseek-chat",
        u(i, o, cache_read_input_tokens=c),
        (i - c) * D("2.8e-7") + c * D("2.8e-8"),
        o * D("4.2e-7"),
    )
add(
    "deepseek-reasoner",
    "deepseek-reasoner",
    u(3000, 9000, reasoning_tokens=8500),
    3000 * D("2.8e-7"),
    9000 * D("4.2e-7"),
)
add(
    "deepseek-reasoner-cached",
    "deepseek-reasoner",
    u(3000, 900, reasoning_tokens=800, cache_read_input_tokens=2000),
    1000 * D("2.8e-7") + 2000 * D("2.8e-8"),
    900 * D("4.2e-7"),
)
add(
    "deepseek-chat-provider",
    "deepseek-chat",
    u(1000, 100),
    1000 * D("2.8e-7"),
    100 * D("4.2e-7"),
    provider="deepseek",
    model_id="deepseek-chat",
)
# deepseek/deepseek-v3.2: 2.8e-7 / 4e-7 / read 2.8e-8
add(
    "deepseek-v3.2",
    "deepseek/deepseek-v3.2",
    u(5000, 500, cache_read_input_tokens=4000),
    1000 * D("2.8e-7") + 4000 * D("2.8e-8"),
    500 * D("4e-7"),
)
add(
    "deepseek-v3.2-bare",
    "deepseek-v3.2",
    u(5000, 500),
    5000 * D("2.8e-7"),
    500 * D("4e-7"),
    model_id="deepseek/deepseek-v3.2",
)

# ---------------------------------------------------------------------------------- xAI
# xai/grok-4.3: 1.25e-6 / 2.5e-6 / read 2e-7 / image 1.25e-6; above 200k 2.5e-6 / 5e-6 /
# 4e-7; batches 1e-6 / 2e-6 / 1.6e-7; above-200k batches 2e-6 / 4e-6 / 3.2e-7
add(
    "grok-4.3",
    "xai/grok-4.3",
    u(10_000, 2000, cache_read_input_tokens=5000),
    5000 * D("1.25e-6") + 5000 * D("2e-7"),
    2000 * D("2.5e-6"),
)
add(
    "grok-4.3-bare",
    "grok-4.3",
    u(10_000, 2000),
    10_000 * D("1.25e-6"),
    2000 * D("2.5e-6"),
    model_id="xai/grok-4.3",
)
add(
    "grok-4.3-provider",
    "grok-4.3",
    u(10_000, 2000),
    10_000 * D("1.25e-6"),
    2000 * D("2.5e-6"),
    provider="xai",
    model_id="xai/grok-4.3",
)
add(
    "grok-4.3-long",
    "xai/grok-4.3",
    u(250_000, 2000, cache_read_input_tokens=150_000),
    100_000 * D("2.5e-6") + 150_000 * D("4e-7"),
    2000 * D("5e-6"),
)
add(
    "grok-4.3-batch",
    "xai/grok-4.3",
    u(10_000, 2000, cache_read_input_tokens=5000),
    5000 * D("1e-6") + 5000 * D("1.6e-7"),
    2000 * D("2e-6"),
    tier="batch",
)
add(
    "grok-4.3-batch-long",
    "xai/grok-4.3",
    u(250_000, 2000, cache_read_input_tokens=150_000),
    100_000 * D("2e-6") + 150_000 * D("3.2e-7"),
    2000 * D("4e-6"),
    tier="batch",
)
add(
    "grok-4.3-image",
    "xai/grok-4.3",
    u(3000, 100, image_input_tokens=2500),
    500 * D("1.25e-6") + 2500 * D("1.25e-6"),
    100 * D("2.5e-6"),
)
add(
    "grok-4.3-reasoning",
    "xai/grok-4.3",
    u(3000, 5000, reasoning_tokens=4900),
    3000 * D("1.25e-6"),
    5000 * D("2.5e-6"),
)
# xai/grok-code-fast-1: 1e-6 / 2e-6 / read 2e-7; above 200k 2e-6 / 4e-6 / 4e-7
add(
    "grok-code-fast-1",
    "xai/grok-code-fast-1",
    u(50_000, 3000, cache_read_input_tokens=45_000),
    5000 * D("1e-6") + 45_000 * D("2e-7"),
    3000 * D("2e-6"),
)
add(
    "grok-code-fast-1-long",
    "xai/grok-code-fast-1",
    u(220_000, 3000),
    220_000 * D("2e-6"),
    3000 * D("4e-6"),
)

# ---------------------------------------------------------- flattened tiers, per request
# dashscope/qwen-plus-2025-07-28 (from LiteLLM tiered_pricing): 4e-7 / 1.2e-6, reasoning
# 4e-6; above 256k: 1.2e-6 / 3.6e-6 / reasoning 1.2e-5. Reasoning is priced separately, so
# it is taken out of the text output.
QWEN = "dashscope/qwen-plus-2025-07-28"
add(
    "qwen-plus-reasoning",
    QWEN,
    u(1000, 3000, reasoning_tokens=2000),
    1000 * D("4e-7"),
    1000 * D("1.2e-6") + 2000 * D("4e-6"),
)
add("qwen-plus-no-reasoning", QWEN, u(1000, 3000), 1000 * D("4e-7"), 3000 * D("1.2e-6"))
add(
    "qwen-plus-long",
    QWEN,
    u(300_000, 3000, reasoning_tokens=1000),
    300_000 * D("1.2e-6"),
    2000 * D("3.6e-6") + 1000 * D("1.2e-5"),
)
# dashscope/qwen3-coder-plus: four tiers (32k, 128k, 256k): the largest threshold wins
for i, rate_in, rate_out in [
    (32_000, "1e-6", "5e-6"),
    (32_001, "1.8e-6", "9e-6"),
    (128_001, "3e-6", "1.5e-5"),
    (256_001, "6e-6", "6e-5"),
]:
    add(
        f"qwen3-coder-plus-{i}",
        "dashscope/qwen3-coder-plus",
        u(i, 100),
        i * D(rate_in),
        100 * D(rate_out),
    )
# perplexity/sonar-small-online: 0 per input token, 0.005 per request, 2.8e-7 per output
add(
    "perplexity-per-request",
    "perplexity/sonar-small-online",
    u(500, 400),
    D("0.005"),
    400 * D("2.8e-7"),
)

# ----------------------------------------------------------------------------- overrides
# acme-llm (set in the fixture): $0.5 / $1.5 per 1M always; $0.4 / $1.2 from 2026-06-01
BEFORE = dt.datetime(2026, 5, 31, 23, 59, tzinfo=UTC)
AFTER = dt.datetime(2026, 6, 1, tzinfo=UTC)
add(
    "override-before",
    "acme-llm",
    u(1_000_000, 100_000),
    1_000_000 * D("5e-7"),
    100_000 * D("1.5e-6"),
    at=BEFORE,
    model_id="acme-llm",
)
add(
    "override-after",
    "acme-llm",
    u(1_000_000, 100_000),
    1_000_000 * D("4e-7"),
    100_000 * D("1.2e-6"),
    at=AFTER,
    model_id="acme-llm",
)
add(
    "override-after-case", "ACME-LLM", u(1000, 1000), 1000 * D("4e-7"), 1000 * D("1.2e-6"), at=AFTER
)
# gpt-4o override from 2100-01-01: $2 in / $8 out / $1 cached per 1M; catalog before it
add(
    "override-gpt-4o-before-date",
    "gpt-4o",
    u(1000, 100),
    1000 * D("2.5e-6"),
    100 * D("1e-5"),
    at=dt.datetime(2099, 12, 31, tzinfo=UTC),
    model_id="gpt-4o",
)
add(
    "override-gpt-4o-after-date",
    "gpt-4o",
    u(1000, 100, cache_read_input_tokens=600),
    400 * D("2e-6") + 600 * D("1e-6"),
    100 * D("8e-6"),
    at=dt.datetime(2100, 1, 1, tzinfo=UTC),
    model_id="gpt-4o",
)
add(
    "override-gpt-4o-dated-name",
    "gpt-4o-2024-08-06",
    u(1000, 100),
    1000 * D("2e-6"),
    100 * D("8e-6"),
    at=dt.datetime(2100, 6, 1, tzinfo=UTC),
    model_id="gpt-4o",
)
# a provider-scoped override: only Azure's gpt-5-mini is discounted ($0.1 / $0.4 per 1M);
# OpenAI's (2.5e-7 / 2e-6) and a call without a provider keep the catalog price
add(
    "override-azure-only",
    "gpt-5-mini",
    u(10_000, 1000),
    10_000 * D("1e-7"),
    1000 * D("4e-7"),
    provider="azure",
    model_id="gpt-5-mini",
)
add(
    "override-azure-only-prefixed",
    "azure/gpt-5-mini",
    u(10_000, 1000),
    10_000 * D("1e-7"),
    1000 * D("4e-7"),
    model_id="gpt-5-mini",
)
add(
    "override-azure-only-not-openai",
    "gpt-5-mini",
    u(10_000, 1000),
    10_000 * D("2.5e-7"),
    1000 * D("2e-6"),
    provider="openai",
    model_id="gpt-5-mini",
)
add(
    "override-azure-only-not-unknown-provider",
    "gpt-5-mini",
    u(10_000, 1000),
    10_000 * D("2.5e-7"),
    1000 * D("2e-6"),
    model_id="gpt-5-mini",
)

# ------------------------------------------------------------------ 1-hour cache writes
# cache_creation_1h_input_tokens is the part of cache_creation_input_tokens written with a
# 1-hour TTL: those tokens are priced at cache_creation_input_token_cost_above_1hr, the rest
# of the writes at cache_creation_input_token_cost.
# claude-sonnet-4-5: in 3e-6, out 1.5e-5, read 3e-7, write 3.75e-6, 1-hour write 6e-6.
# 100 fresh + 800 read + 200 written, 150 of them for 1 hour (as Anthropic reports it: 100 in).
add(
    "claude-sonnet-4-5-1h-writes",
    "claude-sonnet-4-5",
    u(
        1100,
        50,
        cache_read_input_tokens=800,
        cache_creation_input_tokens=200,
        cache_creation_1h_input_tokens=150,
    ),
    100 * D("3e-6") + 800 * D("3e-7") + 50 * D("3.75e-6") + 150 * D("6e-6"),  # $0.0016275
    50 * D("1.5e-5"),
    model_id="claude-sonnet-4-5",
)
add(
    "claude-sonnet-4-5-1h-writes-only",
    "claude-sonnet-4-5",
    u(10_000, 500, cache_creation_input_tokens=4000, cache_creation_1h_input_tokens=4000),
    6000 * D("3e-6") + 4000 * D("6e-6"),  # $0.042
    500 * D("1.5e-5"),
)
add(
    "claude-sonnet-4-5-1h-zero",
    "claude-sonnet-4-5",
    u(5000, 200, cache_creation_input_tokens=4000, cache_creation_1h_input_tokens=0),
    1000 * D("3e-6") + 4000 * D("3.75e-6"),
    200 * D("1.5e-5"),
)
# batch: in 1.5e-6 / out 7.5e-6 / read 1.5e-7 / write 1.875e-6; the entry has no
# cache_creation_input_token_cost_above_1hr_batches, but Anthropic's batch discount (50%)
# covers cache writes of both TTLs (https://docs.anthropic.com/en/docs/build-with-claude/
# batch-processing#pricing): 1-hour writes at half of 6e-6, 3e-6.
add(
    "claude-sonnet-4-5-1h-batch",
    "claude-sonnet-4-5",
    u(
        10_000,
        2000,
        cache_read_input_tokens=6000,
        cache_creation_input_tokens=2000,
        cache_creation_1h_input_tokens=500,
    ),
    2000 * D("1.5e-6") + 6000 * D("1.5e-7") + 1500 * D("1.875e-6") + 500 * D("3e-6"),
    2000 * D("7.5e-6"),
    tier="batch",
)
# claude-haiku-4-5: in 1e-6, read 1e-7, write 1.25e-6, 1-hour write 2e-6, out 5e-6
add(
    "claude-haiku-4-5-1h-writes",
    "claude-haiku-4-5",
    u(
        8000,
        400,
        cache_read_input_tokens=4000,
        cache_creation_input_tokens=2000,
        cache_creation_1h_input_tokens=1500,
    ),
    2000 * D("1e-6") + 4000 * D("1e-7") + 500 * D("1.25e-6") + 1500 * D("2e-6"),
    400 * D("5e-6"),
)
# claude-opus-4-7: in 5e-6, write 6.25e-6, 1-hour write 1e-5, out 2.5e-5
add(
    "claude-opus-4-7-1h-writes",
    "claude-opus-4-7",
    u(
        30_000,
        3000,
        cache_read_input_tokens=20_000,
        cache_creation_input_tokens=5000,
        cache_creation_1h_input_tokens=5000,
    ),
    5000 * D("5e-6") + 20_000 * D("5e-7") + 5000 * D("1e-5"),
    3000 * D("2.5e-5"),
)
# context tiers. anthropic.claude-sonnet-4-5-20250929-v1:0 (Bedrock): 1-hour write 6e-6, above
# 200k: in 6e-6 / out 2.25e-5 / read 6e-7 / write 7.5e-6 / 1-hour write 1.2e-5
# (cache_creation_input_token_cost_above_1hr_above_200k_tokens).
add(
    "bedrock-sonnet-4-5-1h-writes",
    BEDROCK_SONNET,
    u(
        20_000,
        1500,
        cache_read_input_tokens=15_000,
        cache_creation_input_tokens=4000,
        cache_creation_1h_input_tokens=1000,
    ),
    1000 * D("3e-6") + 15_000 * D("3e-7") + 3000 * D("3.75e-6") + 1000 * D("6e-6"),
    1500 * D("1.5e-5"),
    model_id=BEDROCK_SONNET,
)
add(
    "bedrock-sonnet-4-5-1h-writes-long",
    BEDROCK_SONNET,
    u(
        250_000,
        1000,
        cache_read_input_tokens=100_000,
        cache_creation_input_tokens=50_000,
        cache_creation_1h_input_tokens=10_000,
    ),
    100_000 * D("6e-6") + 100_000 * D("6e-7") + 40_000 * D("7.5e-6") + 10_000 * D("1.2e-5"),
    1000 * D("2.25e-5"),
)
# us. profile (+10%): in 3.3e-6 / read 3.3e-7 / write 4.125e-6 / 1-hour write 6.6e-6; above
# 200k: in 6.6e-6 / out 2.475e-5 / read 6.6e-7 / write 8.25e-6 / 1-hour write 1.32e-5
add(
    "bedrock-sonnet-4-5-us-1h-writes",
    f"us.{BEDROCK_SONNET}",
    u(
        20_000,
        1500,
        cache_read_input_tokens=15_000,
        cache_creation_input_tokens=4000,
        cache_creation_1h_input_tokens=1000,
    ),
    1000 * D("3.3e-6") + 15_000 * D("3.3e-7") + 3000 * D("4.125e-6") + 1000 * D("6.6e-6"),
    1500 * D("1.65e-5"),
    model_id=f"us.{BEDROCK_SONNET}",
)
add(
    "bedrock-sonnet-4-5-us-1h-writes-long",
    f"us.{BEDROCK_SONNET}",
    u(210_000, 10, cache_creation_input_tokens=200_000, cache_creation_1h_input_tokens=150_000),
    10_000 * D("6.6e-6") + 50_000 * D("8.25e-6") + 150_000 * D("1.32e-5"),
    10 * D("2.475e-5"),
)
# vertex_ai/claude-sonnet-4-5 above 200k: in 6e-6 / read 6e-7 / write 7.5e-6 / 1-hour 1.2e-5
add(
    "vertex-claude-sonnet-4-5-1h-writes-long",
    "vertex_ai/claude-sonnet-4-5",
    u(
        300_000,
        1000,
        cache_read_input_tokens=200_000,
        cache_creation_input_tokens=50_000,
        cache_creation_1h_input_tokens=20_000,
    ),
    50_000 * D("6e-6") + 200_000 * D("6e-7") + 30_000 * D("7.5e-6") + 20_000 * D("1.2e-5"),
    1000 * D("2.25e-5"),
)
# claude-haiku-5-5, batch and above 100k: in 2.5e-7, read 2.5e-8, write 3.125e-7
# (the _above_100k_tokens_batches fields), out 1.25e-6; 1-hour writes: no
# ..._above_1hr_above_100k_tokens_batches, so ..._above_1hr_above_100k_tokens (1e-6) at the
# tier's write discount (3.125e-7 / 6.25e-7 = 1/2): 5e-7.
add(
    "claude-haiku-5-5-1h-writes-long-batch",
    "claude-haiku-5-5",
    u(
        150_000,
        1000,
        cache_read_input_tokens=100_000,
        cache_creation_input_tokens=20_000,
        cache_creation_1h_input_tokens=5000,
    ),
    30_000 * D("2.5e-7") + 100_000 * D("2.5e-8") + 15_000 * D("3.125e-7") + 5000 * D("5e-7"),
    1000 * D("1.25e-6"),
    tier="batch",
)
# an entry without a 1-hour price (claude-no-1h, set in the fixture: in 3e-6, out 1.5e-5,
# read 3e-7, write 3.75e-6): the 1-hour writes are priced at the write price, and noted
add(
    "override-no-1h-price",
    "claude-no-1h",
    u(
        1100,
        50,
        cache_read_input_tokens=800,
        cache_creation_input_tokens=200,
        cache_creation_1h_input_tokens=150,
    ),
    100 * D("3e-6") + 800 * D("3e-7") + 200 * D("3.75e-6"),
    50 * D("1.5e-5"),
    model_id="claude-no-1h",
)


@pytest.fixture(autouse=True)
def golden_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LLMLEDGER_PRICES_FILE", raising=False)
    clear_overrides()
    set_azure_deployment("prod-gpt", "gpt-4o-mini")
    set_azure_deployment("chat-deploy", "gpt-5")
    set_price("acme-llm", input_per_million="0.5", output_per_million="1.5")
    set_price(
        "acme-llm", input_per_million="0.4", output_per_million="1.2", effective_from="2026-06-01"
    )
    set_price(
        "gpt-4o",
        input_per_million=2,
        output_per_million=8,
        cache_read_per_million=1,
        effective_from=dt.date(2100, 1, 1),
    )
    set_price("gpt-5-mini", input_per_million="0.1", output_per_million="0.4", provider="azure")
    set_price(
        "claude-no-1h",
        input_per_million=3,
        output_per_million=15,
        cache_read_per_million="0.3",
        cache_write_per_million="3.75",
    )
    yield
    clear_overrides()


def test_there_are_at_least_200_golden_cases() -> None:
    assert len(CASES) >= 200
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_cost(case: Case) -> None:
    cost = compute_cost(
        case.model, case.usage, provider=case.provider, service_tier=case.tier, at=case.at
    )
    assert cost is not None, f"{case.model!r} did not resolve"
    assert cost.decimal_input == case.inp
    assert cost.decimal_output == case.out
    assert cost.decimal_total == case.inp + case.out
    # floats only at the edge: each is the double nearest the exact Decimal
    assert cost["input_cost"] == float(case.inp)
    assert cost["output_cost"] == float(case.out)
    assert cost["total_cost"] == float(case.inp + case.out)
    assert set(cost) == {"input_cost", "output_cost", "total_cost"}
    # the breakdown adds up exactly
    details = cost.decimals
    assert (
        details["uncached_input_cost"]
        + details["cache_read_cost"]
        + details["cache_write_cost"]
        + details["audio_input_cost"]
        + details["image_input_cost"]
        + details["request_cost"]
        == case.inp
    )
    assert (
        details["text_output_cost"]
        + details["reasoning_cost"]
        + details["audio_output_cost"]
        + details["image_output_cost"]
        == case.out
    )
    if case.model_id is not None:
        assert cost.price is not None and cost.price["model_id"] == case.model_id


def test_known_check_gpt_4o_mini_float_reprs() -> None:
    cost = compute_cost("gpt-4o-mini", {"input_tokens": 84, "output_tokens": 22})
    assert cost == {"input_cost": 0.0000126, "output_cost": 0.0000132, "total_cost": 0.0000258}
    assert repr(cost["input_cost"]) == "1.26e-05"
    assert repr(cost["output_cost"]) == "1.32e-05"
    assert repr(cost["total_cost"]) == "2.58e-05"  # not 2.5799999999999997e-05
    assert cost.decimal_total == D("0.0000258")


@pytest.mark.parametrize(
    ("model", "usage", "expected_repr"),
    [
        ("gpt-4o", {"input_tokens": 1000, "output_tokens": 200}, "0.0045"),
        ("claude-sonnet-4-5", {"input_tokens": 3, "output_tokens": 7}, "0.000114"),
        ("deepseek-chat", {"input_tokens": 1, "output_tokens": 1}, "7e-07"),
        ("gpt-5", {"input_tokens": 1, "output_tokens": 3}, "3.125e-05"),
    ],
)
def test_total_float_repr_is_the_short_decimal(
    model: str, usage: dict[str, int], expected_repr: str
) -> None:
    cost = compute_cost(model, usage)
    assert cost is not None
    assert repr(cost["total_cost"]) == expected_repr


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gpt-4o-mni", None),
        ("totally-unknown-model", "openai"),
        ("claude-2.0-preview", "anthropic"),  # never a model
        ("us.anthropic.claude-nonexistent-v1:0", "bedrock"),
        ("my-azure-deployment", "azure"),  # never mapped
    ],
)
def test_unknown_models_give_none_and_one_warning(
    model: str, provider: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="llmledger.pricing")
    usage = {"input_tokens": 10, "output_tokens": 10}
    for _ in range(3):
        assert compute_cost(model, usage, provider=provider) is None
    warnings = [r for r in caplog.records if r.name == "llmledger.pricing"]
    assert len(warnings) == 1
    assert model in warnings[0].getMessage()
    assert "llmledger prices search" in warnings[0].getMessage()
