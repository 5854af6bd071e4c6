"""The ``llmledger`` command: demo, traces, costs; and its one-line errors, run as a real
subprocess the way a user meets them."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import llmledger
from conftest import create_database, drop_database
from llmledger.cli import main
from llmledger.reports import format_usd
from llmledger.store.sql import SqlTraceStore
from server_process import ServerProcess


def test_demo_records_priced_traces_and_reports_agree(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'demo.db'}"
    assert (
        main(["demo", "--tracking-uri", uri, "--traces", "12", "--days", "3", "--live", "0"]) == 0
    )
    out = capsys.readouterr().out
    demo_total = float(re.search(r"all demo traces: \$([0-9.,]+)", out).group(1).replace(",", ""))
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
    report_total = float(report.strip().splitlines()[-1].split()[-1].lstrip("$"))
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
    SqlTraceStore(uri)  # an empty database
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


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LLMLEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "llmledger.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The run failed with exactly one line on stderr, and no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("llmledger: error: ")
    return line


@pytest.mark.parametrize(
    "money, text",
    [
        (None, "-"),
        (0, "$0.00"),
        (0.00000015, "$0.00000015"),  # 1 gpt-4o-mini input token: not $0.000000
        (0.0000258, "$0.0000258"),
        (0.000123456, "$0.0001235"),
        (0.019842, "$0.019842"),
        (1234.5678, "$1,234.57"),
        (-0.0000005, "-$0.0000005"),
    ],
)
def test_cli_money_is_never_rounded_to_zero(money, text):
    assert format_usd(money) == text


def test_tiny_costs_show_their_digits_in_traces_and_costs(tmp_path):
    uri = f"sqlite:///{tmp_path / 'tiny.db'}"
    llmledger.set_tracking_uri(uri)
    with llmledger.start_span("one_token", span_type="LLM") as span:
        span.set_attribute("llmledger.llm.model", "gpt-4o-mini")
        span.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 1, "output_tokens": 0})
    assert llmledger.flush()
    listing = run_cli("traces", "--tracking-uri", uri)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[1].split()[-1] == "$0.00000015"
    report = run_cli("costs", "--tracking-uri", uri, "--days", "2").stdout.splitlines()
    assert report[1].split()[-1] == "$0.00000015" and report[-1].split()[-1] == "$0.00000015"
    assert "0.000000 " not in listing.stdout + "\n".join(report)


def test_traces_lists_every_experiment_and_takes_experiment_names(tmp_path):
    """After `make run` the demo's traces are in experiment 'demo', not the default one:
    `llmledger traces` with no experiment shows them."""
    uri = f"sqlite:///{tmp_path / 'run.db'}"
    assert run_cli("demo", "--tracking-uri", uri, "--traces", "3", "--live", "0").returncode == 0
    rows = run_cli("traces", "--tracking-uri", uri).stdout.splitlines()
    assert rows[0].split()[:3] == ["trace", "id", "experiment"]
    assert len(rows) == 4 and all(r.split()[1:3] == ["demo", "support_agent"] for r in rows[1:])
    by_name = run_cli("traces", "--tracking-uri", uri, "--experiment-id", "demo", "--limit", "2")
    assert by_name.returncode == 0 and len(by_name.stdout.splitlines()) == 3
    assert run_cli("costs", "--tracking-uri", uri, "--experiment", "demo").returncode == 0
    line = one_line_error(run_cli("traces", "--tracking-uri", uri, "--experiment-id", "prod"))
    assert line.endswith("no experiment 'prod'; experiments: 'Default' (id 0), 'demo' (id 1)")


@pytest.mark.parametrize("command", ["traces", "costs"])
def test_reading_a_missing_sqlite_file_says_so_and_creates_nothing(tmp_path, command):
    db = tmp_path / "typo.db"
    line = one_line_error(run_cli(command, "--tracking-uri", f"sqlite:///{db}"))
    assert line.startswith(f"llmledger: error: no database at {db}: nothing recorded")
    assert not db.exists()


def test_server_not_running_is_one_line():
    line = one_line_error(run_cli("traces", "--tracking-uri", "http://127.0.0.1:9"))
    assert line.startswith("llmledger: error: cannot reach http://127.0.0.1:9: ")
    assert line.endswith("(is `llmledger server` running there?)")


def test_a_wrong_token_is_one_line_naming_the_variable(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'auth.db'}", None, "--auth-token", "right")
    server.start()
    try:
        wrong = run_cli("traces", "--tracking-uri", server.url, LLMLEDGER_TRACKING_TOKEN="wrong")
        line = one_line_error(wrong)
        assert line.startswith(f"llmledger: error: {server.url} refused the request: ")
        assert "401" in line and "LLMLEDGER_TRACKING_TOKEN" in line
        right = run_cli("traces", "--tracking-uri", server.url, LLMLEDGER_TRACKING_TOKEN="right")
        assert right.returncode == 0 and "no traces in any experiment" in right.stderr
    finally:
        server.stop()


def test_a_missing_postgresql_database_is_one_line(postgres_server_uri):
    uri = create_database(postgres_server_uri)
    drop_database(postgres_server_uri, uri)
    name = uri.rsplit("/", 1)[1]
    for args in (["traces", "--tracking-uri", uri], ["server", "--backend-store-uri", uri]):
        line = one_line_error(run_cli(*args))
        assert f'database "{name}" does not exist' in line and f"createdb {name}" in line


def test_server_refuses_an_http_store_uri():
    line = one_line_error(run_cli("server", "--backend-store-uri", "http://127.0.0.1:5000"))
    assert "is a server's address" in line and "sqlite:///" in line


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`llmledger traces | head -1`: the reader leaves early; no traceback, non-zero exit."""
    uri = f"sqlite:///{tmp_path / 'pipe.db'}"
    assert run_cli("demo", "--tracking-uri", uri, "--traces", "2", "--live", "0").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMLEDGER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmledger.cli", "traces", "--tracking-uri", uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdout.close()  # before the command has written anything
    stderr = proc.stderr.read().decode()
    assert proc.wait(60) == 141
    assert stderr == ""


def test_a_database_of_another_version_is_one_line(tmp_path):
    from sqlalchemy import create_engine, text

    legacy = tmp_path / "legacy.db"
    with create_engine(f"sqlite:///{legacy}").begin() as conn:
        conn.execute(text("CREATE TABLE traces (trace_id TEXT)"))
    line = one_line_error(run_cli("traces", "--tracking-uri", f"sqlite:///{legacy}"))
    assert line.startswith(f"llmledger: error: sqlite:///{legacy}: the database has llmledger")
