"""Usage normalisation: one canonical dict from every dialect; None when unknown."""

from __future__ import annotations

import pytest

from llmledger.dialects import usage_from_attributes as usage_from_flat_attributes
from llmledger.usage import (
    UsageError,
    add_usage,
    anthropic_usage,
    normalize_usage,
)


def test_canonical_dict_passes_through_and_total_is_derived():
    assert normalize_usage({"input_tokens": 45, "output_tokens": 14}) == {
        "input_tokens": 45,
        "output_tokens": 14,
        "total_tokens": 59,
    }


def test_openai_shape_with_details():
    raw = {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
    }
    assert normalize_usage(raw) == {
        "input_tokens": 2006,
        "output_tokens": 300,
        "total_tokens": 2306,
        "cache_read_input_tokens": 1920,
        "audio_input_tokens": 0,
        "reasoning_tokens": 192,
        "audio_output_tokens": 0,
    }


def test_wrong_reported_total_is_not_trusted(caplog):
    caplog.set_level("DEBUG", logger="llmledger.usage")
    assert normalize_usage({"input_tokens": 10, "output_tokens": 5, "total_tokens": 99}) == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
    }
    assert "disagrees" in caplog.text


def test_missing_part_derived_from_total_and_embedding_has_zero_output():
    assert normalize_usage({"output_tokens": 5, "total_tokens": 15})["input_tokens"] == 10
    assert normalize_usage({"input_tokens": 8}) == {
        "input_tokens": 8,
        "output_tokens": 0,
        "total_tokens": 8,
    }
    assert normalize_usage({"total_tokens": 7}) == {"total_tokens": 7}


def test_unknown_is_none():
    assert normalize_usage(None) is None
    assert normalize_usage({}) is None
    assert normalize_usage({"input_tokens": None, "output_tokens": None}) is None
    assert usage_from_flat_attributes({"unrelated": 1}) is None
    assert add_usage([None, None]) is None


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"input_tokens": -1}, "must not be negative"),
        ({"input_tokens": 1.5}, "whole number"),
        ({"input_tokens": True}, "bool"),
        ({"input_tokens": "ten"}, "whole number"),
        ([1, 2], "must be a dict"),
    ],
)
def test_bad_values_are_clear_errors(raw, message):
    with pytest.raises(UsageError, match=message):
        normalize_usage(raw)


def test_anthropic_input_excludes_cache_so_it_is_added_back():
    # Anthropic: input_tokens=50 uncached, 1000 read from cache, 200 written to cache
    assert anthropic_usage(50, 300, 1000, 200) == {
        "input_tokens": 1250,
        "output_tokens": 300,
        "total_tokens": 1550,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
    }
    assert anthropic_usage(None, None) is None


def test_flat_dialects():
    otel = {"gen_ai.usage.input_tokens": 84, "gen_ai.usage.output_tokens": 22}
    assert usage_from_flat_attributes(otel) == {
        "input_tokens": 84,
        "output_tokens": 22,
        "total_tokens": 106,
    }
    openinference = {
        "llm.token_count.prompt": 1200,
        "llm.token_count.completion": 30,
        "llm.token_count.total": 1230,
        "llm.token_count.prompt_details.cache_read": 1000,
        "llm.token_count.prompt_details.cache_write": 100,
    }
    assert usage_from_flat_attributes(openinference) == {
        "input_tokens": 1200,
        "output_tokens": 30,
        "total_tokens": 1230,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 100,
    }
    openllmetry = {"gen_ai.usage.prompt_tokens": 3, "gen_ai.usage.completion_tokens": 4}
    assert usage_from_flat_attributes(openllmetry)["total_tokens"] == 7


def test_add_usage_sums_details_present_anywhere():
    total = add_usage(
        [
            {"input_tokens": 10, "output_tokens": 1, "total_tokens": 11},
            None,
            {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7, "reasoning_tokens": 2},
        ]
    )
    assert total == {
        "input_tokens": 15,
        "output_tokens": 3,
        "total_tokens": 18,
        "reasoning_tokens": 2,
    }


def test_anthropic_shaped_dict_set_by_hand_is_recognised_when_it_cannot_be_canonical():
    # Anthropic's usage copied as is: 50 uncached + 1000 read + 200 written
    raw = {
        "input_tokens": 50,
        "output_tokens": 300,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
    }
    assert normalize_usage(raw) == anthropic_usage(50, 300, 1000, 200)
    # a canonical dict with cache reads inside the input stays as it is
    canonical = {"input_tokens": 1250, "output_tokens": 300, "cache_read_input_tokens": 1000}
    assert normalize_usage(canonical)["input_tokens"] == 1250


# ---- 1-hour cache writes ------------------------------------------------------------------


def test_anthropic_usage_keeps_the_1h_writes_as_a_part_of_the_writes():
    # 100 uncached + 800 read + 200 written, of which 150 with a 1-hour TTL
    assert anthropic_usage(100, 50, 800, 200, 150) == {
        "input_tokens": 1100,
        "output_tokens": 50,
        "total_tokens": 1150,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
        "cache_creation_1h_input_tokens": 150,
    }
    assert (
        anthropic_usage(100, 50, 800, 200, cache_creation_1h_input_tokens=200)[
            "cache_creation_1h_input_tokens"
        ]
        == 200
    )


def test_anthropic_ttl_breakdown_in_a_usage_dict_set_by_hand():
    raw = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
        "cache_creation": {"ephemeral_5m_input_tokens": 50, "ephemeral_1h_input_tokens": 150},
    }
    assert normalize_usage(raw) == anthropic_usage(100, 50, 800, 200, 150)
    # only 5-minute writes: nothing more than before
    raw["cache_creation"] = {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0}
    assert normalize_usage(raw) == anthropic_usage(100, 50, 800, 200)
    # the breakdown alone gives the writes
    alone = {
        "input_tokens": 1000,
        "output_tokens": 5,
        "cache_creation": {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 70},
    }
    assert normalize_usage(alone) == {
        "input_tokens": 1000,
        "output_tokens": 5,
        "total_tokens": 1005,
        "cache_creation_input_tokens": 100,
        "cache_creation_1h_input_tokens": 70,
    }


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            {
                "input_tokens": 1000,
                "output_tokens": 1,
                "cache_creation_input_tokens": 100,
                "cache_creation_1h_input_tokens": 101,
            },
            "cache_creation_1h_input_tokens=101 exceeds cache_creation_input_tokens=100",
        ),
        (
            {"input_tokens": 1000, "output_tokens": 1, "cache_creation_1h_input_tokens": 5},
            "exceeds cache_creation_input_tokens=0",
        ),
        (
            {
                "input_tokens": 1000,
                "output_tokens": 1,
                "cache_creation_input_tokens": 10,
                "cache_creation_1h_input_tokens": -1,
            },
            "must not be negative",
        ),
    ],
)
def test_1h_writes_must_be_a_part_of_the_writes(raw, message):
    with pytest.raises(UsageError, match=message):
        normalize_usage(raw)
    with pytest.raises(UsageError):
        anthropic_usage(10, 1, 0, 4, 5)


def test_add_usage_sums_the_1h_writes():
    total = add_usage([anthropic_usage(100, 50, 800, 200, 150), anthropic_usage(10, 5, 0, 40)])
    assert total == {
        "input_tokens": 1150,
        "output_tokens": 55,
        "total_tokens": 1205,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 240,
        "cache_creation_1h_input_tokens": 150,
    }


def test_the_short_path_for_plain_usage_agrees_with_the_general_one(monkeypatch):
    """``normalize_usage`` answers the commonest usage ({input, output, total} as ints) on a
    short path; on random dicts around that shape it must give what the general path gives
    (the same dict, the same key order, the same error)."""
    import random

    import llmledger.usage as usage_mod

    rng = random.Random(7)
    values = [0, 1, 45, 14, 59, -1, True, 3.0, "45", None, 10**12]
    keys = ["input_tokens", "output_tokens", "total_tokens", "prompt_tokens", "cached_tokens"]

    def outcome(raw):
        try:
            result = usage_mod.normalize_usage(raw)
        except usage_mod.UsageError as exc:
            return ("error", str(exc))
        return ("ok", result, list(result or ()))

    short = 0
    for _ in range(4000):
        raw = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(0, 4))}
        if rng.random() < 0.4:  # the plain shape, sometimes consistent
            i, o = rng.randint(0, 500), rng.randint(0, 500)
            raw = {
                "input_tokens": i,
                "output_tokens": o,
                "total_tokens": i + o + rng.choice([0, 0, 1]),
            }
        fast = outcome(dict(raw))
        short += usage_mod._plain_usage(raw) is not None
        with monkeypatch.context() as m:
            m.setattr(usage_mod, "_plain_usage", lambda raw: None)
            assert outcome(dict(raw)) == fast, raw
    assert short > 500
    assert usage_mod.normalize_usage(
        {"total_tokens": 59, "output_tokens": 14, "input_tokens": 45}
    ) == {
        "input_tokens": 45,
        "output_tokens": 14,
        "total_tokens": 59,
    }
