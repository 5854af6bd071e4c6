"""The web UI in headless Chromium, against the real server on a SQLite file.

Traces are recorded with the SDK (the demo agent plus hand-made edge cases), the server is
started as a subprocess, and every number the pages show is checked against what the SDK
stored: ``llmledger.get_trace`` for traces and spans, sums over them for the Overview.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import llmledger
from llmledger import SpanType, config
from llmledger.pricing import clear_overrides, set_price
from llmledger.pricing.family import model_family
from llmledger.store.sql import SqlTraceStore
from server_process import ServerProcess

# Slow: a server process and headless Chromium (`make test-fast` skips this module).
pytestmark = pytest.mark.slow

XSS = "<img src=x onerror=alert(1)>"
SCRIPT_OUT = "<script>alert(2)</script>"
TAG_HTML = "<b>bold</b>"
TOOL_ERROR = "CRM returned <html>502</html>"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
DASH = "\u2014"


# -- what the pages should show, by the UI's rules --------------------------------------------
def fmt_cost(x: float | None) -> str:
    """The UI's money format: 6 decimals from $0.001, 4 significant digits written out below."""
    if x is None:
        return DASH
    if x == 0:
        return "$0.00"
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 1000:
        s = f"{a:.2f}"
    elif a >= 0.001:
        s = f"{a:.6f}"
    else:
        digits = min(20, 3 - math.floor(math.log10(a)))
        s = f"{a:.{digits}f}".rstrip("0").rstrip(".")
    whole, _, frac = s.partition(".")
    return f"{sign}${int(whole):,}" + (f".{frac}" if frac else "")


def hour_floor(ms: float) -> int:
    return int(ms // 3_600_000 * 3_600_000)


def fmt_int(n: int | None) -> str:
    return DASH if n is None else f"{n:,}"


def per_million(rate: str) -> str:
    """A per-token rate (exact decimal string) as dollars per million tokens, exactly."""
    text = format((Decimal(rate) * 1_000_000).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"${int(whole):,}.{frac.ljust(2, '0')} / 1M tokens"


# -- data ---------------------------------------------------------------------------------------
def record_edge_cases() -> dict[str, str]:
    """Traces the demo does not make: hostile strings, a wrapper span that is not counted, a
    cost set by hand, an exception, reasoning tokens, and an LLM call with no known price."""
    now = time.time_ns() - 30 * 60 * 1_000_000_000
    with llmledger.start_span("xss_probe", SpanType.CHAIN, start_time_ns=now) as root:
        llmledger.update_current_trace(tags={"note": TAG_HTML})
        root.set_inputs(XSS)
        with llmledger.start_span("wrapper_llm", SpanType.LLM, start_time_ns=now + 10**6) as w:
            w.set_attribute("llmledger.llm.model", "gpt-4o-mini")
            w.set_attribute(
                "llmledger.chat.tokenUsage", {"input_tokens": 1200, "output_tokens": 300}
            )
            with llmledger.start_span(
                "openai.chat", SpanType.CHAT_MODEL, start_time_ns=now + 2 * 10**6
            ) as c:
                c.set_attribute("llmledger.llm.model", "o3-mini")
                c.set_attribute("llmledger.llm.provider", "openai")
                c.set_attribute(
                    "llmledger.chat.tokenUsage",
                    {
                        "input_tokens": 1200,
                        "output_tokens": 300,
                        "reasoning_tokens": 192,
                        "cache_read_input_tokens": 1024,
                    },
                )
                c.set_inputs({"messages": [{"role": "user", "content": XSS}]})
                c.set_outputs(SCRIPT_OUT)
                c.end(end_time_ns=now + 900 * 10**6)
            w.end(end_time_ns=now + 950 * 10**6)
        with llmledger.start_span(
            "manual_cost_call", SpanType.LLM, start_time_ns=now + 960 * 10**6
        ) as m:
            m.set_attribute("llmledger.llm.model", "my-finetune")
            m.set_attribute("llmledger.chat.tokenUsage", {"input_tokens": 50, "output_tokens": 10})
            m.set_attribute(
                "llmledger.llm.cost",
                {"input_cost": 0.0000126, "output_cost": 0.000004, "total_cost": 0.0000166},
            )
            m.end(end_time_ns=now + 1100 * 10**6)
        with llmledger.start_span(
            "flaky_tool", SpanType.TOOL, start_time_ns=now + 1100 * 10**6
        ) as tool:
            try:
                raise ValueError(TOOL_ERROR)
            except ValueError as exc:
                tool.record_exception(exc)
            tool.end(end_time_ns=now + 1300 * 10**6)
        root.end(end_time_ns=now + 1320 * 10**6)
    xss_id = root.trace_id

    start = now + 5 * 60 * 1_000_000_000
    with llmledger.start_span("unpriced_call", SpanType.CHAIN, start_time_ns=start) as root:
        with llmledger.start_span("call", SpanType.LLM, start_time_ns=start) as span:
            span.set_attribute("llmledger.llm.model", "no-such-model-in-any-catalog")
            span.set_attribute(
                "llmledger.chat.tokenUsage", {"input_tokens": 40, "output_tokens": 2}
            )
            span.end(end_time_ns=start + 200 * 10**6)
        root.end(end_time_ns=start + 210 * 10**6)
    unpriced_id = root.trace_id

    # 1-hour cache writes: priced at their own rate, and at the write rate (noted) for an
    # entry without a 1-hour price
    start = now + 10 * 60 * 1_000_000_000
    usage_1h = {
        "input_tokens": 1100,
        "output_tokens": 50,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
        "cache_creation_1h_input_tokens": 150,
    }
    set_price("ui-no-1h-price", input_per_million=3, output_per_million=15)  # until flushed
    with llmledger.start_span("cache_1h", SpanType.CHAIN, start_time_ns=start) as root:
        for i, model in enumerate(("claude-sonnet-4-5", "ui-no-1h-price")):
            at = start + i * 300 * 10**6
            with llmledger.start_span(model, SpanType.LLM, start_time_ns=at) as span:
                span.set_attribute("llmledger.llm.model", model)
                span.set_attribute("llmledger.chat.tokenUsage", dict(usage_1h))
                span.end(end_time_ns=at + 200 * 10**6)
        root.end(end_time_ns=start + 600 * 10**6)
    return {"xss": xss_id, "unpriced": unpriced_id, "cache_1h": root.trace_id}


def record_ui_data(db: Path, traces: int = 30, edge_cases: bool = True) -> dict:
    """Demo traces (and the edge cases) into a SQLite file; what the SDK stored for each."""
    from llmledger.demo import run_demo

    previous_uri = config.get_tracking_uri()
    uri = f"sqlite:///{db}"
    llmledger.set_tracking_uri(uri)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ids = run_demo(traces=traces, experiment="demo", days=7)
        experiment_id = llmledger.set_experiment("demo")
        special = record_edge_cases() if edge_cases else {}
        llmledger.flush()
        stored = {tid: llmledger.get_trace(tid) for tid in [*ids, *special.values()]}
    finally:
        clear_overrides()  # the edge cases' price
        config.set_experiment_id(None)
        llmledger.set_tracking_uri(previous_uri)
    assert all(stored.values())
    return {"uri": uri, "experiment_id": experiment_id, "traces": stored, **special}


# -- browser --------------------------------------------------------------------------------------
def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("LLMLEDGER_CHROMIUM"),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def launch_browser(playwright):
    path = chromium_path()
    if path is None:
        raise FileNotFoundError(
            "no Chromium found: install Debian's 'chromium' (apt-get install -y chromium) or "
            "set LLMLEDGER_CHROMIUM to a Chromium binary"
        )
    return playwright.chromium.launch(executable_path=path, args=BROWSER_ARGS)


def app_seq(page) -> int:
    return int(page.evaluate("Number(document.getElementById('app').dataset.seq || 0)"))


def wait_ready(page, after: int = 0) -> None:
    """Wait until a page drawn after ``after`` has its data on screen (#app data-state)."""
    page.wait_for_function(
        """after => {
            const app = document.getElementById('app');
            return app && app.dataset.state === 'ready' && Number(app.dataset.seq) > after;
        }""",
        arg=after,
    )


def open_page(page, base: str, route: str) -> None:
    before = app_seq(page) if page.url.startswith(base) else 0
    page.goto(f"{base}/#{route}")
    wait_ready(page, before)


def act(page, action) -> None:
    """Do something that draws a new page (click a link, a header...), wait for it."""
    before = app_seq(page)
    action()
    wait_ready(page, before)


def take_screenshots(page, base: str, data: dict, out_dir: Path) -> list[Path]:
    """The three pages of the README at 1400x900: traces list, a trace, the overview."""
    out_dir.mkdir(parents=True, exist_ok=True)
    eid = data["experiment_id"]
    shots = []
    open_page(page, base, f"/experiments/{eid}/traces")
    shots.append(out_dir / "traces.png")
    page.screenshot(path=str(shots[-1]))
    demo = [t for tid, t in data["traces"].items() if t.info.name == "support_agent"]
    # prefer a run recorded through the real client libraries (autolog sets requestModel)
    live = [
        t for t in demo if any(s.get_attribute("llmledger.llm.requestModel") for s in t.data.spans)
    ] or demo
    rich = max(live, key=lambda t: (len(t.data.spans), t.info.token_usage["total_tokens"]))
    answer = max((s for s in rich.data.spans if s.llm_cost), key=lambda s: s.llm_cost["total_cost"])
    open_page(page, base, f"/traces/{rich.info.trace_id}?span={answer.span_id}")
    shots.append(out_dir / "trace.png")
    page.screenshot(path=str(shots[-1]))
    open_page(page, base, f"/experiments/{eid}/overview?range=7d")
    shots.append(out_dir / "overview.png")
    page.screenshot(path=str(shots[-1]))
    return shots


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ui_data(tmp_path_factory):
    return record_ui_data(tmp_path_factory.mktemp("ui") / "ui.db")


@pytest.fixture(scope="module")
def ui_server(ui_data, tmp_path_factory):
    log = tmp_path_factory.mktemp("ui-log") / "server.log"
    srv = ServerProcess(ui_data["uri"], None, log=log).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if chromium_path() is None:
        message = (
            "UI TESTS NEED CHROMIUM: none found (apt-get install -y chromium, or set "
            "LLMLEDGER_CHROMIUM)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, ui_server):
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    dialogs: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.allowed_errors = []  # substrings of console errors a test expects

    def on_console(message):
        if message.type == "error" and not any(a in message.text for a in pg.allowed_errors):
            errors.append(message.text)

    pg.on("console", on_console)

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.base = ui_server.url
    pg.errors = errors
    pg.dialogs = dialogs
    yield pg
    context.close()
    assert errors == [], f"browser errors: {errors}"
    assert dialogs == [], f"dialogs fired: {dialogs}"


@pytest.fixture
def api(ui_server):
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        yield client


def cell(page, trace_id: str, col: str) -> str:
    return page.locator(
        f'tr.trace-row[data-trace-id="{trace_id}"] td[data-col="{col}"]'
    ).inner_text()


# -- tests ----------------------------------------------------------------------------------------
def test_money_and_rate_formats_match_the_rules(page):
    open_page(page, page.base, "/")
    cases = [0.01984153, 0.0000126, 1.6e-07, 0.0003732, 0.55021737, 1234.5678, 0, None, 4e-06]
    got = page.evaluate("xs => xs.map(x => window.llmledgerUI.fmtCost(x))", cases)
    assert got == [fmt_cost(x) for x in cases]
    assert got[:3] == ["$0.019842", "$0.0000126", "$0.00000016"]
    assert got[6:8] == ["$0.00", DASH]
    rates = ["0.0000025", "0.000003", "0.00000125", "0.00000002", "3e-06", "0.000015"]
    millions = page.evaluate("xs => xs.map(x => window.llmledgerUI.timesMillion(x))", rates)
    assert millions == ["2.5", "3", "1.25", "0.02", "3", "15"]


def test_experiments_home_lists_experiments_with_counts(page, ui_data):
    open_page(page, page.base, "/")
    row = page.locator(f'#experiments-table tr[data-experiment-id="{ui_data["experiment_id"]}"]')
    assert "demo" in row.inner_text()
    assert str(len(ui_data["traces"])) in row.inner_text()
    act(page, lambda: row.locator("a", has_text="demo").click())
    assert page.locator("tr.trace-row").count() == len(ui_data["traces"])


def test_traces_list_rows_equal_the_stored_usage_and_cost(page, ui_data, api):
    eid = ui_data["experiment_id"]
    open_page(page, page.base, f"/experiments/{eid}/traces")
    rows = page.locator("tr.trace-row")
    assert rows.count() == len(ui_data["traces"])  # 33 traces fit the default 50-row page
    shown = [rows.nth(i).get_attribute("data-trace-id") for i in range(rows.count())]
    by_time = sorted(
        ui_data["traces"], key=lambda t: ui_data["traces"][t].info.timestamp_ms, reverse=True
    )
    assert shown == by_time  # newest first by default
    for tid, trace in ui_data["traces"].items():
        info = trace.info
        usage = info.token_usage or {}
        assert cell(page, tid, "input_tokens") == fmt_int(usage.get("input_tokens"))
        assert cell(page, tid, "output_tokens") == fmt_int(usage.get("output_tokens"))
        assert cell(page, tid, "total_tokens") == fmt_int(usage.get("total_tokens"))
        cost = info.cost["total_cost"] if info.cost else None
        assert cell(page, tid, "total_cost") == fmt_cost(cost)
        assert cell(page, tid, "status") == info.status
        assert info.name in cell(page, tid, "name")
        assert info.models[0] in cell(page, tid, "models")
        # and the server gave the page the same numbers the SDK stored
        served = api.get(f"/api/traces/{tid}").json()["info"]
        assert served["token_usage"] == info.token_usage
        assert (served["cost"] or {}).get("total_cost") == cost
    # unknown cost is a dash, never $0
    unpriced = ui_data["unpriced"]
    assert ui_data["traces"][unpriced].info.cost is None
    assert cell(page, unpriced, "total_cost") == DASH
    assert cell(page, unpriced, "total_tokens") == "42"


def test_sorting_filters_and_pages_follow_the_api(page, ui_data, api):
    eid = ui_data["experiment_id"]
    open_page(page, page.base, f"/experiments/{eid}/traces")

    def shown():
        rows = page.locator("tr.trace-row")
        return [rows.nth(i).get_attribute("data-trace-id") for i in range(rows.count())]

    def api_ids(**params):
        body = api.get("/api/traces", params={"experiment_id": eid, **params}).json()
        return [t["trace_id"] for t in body["traces"]], body["next_page_token"]

    act(page, lambda: page.click('th[data-col="total_cost"]'))
    assert "order_by=total_cost+DESC" in page.url
    ids, _ = api_ids(order_by="total_cost DESC")
    assert shown() == ids
    costs = [ui_data["traces"][t].info.cost for t in ids]
    priced = [c["total_cost"] for c in costs if c]
    assert priced == sorted(priced, reverse=True)
    act(page, lambda: page.click('th[data-col="total_cost"]'))
    assert shown() == api_ids(order_by="total_cost ASC")[0]

    act(page, lambda: page.select_option("#f-status", "ERROR"))
    errors = [t for t, tr in ui_data["traces"].items() if tr.info.status == "ERROR"]
    assert errors and sorted(shown()) == sorted(errors)
    act(page, lambda: page.click("button:has-text('Reset')"))
    assert len(shown()) == len(ui_data["traces"])

    page.fill("#f-text", "onerror")
    act(page, lambda: page.click("#f-apply"))
    assert shown() == [ui_data["xss"]]
    act(page, lambda: page.click("button:has-text('Reset')"))

    page.fill("#f-model", "claude-sonnet-4-5")
    page.fill("#f-tag", "customer_tier:pro")
    page.fill("#f-min-cost", "0.01")
    act(page, lambda: page.press("#f-min-cost", "Enter"))
    expected = [
        t
        for t, tr in ui_data["traces"].items()
        if "claude-sonnet-4-5" in tr.info.models
        and tr.info.tags.get("customer_tier") == "pro"
        and tr.info.cost
        and tr.info.cost["total_cost"] >= 0.01
    ]
    assert sorted(shown()) == sorted(expected)
    act(page, lambda: page.click("button:has-text('Reset')"))

    # pages of 25: next, then previous (Reset kept the sort order)
    assert "order_by=total_cost+ASC" in page.url
    act(page, lambda: page.select_option("#page-size", "25"))
    first, token = api_ids(max_results=25, order_by="total_cost ASC")
    assert shown() == first and token
    assert page.is_disabled("#page-prev")
    act(page, lambda: page.click("#page-next"))
    second, _ = api_ids(max_results=25, order_by="total_cost ASC", page_token=token)
    assert shown() == second and len(second) == len(ui_data["traces"]) - 25
    assert page.is_disabled("#page-next")
    assert "Page 2" in page.inner_text("#page-info")
    act(page, lambda: page.click("#page-prev"))
    assert shown() == first

    # time range: the last 24 hours, then a custom from/to
    act(page, lambda: page.select_option("#f-range", "24h"))
    cutoff = time.time() * 1000 - 86_400_000
    recent = {t for t, tr in ui_data["traces"].items() if tr.info.timestamp_ms >= cutoff + 60_000}
    assert recent <= set(shown()) and len(shown()) < len(ui_data["traces"])
    page.select_option("#f-range", "custom")
    newest = max(tr.info.timestamp_ms for tr in ui_data["traces"].values())
    page.fill("#f-from", time.strftime("%Y-%m-%dT%H:%M", time.localtime(newest / 1000 - 2 * 86400)))
    page.fill("#f-to", time.strftime("%Y-%m-%dT%H:%M", time.localtime(newest / 1000 + 120)))
    act(page, lambda: page.click("#f-apply"))
    frm = int(re.search(r"from=(\d+)", page.url).group(1))
    to = int(re.search(r"to=(\d+)", page.url).group(1))
    inside = [t for t, tr in ui_data["traces"].items() if frm <= tr.info.timestamp_ms < to]
    assert 0 < len(inside) < len(ui_data["traces"]) and sorted(shown()) == sorted(inside)


def test_trace_view_header_and_span_details_equal_the_stored_ones(page, ui_data):
    demo = [t for t in ui_data["traces"].values() if t.info.name == "support_agent"]
    # an Anthropic answer with cache reads: the most detailed price entry
    trace = next(
        t
        for t in demo
        if any(
            s.name == "answer"
            and s.attributes.get("llmledger.llm.provider") == "anthropic"
            and s.attributes["llmledger.chat.tokenUsage"].get("cache_read_input_tokens")
            for s in t.data.spans
        )
    )
    info = trace.info
    open_page(page, page.base, f"/traces/{info.trace_id}")
    assert page.inner_text("#trace-name").startswith(info.name)
    assert page.inner_text('[data-testid="trace-total-cost-value"]') == fmt_cost(
        info.cost["total_cost"]
    )
    assert page.inner_text('[data-testid="trace-input-cost"]') == fmt_cost(info.cost["input_cost"])
    assert page.inner_text('[data-testid="trace-output-cost"]') == fmt_cost(
        info.cost["output_cost"]
    )
    usage = info.token_usage
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        testid = "trace-" + key.replace("_", "-")
        assert page.inner_text(f'[data-testid="{testid}-value"]') == fmt_int(usage[key])
    assert fmt_int(usage["cache_read_input_tokens"]) in page.inner_text(
        '[data-testid="trace-cache-read"]'
    )

    # waterfall: one row per span, children indented under their parent, bars inside the track
    rows = page.locator(".wf-row")
    assert rows.count() == len(trace.data.spans)
    by_id = {s.span_id: s for s in trace.data.spans}
    depth = {}
    for i in range(rows.count()):
        sid = rows.nth(i).get_attribute("data-span-id")
        parent = by_id[sid].parent_id
        depth[sid] = 0 if parent is None else depth[parent] + 1  # parents come first
        assert rows.nth(i).get_attribute("data-depth") == str(depth[sid])
        bar = rows.nth(i).locator(".wf-bar").bounding_box()
        track = rows.nth(i).locator(".wf-track").bounding_box()
        assert bar["width"] > 0
        assert (
            track["x"] - 1 <= bar["x"]
            and bar["x"] + bar["width"] <= track["x"] + track["width"] + 1
        )

    # the answer span: usage, cost and the price entry that produced it
    answer = next(s for s in trace.data.spans if s.name == "answer")
    attrs = answer.attributes
    page.click(f'.wf-row[data-span-id="{answer.span_id}"]')
    assert page.inner_text("#span-name") == "answer"
    details = page.locator("#span-details")
    span_kv = details.locator("#span-kv")
    assert span_kv.locator('dd[data-key="model"]').inner_text() == attrs["llmledger.llm.model"]
    assert span_kv.locator('dd[data-key="provider"]').inner_text() == "anthropic"
    span_usage = attrs["llmledger.chat.tokenUsage"]
    for key, value in span_usage.items():
        got = details.locator(f'[data-testid="span-usage"] tr[data-key="{key}"] td.num')
        assert got.inner_text() == fmt_int(value), key
    cost = attrs["llmledger.llm.cost"]
    breakdown = attrs["llmledger.llm.costBreakdown"]
    for key in ("input_cost", "output_cost", "total_cost"):
        got = details.locator(f'[data-testid="span-cost"] tr[data-key="{key}"] td.num')
        assert got.inner_text() == fmt_cost(cost[key]), key
    read = details.locator('[data-testid="span-cost"] tr[data-key="cache_read_cost"] td.num')
    assert read.inner_text() == fmt_cost(breakdown["details"]["cache_read_cost"])
    price = breakdown["price"]
    entry = details.locator('[data-testid="price-entry"]')
    assert entry.locator('dd[data-key="model_id"]').inner_text() == price["model_id"]
    assert entry.locator('dd[data-key="matched_by"]').inner_text() == price["matched_by"]
    assert entry.locator('dd[data-key="source"]').inner_text() == price["source"]
    assert price["rates"]
    for key, rate in price["rates"].items():
        got = entry.locator(f'tr[data-key="{key}"] td.num').inner_text()
        if "token" in key:
            assert got == per_million(rate), key
    assert details.locator('[data-testid="counted-note"]').count() == 1

    # inputs and outputs are shown as JSON text
    assert '"role": "user"' in page.inner_text("#span-inputs")
    assert page.inner_text("#span-outputs") == attrs["llmledger.spanOutputs"]
    # the selection is in the address, so a reload shows the same span
    assert f"span={answer.span_id}" in page.url


def test_trace_view_marks_uncounted_hand_set_unpriced_and_errors(page, ui_data):
    trace = ui_data["traces"][ui_data["xss"]]
    spans = {s.name: s for s in trace.data.spans}
    open_page(page, page.base, f"/traces/{ui_data['xss']}")
    usage = trace.info.token_usage
    assert fmt_int(usage["reasoning_tokens"]) in page.inner_text('[data-testid="trace-reasoning"]')

    wrapper = page.locator(f'.wf-row[data-span-id="{spans["wrapper_llm"].span_id}"]')
    assert wrapper.locator(".nc-chip").inner_text() == "not counted"
    counted = page.locator(f'.wf-row[data-span-id="{spans["openai.chat"].span_id}"]')
    assert counted.locator(".nc-chip").count() == 0
    wrapper.click()
    assert page.locator('[data-testid="not-counted-note"]').count() == 1

    page.click(f'.wf-row[data-span-id="{spans["manual_cost_call"].span_id}"]')
    assert "Set by hand" in page.inner_text('[data-testid="set-by-hand"]')
    total = spans["manual_cost_call"].attributes["llmledger.llm.cost"]["total_cost"]
    assert fmt_cost(total) == "$0.0000166"
    assert page.inner_text('[data-testid="span-cost"] tr[data-key="total_cost"] td.num') == (
        "$0.0000166"
    )

    page.click(f'.wf-row[data-span-id="{spans["flaky_tool"].span_id}"]')
    assert page.inner_text('[data-testid="span-exception"]') == f"builtins.ValueError: {TOOL_ERROR}"

    open_page(page, page.base, f"/traces/{ui_data['unpriced']}")
    assert page.inner_text('[data-testid="trace-total-cost-value"]') == DASH
    call = next(s for s in ui_data["traces"][ui_data["unpriced"]].data.spans if s.name == "call")
    page.click(f'.wf-row[data-span-id="{call.span_id}"]')
    assert "no-such-model-in-any-catalog" in page.inner_text('[data-testid="no-price"]')


def test_span_details_show_1h_cache_writes_and_their_cost(page, ui_data):
    trace = ui_data["traces"][ui_data["cache_1h"]]
    open_page(page, page.base, f"/traces/{ui_data['cache_1h']}")
    details = page.locator("#span-details")
    notes = {"claude-sonnet-4-5": "", "ui-no-1h-price": ", priced as input_cost_per_token"}
    llm_spans = [s for s in trace.data.spans if s.token_usage]
    assert [s.name for s in llm_spans] == ["claude-sonnet-4-5", "ui-no-1h-price"]
    for span in llm_spans:
        page.click(f'.wf-row[data-span-id="{span.span_id}"]')
        assert page.inner_text("#span-name") == span.name
        row = details.locator(
            '[data-testid="span-usage"] tr[data-key="cache_creation_1h_input_tokens"]'
        )
        assert row.locator("td").nth(0).inner_text() == "Cache write, 1 h (of cache write)"
        assert row.locator("td.num").inner_text() == "150"
        breakdown = span.attributes["llmledger.llm.costBreakdown"]["details"]
        cost_rows = details.locator('[data-testid="span-cost"]')
        for key in ("cache_write_cost", "cache_write_1h_cost"):
            got = cost_rows.locator(f'tr[data-key="{key}"] td.num').inner_text()
            assert got == fmt_cost(breakdown[key]), key
        label = cost_rows.locator('tr[data-key="cache_write_1h_cost"] td').nth(0).inner_text()
        assert label == "Cache write, 1 h (of cache write)" + notes[span.name]
        assert cost_rows.locator("tr", has_text="Other").count() == 0
    # claude-sonnet-4-5: 150 one-hour writes at $6/1M; the other: at its input price
    first, second = (s.llm_cost.details for s in llm_spans)
    assert first["cache_write_1h_cost"] == 0.0009
    assert second["cache_write_1h_cost"] == 0.00045
    assert second["cache_write_1h_priced_as"] == "input_cost_per_token"


def test_overview_totals_equal_the_sum_over_traces_and_charts_render(page, ui_data):
    eid = ui_data["experiment_id"]
    traces = list(ui_data["traces"].values())
    open_page(page, page.base, f"/experiments/{eid}/overview?range=30d")
    assert page.inner_text('[data-testid="trace-count-value"]') == fmt_int(len(traces))
    total = sum(Decimal(str(t.info.cost["total_cost"])) for t in traces if t.info.cost)
    assert page.inner_text('[data-testid="total-cost-value"]') == fmt_cost(float(total))
    tokens = sum(t.info.token_usage["total_tokens"] for t in traces if t.info.token_usage)
    assert page.inner_text('[data-testid="total-tokens-value"]') == fmt_int(tokens)
    avg = float(total) / len(traces)
    assert page.inner_text('[data-testid="avg-cost-value"]') == fmt_cost(avg)
    errors = sum(t.info.status == "ERROR" for t in traces)
    assert f"{errors} error" in page.inner_text('[data-testid="trace-count"]')

    charts = page.evaluate(
        """ids => ids.map(id => {
            const canvas = document.getElementById(id);
            const chart = window.Chart && window.Chart.getChart(canvas);
            const box = canvas.getBoundingClientRect();
            return {
                width: box.width, height: box.height, exists: !!chart,
                labels: chart ? chart.data.datasets.map(d => d.label) : [],
                sum: chart ? chart.data.datasets.reduce(
                    (n, d) => n + d.data.reduce((a, b) => a + b, 0), 0) : 0,
            };
        })""",
        ["chart-cost", "chart-tokens"],
    )
    # by model family (the default): gpt-4o-mini-2024-07-18 is in gpt-4o-mini
    families = {model_family(m) for t in traces for m in t.info.models}
    for chart in charts:
        assert chart["exists"] and chart["width"] > 100 and chart["height"] > 100
        assert set(chart["labels"]) == families
    assert charts[0]["sum"] == pytest.approx(float(total), abs=1e-9)
    assert charts[1]["sum"] == tokens

    # cost by family: one row per family, adding up to the total
    rows = page.locator('[data-testid="cost-by-group"] tbody tr[data-group]')
    assert {rows.nth(i).get_attribute("data-group") for i in range(rows.count())} == families

    # the same stacked by provider
    act(page, lambda: page.click('#group-picker button[data-group="provider"]'))
    assert "group=provider" in page.url
    labels, cost_sum = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('chart-cost'));
            return [chart.data.datasets.map(d => d.label),
                    chart.data.datasets.reduce((n, d) => n + d.data.reduce((a, b) => a + b), 0)];
        }"""
    )
    assert {"openai", "anthropic"} <= set(labels)
    assert cost_sum == pytest.approx(float(total), abs=1e-9)
    rows = page.locator('[data-testid="cost-by-group"] tbody tr')
    assert {rows.nth(i).get_attribute("data-group") for i in range(rows.count())} == set(labels)
    act(page, lambda: page.click('#group-picker button[data-group="model"]'))

    # cost by tag: the chooser offers the traces' tag keys; per value, the sum over traces
    options = page.locator("#tag-key option").all_inner_texts()
    assert set(options) == {"customer_tier", "feature", "note"}
    act(page, lambda: page.select_option("#tag-key", "customer_tier"))
    assert "tagkey=customer_tier" in page.url
    by_tier: dict[str, Decimal] = {}
    for t in traces:
        key = t.info.tags.get("customer_tier", "(untagged)")
        cost = Decimal(str(t.info.cost["total_cost"])) if t.info.cost else Decimal(0)
        by_tier[key] = by_tier.get(key, Decimal(0)) + cost
    for tier, cost in by_tier.items():
        row = page.locator(f'[data-testid="cost-by-tag"] tr[data-group="{tier}"]')
        assert row.locator("td.num").nth(2).inner_text() == fmt_cost(float(cost)), tier

    # range picker: the last 24 hours (widened to whole hours: the server keeps hourly
    # rollups) hold fewer traces, counted by their start time
    before = time.time() * 1000
    act(page, lambda: page.click('#range-picker button[data-range="24h"]'))
    after = time.time() * 1000
    assert "range=24h" in page.url
    shown = int(page.inner_text('[data-testid="trace-count-value"]').replace(",", ""))
    low = sum(t.info.timestamp_ms >= hour_floor(after - 86_400_000) for t in traces)
    high = sum(t.info.timestamp_ms >= hour_floor(before - 86_400_000) for t in traces)
    assert low <= shown <= high < len(traces)

    # custom range: from/to inputs
    page.click('#range-picker button[data-range="custom"]')
    newest = max(t.info.timestamp_ms for t in traces)
    page.fill("#o-from", time.strftime("%Y-%m-%dT%H:%M", time.localtime(newest / 1000 - 3 * 86400)))
    page.fill("#o-to", time.strftime("%Y-%m-%dT%H:%M", time.localtime(newest / 1000 + 120)))
    act(page, lambda: page.click("#o-apply"))
    assert "range=custom" in page.url
    frm = hour_floor(int(re.search(r"from=(\d+)", page.url).group(1)))
    to = -hour_floor(-int(re.search(r"to=(\d+)", page.url).group(1)))  # up to the next hour
    expected = sum(frm <= t.info.timestamp_ms < to for t in traces)
    assert 0 < expected < len(traces)
    assert page.inner_text('[data-testid="trace-count-value"]') == fmt_int(expected)
    assert page.evaluate("!!Chart.getChart(document.getElementById('chart-cost'))")


def test_user_strings_are_text_never_html(page, ui_data):
    eid = ui_data["experiment_id"]
    xss = ui_data["xss"]
    open_page(page, page.base, f"/experiments/{eid}/traces")
    assert XSS in cell(page, xss, "name")
    assert TAG_HTML in cell(page, xss, "tags")

    open_page(page, page.base, f"/traces/{xss}")
    assert page.inner_text("#span-inputs") == XSS  # the root span is selected first
    assert TAG_HTML in page.inner_text(".page-head")
    chat = next(s for s in ui_data["traces"][xss].data.spans if s.name == "openai.chat")
    page.click(f'.wf-row[data-span-id="{chat.span_id}"]')
    assert XSS in page.inner_text("#span-inputs")
    assert page.inner_text("#span-outputs") == SCRIPT_OUT
    tool = next(s for s in ui_data["traces"][xss].data.spans if s.name == "flaky_tool")
    page.click(f'.wf-row[data-span-id="{tool.span_id}"]')
    assert TOOL_ERROR in page.inner_text('[data-testid="span-exception"]')
    page.wait_for_timeout(300)  # an onerror handler would have run by now

    # nothing was parsed out of the data: no images, no extra scripts, no <b>bold</b>, no <html>
    assert page.locator("img").count() == 0
    assert page.evaluate("document.scripts.length") == 2  # chart.umd.js and app.js
    assert (
        page.evaluate(
            "[...document.querySelectorAll('b')].filter(b => b.textContent === 'bold').length"
        )
        == 0
    )
    assert page.evaluate("document.querySelectorAll('html').length") == 1
    assert page.dialogs == []


def test_unknown_trace_shows_the_servers_message(page):
    page.allowed_errors.append("status of 404")  # Chromium logs the failed fetch
    open_page(page, page.base, "/traces/tr-does-not-exist")
    text = page.inner_text("#trace-error")
    assert "404" in text and "tr-does-not-exist" in text


def test_pages_render_and_screenshots_are_taken(page, ui_data, tmp_path):
    shots = take_screenshots(page, page.base, ui_data, tmp_path / "shots")
    for shot in shots:
        assert shot.stat().st_size > 20_000, shot  # a page with content, not a blank one
    assert [s.name for s in shots] == ["traces.png", "trace.png", "overview.png"]


def test_token_prompt_when_the_server_requires_auth(browser, ui_data, tmp_path):
    srv = ServerProcess(ui_data["uri"], None, "--auth-token", "s3cret").start()
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    try:
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        pg.goto(srv.url + "/#/")
        pg.wait_for_selector("#token-form")
        pg.fill("#token-input", "s3cret")
        before = app_seq(pg)
        pg.click("#token-form button")
        wait_ready(pg, before)
        assert "demo" in pg.inner_text("#experiments-table")
    finally:
        context.close()
        srv.stop()


def test_trace_view_says_when_spans_were_dropped_at_the_limit(page, ui_data):
    """A trace cut at the span limit says so: its usage and cost are partial."""
    from llmledger.server.ingest import finish_trace
    from llmledger.store.sql import SqlTraceStore

    store = SqlTraceStore(ui_data["uri"])  # the server's database
    store.max_spans_per_trace = 2
    start = 1_760_000_000_000_000_000
    spans = [
        {
            "trace_id": "tr-cut",
            "span_id": f"s{i}",
            "parent_id": None if i == 0 else "s0",
            "name": f"s{i}",
            "start_time_ns": start + i,
            "end_time_ns": start + 10,
            "attributes": {},
        }
        for i in range(5)
    ]
    (rec,) = store.merge_spans([("tr-cut", "0", {}, spans)], finish_trace)
    assert rec["info"]["spans_dropped"] == 3
    open_page(page, page.base, "/traces/tr-cut")
    banner = page.inner_text("#trace-dropped-banner")
    assert "3 span(s)" in banner and "partial" in banner
def test_api_docs_reference_only_local_files_and_they_are_served(api):
    html = api.get("/docs").text
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)""", html)
    assert "/docs-static/swagger-ui-bundle.js" in urls and "/openapi.json" in urls
    assert re.findall(r"https?://", html) == []  # no CDN
    for url in urls:
        assert api.get(url).status_code == 200, url
    redoc = api.get("/redoc").text
    assert "/docs-static/redoc.standalone.js" in redoc and re.findall(r"https?://", redoc) == []


def test_api_docs_render_the_operations_with_no_network(page):
    """Every request that is not to the server is refused: /docs still lists the API."""
    outside: list[str] = []

    def only_the_server(route):
        if route.request.url.startswith(page.base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto(f"{page.base}/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").evaluate_all(
        "els => els.map(e => e.getAttribute('data-path'))"
    )
    assert "/api/traces" in paths and "/api/experiments" in paths
    assert outside == []


def test_models_column_shows_every_model_or_a_visible_count(page, ui_data):
    """Demo traces call three models: two chips and a "+1" that is on screen (not clipped
    by the cell) and whose tooltip lists them all."""
    open_page(page, page.base, f"/experiments/{ui_data['experiment_id']}/traces")
    trace_id = next(t for t, tr in ui_data["traces"].items() if len(tr.info.models or []) == 3)
    row = page.locator(f'tr.trace-row[data-trace-id="{trace_id}"] td[data-col="models"]')
    more = row.locator(".chip.more")
    assert more.inner_text() == "+1"
    assert more.get_attribute("title") == ", ".join(ui_data["traces"][trace_id].info.models)
    cell_box, more_box = row.bounding_box(), more.bounding_box()
    assert more_box["width"] > 10
    assert more_box["x"] + more_box["width"] <= cell_box["x"] + cell_box["width"] + 0.5
    chips = row.locator(".chip.model")
    for i in range(chips.count()):  # every chip shown has its full name as its tooltip
        assert chips.nth(i).get_attribute("title") in ui_data["traces"][trace_id].info.models


def palette_color(name: str) -> str:
    """The UI's colour for a chart group: FNV-1a of its name over the palette in app.js."""
    source = (Path(llmledger.__file__).parent / "server" / "ui" / "app.js").read_text()
    block = re.search(r"const PALETTE = \[(.*?)\];", source, re.S).group(1)
    palette = re.findall(r'"(#[0-9a-f]{6})"', block)
    h = 0x811C9DC5
    for ch in name:
        h = ((h ^ ord(ch)) * 0x01000193) & 0xFFFFFFFF
    return palette[h % len(palette)]


def test_a_model_keeps_its_chart_colour_across_ranges(page, ui_data):
    colors_by_range = {}
    for range_ in ("30d", "24h"):
        open_page(
            page, page.base, f"/experiments/{ui_data['experiment_id']}/overview?range={range_}"
        )
        colors_by_range[range_] = dict(
            page.evaluate(
                """() => Chart.getChart(document.getElementById('chart-cost'))
                       .data.datasets.map(d => [d.label, d.backgroundColor])"""
            )
        )
    wide, narrow = colors_by_range["30d"], colors_by_range["24h"]
    assert list(wide) != list(narrow)  # the models rank differently (by cost) in each range
    for label, color in [*wide.items(), *narrow.items()]:
        assert color == palette_color(label), label


def test_a_bad_filter_value_shows_a_readable_message(page, ui_data):
    page.allowed_errors.append("status of 422")  # Chromium logs the failed fetch
    open_page(page, page.base, f"/experiments/{ui_data['experiment_id']}/traces?min_cost=lots")
    message = page.locator("#traces-table .message.error, .message.error").first.inner_text()
    assert message.startswith("Invalid min_cost: ")
    assert "{" not in message and "422" not in message


def test_overview_groups_by_family_with_the_reported_models_inside(page, ui_data):
    """The demo's live calls report gpt-4o-mini-2024-07-18, its history gpt-4o-mini: one
    family row holds both, each with its own calls and cost, each a link to its traces."""
    eid = ui_data["experiment_id"]
    traces = list(ui_data["traces"].values())
    by_model: dict[str, Decimal] = {}
    calls: dict[str, int] = {}
    store = SqlTraceStore(ui_data["uri"])
    for t in traces:
        for d in store.get_trace(t.info.trace_id)["spans"]:  # as stored: "counted" included
            model = d["attributes"].get("llmledger.llm.model")
            cost = d["attributes"].get("llmledger.llm.cost")
            if model and model_family(model) == "gpt-4o-mini" and d["counted"]:
                by_model[model] = by_model.get(model, Decimal(0)) + Decimal(
                    str(cost["total_cost"] if cost else 0)
                )
                calls[model] = calls.get(model, 0) + 1
    assert set(by_model) == {"gpt-4o-mini", "gpt-4o-mini-2024-07-18"}, by_model
    open_page(page, page.base, f"/experiments/{eid}/overview?range=30d")
    family = page.locator('[data-testid="cost-by-group"] tr[data-group="gpt-4o-mini"]')
    assert family.locator("td.num").nth(0).inner_text() == fmt_int(sum(calls.values()))
    assert family.locator("td.num").nth(2).inner_text() == fmt_cost(float(sum(by_model.values())))
    variants = page.locator('[data-testid="cost-by-group"] tr.variant[data-family="gpt-4o-mini"]')
    assert variants.count() == 2
    for model, cost in by_model.items():
        row = page.locator(f'tr.variant[data-variant="{model}"]')
        assert row.locator("td.num").nth(0).inner_text() == fmt_int(calls[model])
        assert row.locator("td.num").nth(2).inner_text() == fmt_cost(float(cost))
    # the exact reported name is one click away: its traces
    act(page, lambda: page.click('tr.variant[data-variant="gpt-4o-mini-2024-07-18"] a'))
    assert "/traces?model=gpt-4o-mini-2024-07-18" in page.url
    assert page.locator("#f-model").input_value() == "gpt-4o-mini-2024-07-18"
    listed = page.locator("tr.trace-row").count()
    expected = sum("gpt-4o-mini-2024-07-18" in t.info.models for t in traces)
    assert listed == min(expected, 50) and expected > 0
    # by model: each reported name is its own group again
    open_page(page, page.base, f"/experiments/{eid}/overview?range=30d&group=model")
    rows = page.locator('[data-testid="cost-by-group"] tbody tr[data-group]')
    groups = {rows.nth(i).get_attribute("data-group") for i in range(rows.count())}
    assert {"gpt-4o-mini", "gpt-4o-mini-2024-07-18"} <= groups
    assert page.locator("tr.variant").count() == 0
