"""Model families in filters and metrics, and export (issue 15 items 2 and 3), on SQLite and
a real PostgreSQL, through the SDK, the CLI and the REST API.

Prices (USD per 1M tokens, input / output), from the providers' price sheets:
- gpt-4o-mini and its snapshot gpt-4o-mini-2024-07-18: 0.15 / 0.60
  (https://openai.com/api/pricing/)
- claude-sonnet-4-5-20250929: 3 / 15 (https://www.anthropic.com/pricing#api)
- Bedrock us.anthropic.claude-sonnet-4-5-20250929-v1:0 (US cross-region profile): 3.30 / 16.50
  (https://aws.amazon.com/bedrock/pricing/, Anthropic, "Geo" inference: +10%)
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal

import httpx
import pytest

import llmledger
from llmledger.cli import main
from llmledger.dataout import ExportRequest, export_bytes
from llmledger.store.base import TraceFilter
from llmledger.store.sql import SqlTraceStore
from server_process import ServerProcess

DAY_MS = 86_400_000
DAY0 = 1_760_000_000_000 // DAY_MS * DAY_MS
MINI_DATED = "gpt-4o-mini-2024-07-18"
SONNET = "claude-sonnet-4-5-20250929"
BEDROCK = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_uri")


def _trace(name, start_ms, calls, tags=None, provider=None):
    """A trace through the public API with explicit times: ``calls`` = [(model, in, out)]."""
    with llmledger.start_span(name, start_time_ns=start_ms * 1_000_000) as root:
        if tags:
            llmledger.update_current_trace(tags=tags)
        for i, (model, inp, out) in enumerate(calls):
            t0 = (start_ms + i + 1) * 1_000_000
            with llmledger.start_span(f"llm{i}", span_type="LLM", start_time_ns=t0) as s:
                s.set_attribute("llmledger.llm.model", model)
                if provider:
                    s.set_attribute("llmledger.llm.provider", provider)
                s.set_attribute(
                    "llmledger.chat.tokenUsage", {"input_tokens": inp, "output_tokens": out}
                )
                s.end(end_time_ns=t0 + 500_000)
        root.end(end_time_ns=(start_ms + 50) * 1_000_000)
    return root.trace_id


def _records():
    """Five traces over two days: gpt-4o-mini dated and undated, Claude direct and Bedrock;
    two of them start at the same millisecond (keyset pagination must keep both)."""
    ids = [
        _trace("a", DAY0 + 1000, [(MINI_DATED, 1000, 100)], {"mlflow.trace.user": "u-1"}),
        _trace("b", DAY0 + 2000, [("gpt-4o-mini", 2000, 200)]),
        _trace("c", DAY0 + 2000, [(SONNET, 1000, 100)], {"team": "x"}),
        _trace("d", DAY0 + DAY_MS, [(BEDROCK, 1000, 100)], provider="bedrock"),
        _trace("e", DAY0 + DAY_MS + 5, [("unpriced-model-x", 10, 1)]),
    ]
    assert llmledger.flush()
    local = SqlTraceStore(llmledger.get_tracking_uri())
    return [local.get_trace(i) for i in ids]


def _names(store, model):
    found = store.search_traces(TraceFilter(model=model), include_spans=False)
    return sorted(r["info"]["name"] for r in found)


def test_family_filters_metrics_and_provider_from_the_price(store_uri):
    store = SqlTraceStore(store_uri)
    store.log_traces(_records())
    assert _names(store, "gpt-4o-mini") == ["a", "b"]  # the family: dated and undated
    assert _names(store, "GPT-4o-mini") == ["a", "b"]
    assert _names(store, MINI_DATED) == ["a"]  # an exact name stays exact
    assert _names(store, "claude-sonnet-4-5") == ["c", "d"]  # Anthropic and Bedrock ids
    assert _names(store, BEDROCK) == ["d"]
    assert _names(store, "gpt-4o") == []
    assert _names(store, "nobody") == []

    rows = store.usage_metrics(DAY0, DAY0 + 2 * DAY_MS, 2 * DAY_MS, "family")
    by = {r["group"]: r for r in rows}
    assert set(by) == {"gpt-4o-mini", "claude-sonnet-4-5", "unpriced-model-x"}
    mini = by["gpt-4o-mini"]
    # 3000 in x 0.15/1M + 300 out x 0.60/1M = 0.00045 + 0.00018
    assert (mini["calls"], mini["input_tokens"], mini["total_cost"]) == (2, 3000, 0.00063)
    assert {v["model"]: v["total_cost"] for v in mini["variants"]} == {
        "gpt-4o-mini": 0.00042,  # 2000 x 0.15/1M + 200 x 0.60/1M
        MINI_DATED: 0.00021,  # 1000 x 0.15/1M + 100 x 0.60/1M
    }
    claude = by["claude-sonnet-4-5"]
    # direct: 1000 x 3/1M + 100 x 15/1M = 0.0045; Bedrock US profile: 0.0033 + 0.00165
    assert claude["total_cost"] == 0.00945
    assert [v["model"] for v in claude["variants"]] == [BEDROCK, SONNET]  # most cost first
    # a span naming only a model is filed under its price entry's provider, not ""
    providers = {
        r["group"] for r in store.usage_metrics(DAY0, DAY0 + 2 * DAY_MS, 2 * DAY_MS, "provider")
    }
    assert providers == {"openai", "anthropic", "bedrock", "(unknown)"}
    with pytest.raises(ValueError, match="'family'"):
        store.usage_metrics(DAY0, DAY0 + DAY_MS, DAY_MS, "colour")


def test_keyset_iteration_and_export_rows(store_uri):
    store = SqlTraceStore(store_uri)
    records = _records()
    store.log_traces(records)
    batches = list(store.iter_traces(batch_size=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    names = [r["info"]["name"] for b in batches for r in b]
    assert sorted(names[1:3]) == ["b", "c"] and names[0] == "a" and names[3:] == ["d", "e"]
    assert all(r["spans"] for b in batches for r in b)  # spans come along
    one_day = list(store.iter_traces(None, DAY0, DAY0 + DAY_MS, batch_size=1))
    assert len(one_day) == 3
    assert list(store.iter_traces(["0"], DAY0 + 5 * DAY_MS)) == []

    text = b"".join(export_bytes(store, ExportRequest("csv", batch_size=2))).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows][3:] == ["d", "e"]
    a = rows[0]
    assert a["time"] == "2025-10-09T00:00:01.000Z" and a["user"] == "u-1"
    assert (a["model"], a["family"], a["provider"]) == (MINI_DATED, "gpt-4o-mini", "openai")
    assert (a["input_tokens"], a["output_tokens"], a["total_tokens"]) == ("1000", "100", "1100")
    # exact decimals: 1000 x 0.15/1M = 0.00015, 100 x 0.60/1M = 0.00006
    assert (a["input_cost"], a["output_cost"], a["total_cost"]) == ("0.00015", "0.00006", "0.00021")
    assert a["uncached_input_cost"] == "0.00015" and a["text_output_cost"] == "0.00006"
    e = rows[4]
    assert e["unpriced_calls"] == "1" and e["total_cost"] == "" and e["calls"] == "1"
    d = rows[3]
    assert (d["family"], d["provider"], d["total_cost"]) == (
        "claude-sonnet-4-5",
        "bedrock",
        "0.00495",
    )

    spans = [
        json.loads(line)
        for line in b"".join(export_bytes(store, ExportRequest("jsonl", spans=True))).splitlines()
    ]
    assert len(spans) == 5  # one LLM span per trace; the roots carry nothing
    s = spans[3]
    assert (s["model"], s["priced_model"], s["family"]) == (BEDROCK, BEDROCK, "claude-sonnet-4-5")
    assert s["counted"] is True and s["input_cost"] == 0.0033 and s["output_cost"] == 0.00165
    assert s["parent_id"] and s["span_type"] == "LLM"


def test_empty_range_is_a_header_or_nothing(store_uri):
    store = SqlTraceStore(store_uri)
    header = b"".join(export_bytes(store, ExportRequest("csv", start_time_ms=0, end_time_ms=1)))
    assert header.decode().count("\n") == 1 and header.startswith(b"time,timestamp_ms,trace_id")
    assert b"".join(export_bytes(store, ExportRequest("jsonl"))) == b""
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(b"".join(export_bytes(store, ExportRequest("parquet")))))
    assert table.num_rows == 0 and "total_cost" in table.column_names


def test_cli_export_formats_and_errors(tmp_path, capsys):
    records = _records()
    uri = llmledger.get_tracking_uri()
    assert len(records) == 5
    out = tmp_path / "t.csv"
    assert (
        main(
            [
                "export",
                "--tracking-uri",
                uri,
                "-o",
                str(out),
                "--since",
                "2025-10-09",
                "--until",
                "2025-10-10T00:00",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    assert next(r["name"] for r in rows) == "a" and len(rows) == 3
    assert "wrote 3 traces" in capsys.readouterr().err

    assert main(["export", "--tracking-uri", uri, "--format", "jsonl", "--spans"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and json.loads(lines[0])["family"] == "gpt-4o-mini"

    pq_file = tmp_path / "s.parquet"
    assert main(["export", "--tracking-uri", uri, "--format", "parquet", "-o", str(pq_file)]) == 0
    import pyarrow.parquet as pq

    table = pq.read_table(pq_file)
    assert table.num_rows == 5
    assert table.column("total_cost")[0].as_py() == Decimal("0.00021")

    # empty range: the header only (CSV), nothing (JSONL)
    assert (
        main(["export", "--tracking-uri", uri, "--since", "2001-01-01", "--until", "2001-01-02"])
        == 0
    )
    assert capsys.readouterr().out.count("\n") == 1
    assert main(["export", "--tracking-uri", uri, "--format", "jsonl", "--since", "1h"]) == 0
    assert capsys.readouterr().out == ""

    assert main(["export", "--tracking-uri", uri, "--since", "yesterday"]) == 1
    assert "--since 'yesterday': use a date" in capsys.readouterr().err
    assert main(["export", "--tracking-uri", uri, "--since", "2d", "--until", "3d"]) == 1
    assert "--since must be before --until" in capsys.readouterr().err
    assert main(["export", "--tracking-uri", uri, "--format", "parquet"]) == 1
    assert "name a file with -o" in capsys.readouterr().err
    assert main(["export", "--tracking-uri", uri, "--experiment", "nope"]) == 1
    assert "no experiment 'nope'" in capsys.readouterr().err


def test_cli_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch, capsys):
    _records()
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    code = main(
        [
            "export",
            "--tracking-uri",
            llmledger.get_tracking_uri(),
            "--format",
            "parquet",
            "-o",
            str(tmp_path / "x.parquet"),
        ]
    )
    assert code == 1
    assert "pip install 'llmledger[parquet]'" in capsys.readouterr().err
    assert not (tmp_path / "x.parquet").exists()


def test_cli_costs_by_family_lists_the_variants(capsys):
    _records()
    assert main(["costs", "--tracking-uri", llmledger.get_tracking_uri(), "--days", "100000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    family_line = next(i for i, line in enumerate(lines) if line.split()[1:2] == ["gpt-4o-mini"])
    day = lines[family_line].split()[0]
    # both on day 0: 3000 x 0.15/1M + 300 x 0.60/1M, then each model, most cost first
    assert lines[family_line].split()[-1] == "$0.00063"
    assert lines[family_line + 1].split() == ["gpt-4o-mini", "1", "2200", "$0.00042"]
    assert lines[family_line + 2].split() == [MINI_DATED, "1", "1100", "$0.00021"]
    assert day == "2025-10-09"


def test_progress_bar_only_on_a_terminal(tmp_path):
    """Piped (not a terminal): no progress bar on stderr, just the summary line."""
    _records()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmledger.cli",
            "export",
            "--tracking-uri",
            llmledger.get_tracking_uri(),
            "-o",
            str(tmp_path / "x.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() == f"wrote 5 traces to {tmp_path / 'x.csv'}"


@pytest.fixture
def server(tmp_path):
    _records()
    srv = ServerProcess(llmledger.get_tracking_uri()).start()
    yield srv
    srv.stop()


def test_rest_export_metrics_and_search_by_family(server, tmp_path, capsys):
    url = server.url
    r = httpx.get(f"{url}/api/export", params={"format": "csv", "end_time_ms": DAY0 + DAY_MS})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert next(row["name"] for row in csv.DictReader(io.StringIO(r.text))) == "a"
    with httpx.stream(
        "GET", f"{url}/api/export", params={"format": "jsonl", "spans": "true"}
    ) as resp:
        lines = b"".join(resp.iter_bytes()).splitlines()
    assert len(lines) == 5 and json.loads(lines[3])["provider"] == "bedrock"
    empty = httpx.get(
        f"{url}/api/export", params={"format": "jsonl", "start_time_ms": 0, "end_time_ms": 1}
    )
    assert empty.status_code == 200 and empty.content == b""
    assert httpx.get(f"{url}/api/export", params={"format": "xml"}).status_code == 422
    bad = httpx.get(f"{url}/api/export", params={"start_time_ms": 5, "end_time_ms": 5})
    assert bad.status_code == 400 and "start_time_ms" in bad.text
    assert httpx.get(f"{url}/api/export", params={"experiment_id": "x"}).status_code == 400
    import pyarrow.parquet as pq

    pq_bytes = httpx.get(f"{url}/api/export", params={"format": "parquet"}).content
    assert pq.read_table(io.BytesIO(pq_bytes)).num_rows == 5

    found = httpx.get(
        f"{url}/api/traces", params={"model": "claude-sonnet-4-5", "experiment_id": "0"}
    ).json()["traces"]
    assert sorted(t["name"] for t in found) == ["c", "d"]
    metrics = httpx.get(
        f"{url}/api/metrics",
        params={"group_by": "family", "start_time_ms": DAY0, "end_time_ms": DAY0 + 2 * DAY_MS},
    ).json()
    mini = [s for s in metrics["series"] if s["group"] == "gpt-4o-mini"]
    assert [v["model"] for v in mini[0]["variants"]] == ["gpt-4o-mini", MINI_DATED]

    # the CLI against the server: the HTTP store streams the server's export
    out = tmp_path / "remote.csv"
    assert main(["export", "--tracking-uri", url, "--spans", "-o", str(out)]) == 0
    assert len(list(csv.DictReader(out.open()))) == 5
    assert main(["export", "--tracking-uri", url, "--format", "jsonl", "--experiment", "0"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5


def test_sdk_search_by_family():
    _records()
    found = llmledger.search_traces(["0"], model="claude-sonnet-4-5", order_by=["name ASC"])
    assert [t.info.name for t in found] == ["c", "d"]
    assert [t.info.name for t in llmledger.search_traces(["0"], model=MINI_DATED)] == ["a"]
    assert llmledger.search_traces(["0"], model="no-such-family") == []


def test_progress_bar_on_a_terminal(tmp_path):
    """stderr on a terminal (a pseudo-terminal here): tqdm's bar counts the rows written."""
    import os
    import pty

    _records()
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmledger.cli", "export", "--tracking-uri",
         llmledger.get_tracking_uri(), "-o", str(tmp_path / "x.csv")],
        stderr=slave, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        seen += data
    assert proc.wait(60) == 0
    os.close(master)
    text = seen.decode(errors="replace")
    assert "5 traces" in text and "traces/s" in text, text
