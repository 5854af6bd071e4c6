"""The ``llmledger`` command: demo, traces, costs."""

from __future__ import annotations

import re

import pytest

import llmledger
from llmledger.cli import main


def test_demo_records_priced_traces_and_reports_agree(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'demo.db'}"
    assert (
        main(["demo", "--tracking-uri", uri, "--traces", "12", "--days", "3", "--live", "0"]) == 0
    )
    out = capsys.readouterr().out
    demo_total = float(re.search(r"all demo traces: \$([0-9.]+)", out).group(1))
    traces = llmledger.search_traces([llmledger.set_experiment("demo")], max_results=100)
    assert len(traces) == 12
    assert all(t.info.cost and t.info.token_usage for t in traces)
    assert sum(t.info.cost["total_cost"] for t in traces) == pytest.approx(demo_total, abs=5e-7)
    # each trace's cost is the sum of its counted LLM spans
    t = traces[0]
    span_total = sum(s.llm_cost["total_cost"] for s in t.data.spans if s.llm_cost)
    assert t.info.cost["total_cost"] == pytest.approx(span_total, abs=1e-12)

    assert main(["costs", "--tracking-uri", uri, "--days", "5"]) == 0
    report = capsys.readouterr().out
    assert "gpt-4o-mini" in report and "text-embedding-3-small" in report
    report_total = float(report.strip().splitlines()[-1].split()[-1])
    assert report_total == pytest.approx(demo_total, abs=2e-6)

    eid = llmledger.set_experiment("demo")
    assert main(["traces", "--tracking-uri", uri, "--experiment-id", eid, "--limit", "3"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 4 and "support_agent" in listing[1]
    tid = listing[1].split()[0]
    assert main(["traces", "--tracking-uri", uri, tid]) == 0
    shown = capsys.readouterr().out
    assert "- retrieve_docs [RETRIEVER]" in shown and "embed_query" in shown


def test_unknown_trace_and_bad_arguments(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["traces", "--tracking-uri", uri, "tr-nope"]) == 1
    assert "no trace 'tr-nope'" in capsys.readouterr().err
    assert main(["costs", "--tracking-uri", uri, "--days", "0"]) == 2
    assert "--days must be a positive" in capsys.readouterr().err
    assert main(["costs", "--tracking-uri", uri, "--by", "color"]) == 2
    assert "cannot group by 'color'" in capsys.readouterr().err
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"llmledger {llmledger.__version__}"


def test_demo_if_empty_records_once(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'once.db'}"
    args = ["demo", "--if-empty", "--tracking-uri", uri, "--traces", "3", "--live", "0"]
    assert main(args) == 0
    assert main(args) == 0
    assert "already has traces" in capsys.readouterr().out
    assert len(llmledger.search_traces([llmledger.set_experiment("demo")])) == 3


def test_demo_live_traces_go_through_the_real_client_libraries(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'live.db'}"
    assert main(["demo", "--tracking-uri", uri, "--traces", "0", "--live", "4"]) == 0
    traces = llmledger.search_traces([llmledger.set_experiment("demo")])
    assert len(traces) == 4
    for t in traces:
        spans = {s.get_attribute("llmledger.llm.requestModel"): s for s in t.data.spans}
        chat = spans["gpt-4o-mini"]  # recorded by the OpenAI integration, not by the demo
        assert chat.name.startswith("Completions") and chat.span_type == "CHAT_MODEL"
        assert chat.model == "gpt-4o-mini-2024-07-18" and chat.provider == "openai"
        assert spans["text-embedding-3-small"].span_type == "EMBEDDING"
        counted = [s.llm_cost["total_cost"] for s in t.data.spans if s.llm_cost]
        assert len(counted) == 3
        assert t.info.cost["total_cost"] == pytest.approx(sum(counted), abs=1e-12)
        assert t.info.token_usage["input_tokens"] == sum(
            s.token_usage["input_tokens"] for s in t.data.spans if s.token_usage
        )
