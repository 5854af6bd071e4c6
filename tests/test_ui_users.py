"""The Users and Sessions pages in headless Chromium, against the real server on a SQLite
file filled with the SDK: every number shown is checked against dollars computed by hand."""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal as D

import pytest

import llmledger
from server_process import ServerProcess
from test_ui import VIEWPORT, act, chromium_path, fmt_cost, launch_browser, open_page

pytestmark = pytest.mark.slow

# gpt-4o-mini: $0.15 / M input, $0.60 / M output; gpt-4o: $2.50 / $10.00
# (https://openai.com/api/pricing/)
MINI = 1000 * D("0.15") / 1_000_000 + 100 * D("0.60") / 1_000_000  # $0.00021
GPT4O = 1000 * D("2.50") / 1_000_000 + 100 * D("10.00") / 1_000_000  # $0.0035
MIN = 60_000


def _record(name, start_ms, model, user=None, session=None):
    with llmledger.start_span(name, start_time_ns=start_ms * 1_000_000) as root:
        llmledger.update_current_trace(user=user, session=session)
        with llmledger.start_span(
            "llm", span_type="LLM", start_time_ns=(start_ms + 1) * 10**6
        ) as s:
            s.set_attribute("llmledger.llm.model", model)
            s.set_attribute(
                "llmledger.chat.tokenUsage", {"input_tokens": 1000, "output_tokens": 100}
            )
            s.end(end_time_ns=(start_ms + 30) * 1_000_000)
        root.end(end_time_ns=(start_ms + 40) * 1_000_000)
    return root.trace_id


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    db = tmp_path_factory.mktemp("ui-users") / "ui.db"
    uri = f"sqlite:///{db}"
    before = llmledger.get_tracking_uri()
    llmledger.set_tracking_uri(uri)
    t0 = (int(time.time() * 1000) // 3_600_000 - 3) * 3_600_000 + 5 * MIN  # 3 h ago, + 5 min
    ids = {
        "a1": _record("ask", t0, "gpt-4o-mini", "u-alice", "s-a1"),
        "a2": _record("follow-up", t0 + 2 * MIN, "gpt-4o-mini", "u-alice", "s-a1"),
        "a3": _record("thanks", t0 + 5 * MIN, "gpt-4o-mini", "u-alice", "s-a1"),
        "b1": _record("report", t0 + 10 * MIN, "gpt-4o", "u-bob", "s-b1"),
        "anon": _record("anon", t0 + 11 * MIN, "gpt-4o"),
    }
    assert llmledger.flush()
    llmledger.set_tracking_uri(before)
    srv = ServerProcess(uri).start()
    yield {"t0": t0, "ids": ids, "url": srv.url}
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("UI TESTS NEED CHROMIUM")
        pytest.skip("UI TESTS NEED CHROMIUM: none found")
    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, data):
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()
    assert errors == [], f"browser errors: {errors}"


def pct(x: D) -> str:
    """The UI's share format: whole percent, one decimal below 10%."""
    return f"{float(x) * 100:.{1 if x < D('0.1') else 0}f}%"


def _rows(page, table_id):
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )


def test_users_page_ranks_spenders_and_a_user_page_shows_cost_over_time_and_traces(page, data):
    open_page(page, data["url"], "/experiments/0/users?range=24h")
    rows = _rows(page, "users-table")
    total = MINI * 3 + GPT4O
    assert rows == [
        ["u-bob", "1", "1", "1,100", fmt_cost(float(GPT4O)), pct(GPT4O / total)],
        ["u-alice", "3", "3", "3,300", fmt_cost(float(3 * MINI)), pct(3 * MINI / total)],
    ]
    act(page, lambda: page.click("#users-table tbody tr:nth-child(2)"))
    assert "/users/u-alice" in page.url
    kpi = page.inner_text("[data-testid=user-cost-value]")
    assert kpi == fmt_cost(float(3 * MINI)) == "$0.00063"
    assert page.inner_text("[data-testid=user-traces-value]") == "3"
    assert page.inner_text("[data-testid=user-tokens-value]") == "3,300"
    costs = json.loads(page.get_attribute("#chart-user-cost", "data-costs"))
    assert sum(costs) == pytest.approx(float(3 * MINI), abs=1e-12)
    assert sum(1 for c in costs if c) == 1  # one hour bucket holds all three
    traces = _rows(page, "user-traces-table")
    assert [r[1] for r in traces] == ["thanks", "follow-up", "ask"]  # newest first
    assert all(r[2] == "s-a1" and r[-1] == fmt_cost(float(MINI)) for r in traces)


def test_sessions_page_lists_cost_tokens_duration_and_a_session_its_traces_in_order(page, data):
    open_page(page, data["url"], "/experiments/0/sessions?range=24h")
    rows = _rows(page, "sessions-table")
    assert [(r[0], r[1], r[3], r[4], r[6]) for r in rows] == [
        ("s-b1", "u-bob", "1", "1,100", fmt_cost(float(GPT4O))),
        ("s-a1", "u-alice", "3", "3,300", fmt_cost(float(3 * MINI))),
    ]
    # s-a1: from the first trace's start to the last one's end: 5 min + 40 ms
    duration = page.evaluate("ms => window.llmledgerUI.fmtDuration(ms)", 5 * MIN + 40)
    assert rows[1][5] == duration and rows[0][5] == page.evaluate(
        "ms => window.llmledgerUI.fmtDuration(ms)", 40
    )
    act(page, lambda: page.click("#sessions-table tbody tr:nth-child(2)"))
    assert "/sessions/s-a1" in page.url
    assert page.inner_text("[data-testid=session-cost-value]") == fmt_cost(float(3 * MINI))
    assert page.inner_text("[data-testid=session-tokens-value]") == "3,300"
    assert page.inner_text("[data-testid=session-duration-value]") == duration
    traces = _rows(page, "session-traces-table")
    assert [r[1] for r in traces] == ["ask", "follow-up", "thanks"]  # in order
    act(page, lambda: page.click("#session-traces-table tbody tr:nth-child(1)"))
    assert f"/traces/{data['ids']['a1']}" in page.url


def test_an_unknown_user_or_session_shows_empty_pages(page, data):
    open_page(page, data["url"], "/experiments/0/users/nobody?range=24h")
    assert page.inner_text("[data-testid=user-cost-value]") == "$0.00"
    assert "No traces" in page.inner_text("#user-traces-table")
    open_page(page, data["url"], "/experiments/0/sessions/nothing")
    assert "No traces in this session" in page.inner_text("#session-traces-table")
