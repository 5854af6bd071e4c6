"""Building, diffing and writing the bundled snapshot, and the bundled file itself."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

import pytest

from llmledger.pricing.update import (
    SNAPSHOT_PATH,
    build_snapshot,
    diff_snapshots,
    load_source,
    run_update,
    serialize_snapshot,
)

RAW = {
    "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "one of ...", "mode": "x"},
    "gpt-x": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 1.5e-07,
        "output_cost_per_token": 6e-07,
        "cache_read_input_token_cost": 7.5e-08,
        "input_cost_per_token_priority": 2.5e-07,
        "max_input_tokens": 128000,
        "supports_vision": True,
        "search_context_cost_per_query": {"search_context_size_low": 0.01},
        "deprecation_date": "2027-01-01",
    },
    "capabilities-only": {"litellm_provider": "openai", "mode": "chat", "max_tokens": 10},
    "free-model": {
        "litellm_provider": "ollama",
        "input_cost_per_token": 0,
        "output_cost_per_token": 0,
    },
    "weird": {"input_cost_per_token": "1e-6", "output_cost_per_token": True, "cost_note": "x"},
    "qwen-tiered": {
        "litellm_provider": "dashscope",
        "mode": "chat",
        "tiered_pricing": [
            {
                "input_cost_per_token": 4e-07,
                "output_cost_per_token": 1.2e-06,
                "range": [0, 256000.0],
            },
            {
                "input_cost_per_token": 1.2e-06,
                "output_cost_per_token": 3.6e-06,
                "range": [256000.0, 1000000.0],
            },
        ],
    },
    "odd-tiers": {
        "tiered_pricing": [
            {"input_cost_per_token": 1e-6, "range": [0, 1500]},
            {"input_cost_per_token": 2e-6, "range": [1500, 9000]},
        ]
    },
    "gpt-x-latest": {"alias_of": "gpt-x"},
    "dangling-latest": {"alias_of": "does-not-exist"},
}


def test_build_snapshot_keeps_only_numeric_cost_fields() -> None:
    snap = build_snapshot(
        RAW, source="prices.json", litellm_version="9.9.9", snapshot_date="2026-11-25"
    )
    assert snap["_meta"] == {
        "format": 1,
        "source": "prices.json",
        "litellm_version": "9.9.9",
        "snapshot_date": "2026-11-25",
        "entry_count": 3,
        "alias_count": 1,
        "license": "price data from LiteLLM's model price map, MIT License",
    }
    assert snap["gpt-x"] == {
        "litellm_provider": "openai",
        "mode": "chat",
        "cache_read_input_token_cost": 7.5e-08,
        "input_cost_per_token": 1.5e-07,
        "input_cost_per_token_priority": 2.5e-07,
        "output_cost_per_token": 6e-07,
    }
    assert snap["free-model"] == {
        "litellm_provider": "ollama",
        "input_cost_per_token": 0,
        "output_cost_per_token": 0,
    }
    assert snap["qwen-tiered"] == {
        "litellm_provider": "dashscope",
        "mode": "chat",
        "input_cost_per_token": 4e-07,
        "input_cost_per_token_above_256k_tokens": 1.2e-06,
        "output_cost_per_token": 1.2e-06,
        "output_cost_per_token_above_256k_tokens": 3.6e-06,
    }
    for skipped in ("sample_spec", "capabilities-only", "weird", "odd-tiers", "gpt-x-latest"):
        assert skipped not in snap
    assert snap["_aliases"] == {"gpt-x-latest": "gpt-x"}
    assert [k for k in snap if not k.startswith("_")] == ["free-model", "gpt-x", "qwen-tiered"]


def test_build_snapshot_defaults_to_today() -> None:
    import datetime as dt

    assert build_snapshot({})["_meta"]["snapshot_date"] == dt.date.today().isoformat()


def test_diff_snapshots_and_summary() -> None:
    old = build_snapshot(RAW, snapshot_date="2026-01-01")
    raw2 = json.loads(json.dumps(RAW))
    raw2["gpt-x"]["input_cost_per_token"] = 1e-07
    raw2["gpt-x"]["output_cost_per_token_batches"] = 3e-07
    del raw2["free-model"]
    raw2["new-model"] = {"litellm_provider": "xai", "input_cost_per_token": 2e-06}
    raw2["new-model-2"] = {"litellm_provider": "xai", "output_cost_per_token": 2e-06}
    new = build_snapshot(raw2, snapshot_date="2026-02-01")
    diff = diff_snapshots(old, new)
    assert diff.added == ["new-model", "new-model-2"]
    assert diff.removed == ["free-model"]
    assert diff.changed == {
        "gpt-x": [
            ("input_cost_per_token", 1.5e-07, 1e-07),
            ("output_cost_per_token_batches", None, 3e-07),
        ]
    }
    summary = diff.summary(examples=1)
    assert summary.splitlines()[0] == "added: 2, removed: 1, changed: 1 models"
    assert "added:   new-model (+1 more)" in summary
    assert "removed: free-model" in summary
    assert "gpt-x: input_cost_per_token 1.5e-07 -> 1e-07" in summary
    assert "output_cost_per_token_batches (none) -> 3e-07" in summary
    assert diff_snapshots(new, new).unchanged
    assert diff_snapshots(None, new).added == ["gpt-x", "new-model", "new-model-2", "qwen-tiered"]


def test_serialized_snapshot_is_compact_json_one_model_per_line() -> None:
    snap = build_snapshot(RAW, snapshot_date="2026-01-01")
    text = serialize_snapshot(snap)
    assert json.loads(text) == snap
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert len(lines) == 2 + len(snap)
    assert lines[1].startswith('"_meta":{"format":1,')
    assert lines[4].startswith('"gpt-x":{"litellm_provider":"openai"')
    assert ": " not in text and "  " not in text


def test_run_update_from_json_writes_and_diffs(tmp_path: Path) -> None:
    source = tmp_path / "model_prices_and_context_window.json"
    source.write_text(json.dumps(RAW), encoding="utf-8")
    output = tmp_path / "out" / "prices.json"
    lines: list[str] = []
    diff = run_update(
        source,
        output=output,
        snapshot_date="2026-03-01",
        litellm_version="1.2.3",
        echo=lines.append,
    )
    assert diff.added == ["free-model", "gpt-x", "qwen-tiered"]
    written = json.loads(output.read_text(encoding="utf-8"))
    assert written["_meta"]["litellm_version"] == "1.2.3"
    assert written["_meta"]["source"] == "model_prices_and_context_window.json"
    assert any("kept 3 priced models and 1 aliases" in line for line in lines)
    assert any(line.startswith("wrote ") for line in lines)
    # second run: nothing changed, and a dry run writes nothing
    before = output.read_bytes()
    lines.clear()
    diff = run_update(
        source, output=output, snapshot_date="2026-04-01", dry_run=True, echo=lines.append
    )
    assert diff.unchanged
    assert output.read_bytes() == before
    assert "added: 0, removed: 0, changed: 0 models" in lines
    assert "dry run: nothing written" in lines


def test_run_update_from_a_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "litellm-1.110.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("litellm/model_prices_and_context_window_backup.json", json.dumps(RAW))
    raw, name, version = load_source(wheel)
    assert raw == RAW
    assert (name, version) == ("model_prices_and_context_window_backup.json", "1.110.2")
    output = tmp_path / "prices.json"
    run_update(wheel, output=output, snapshot_date="2026-03-01", echo=lambda _: None)
    assert json.loads(output.read_text())["_meta"]["litellm_version"] == "1.110.2"


def test_run_update_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_update(tmp_path / "missing.json", output=tmp_path / "o.json", echo=lambda _: None)
    bad = tmp_path / "bad.json"
    bad.write_text("[1]", encoding="utf-8")
    with pytest.raises(ValueError, match="expected a JSON object"):
        run_update(bad, output=tmp_path / "o.json", echo=lambda _: None)
    good = tmp_path / "good.json"
    good.write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError):
        run_update(
            good, output=tmp_path / "o.json", snapshot_date="2026-13-01", echo=lambda _: None
        )


def test_update_script_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "update_prices.py"
    spec = importlib.util.spec_from_file_location("update_prices_script", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = tmp_path / "map.json"
    source.write_text(json.dumps(RAW), encoding="utf-8")
    output = tmp_path / "prices.json"
    assert (
        module.main(["--from", str(source), "--output", str(output), "--date", "2026-05-05"]) == 0
    )
    assert json.loads(output.read_text())["_meta"]["snapshot_date"] == "2026-05-05"
    assert "added: 3, removed: 0, changed: 0 models" in capsys.readouterr().out
    assert module.main(["--from", str(tmp_path / "nope.json"), "--output", str(output)]) == 1


def test_the_bundled_snapshot_is_consistent() -> None:
    data = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
    meta = data["_meta"]
    models = {k: v for k, v in data.items() if not k.startswith("_")}
    assert meta["entry_count"] == len(models) > 4000
    assert meta["litellm_version"] == "1.110.2"
    assert "sample_spec" not in models
    for key, entry in models.items():
        costs = {k: v for k, v in entry.items() if k not in ("litellm_provider", "mode")}
        assert costs, key
        assert all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            for v in costs.values()
        ), key
        assert all("cost" in k for k in costs), key
    assert all(target in models for target in data["_aliases"].values())
    assert models["gpt-4o-mini"]["input_cost_per_token"] == 1.5e-07


def test_load_source_finds_an_installed_litellm_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    package = tmp_path / "litellm"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    (package / "model_prices_and_context_window_backup.json").write_text(json.dumps(RAW))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "litellm", raising=False)
    raw, name, _version = load_source(None)
    assert raw == RAW and name == "model_prices_and_context_window_backup.json"
    assert "litellm" not in sys.modules


def test_load_source_without_litellm_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pass --from FILE"):
        load_source(None)
