"""The span detail shows the whole bill: units, and the provider-reported cost beside the
computed one with the difference (headless Chromium against a real tracking server)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

import llmledger
from llmledger import config
from llmledger.attributes import SpanAttributeKey as K
from llmledger.attributes import SpanType
from server_process import ServerProcess
from test_ui import browser, fmt_cost, open_page, page  # noqa: F401

pytestmark = pytest.mark.slow


def record(db: Path) -> dict:
    previous = config.get_tracking_uri()
    uri = f"sqlite:///{db}"
    llmledger.set_tracking_uri(uri)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            llmledger.set_experiment("bill")
            with llmledger.start_span("search", SpanType.CHAT_MODEL) as span:
                span.set_attribute(K.MODEL, "claude-sonnet-4-5")
                usage = {"input_tokens": 2000, "output_tokens": 300, "web_search_requests": 2}
                span.set_attribute(K.TOKEN_USAGE, usage)
                span.set_attribute(K.PROVIDER_COST, 0.03)  # what the provider said
            trace_id = span.trace_id
        llmledger.flush()
        trace = llmledger.get_trace(trace_id)
    finally:
        config.set_experiment_id(None)
        llmledger.set_tracking_uri(previous)
    return {"uri": uri, "trace_id": trace_id, "trace": trace}


@pytest.fixture(scope="module")
def ui_data(tmp_path_factory):
    return record(tmp_path_factory.mktemp("bill") / "bill.db")


@pytest.fixture(scope="module")
def ui_server(ui_data, tmp_path_factory):
    log = tmp_path_factory.mktemp("bill-log") / "server.log"
    srv = ServerProcess(ui_data["uri"], None, log=log).start()
    yield srv
    srv.stop()


def test_span_detail_shows_units_and_the_provider_cost_difference(page, ui_data):  # noqa: F811
    trace = ui_data["trace"]
    span = trace.data.spans[0]
    # claude-sonnet-4-5: 2000 * $3/M + 300 * $15/M + 2 searches * $0.01 = $0.0305
    assert span.llm_cost["total_cost"] == 0.0305
    open_page(page, page.base, f"/traces/{ui_data['trace_id']}")
    page.click(f'.wf-row[data-span-id="{span.span_id}"]')
    details = page.locator("#span-details")
    row = details.locator('[data-testid="span-cost"] tr[data-key="web_search_cost"]')
    assert row.locator("td").nth(0).inner_text() == "Web searches"
    assert row.locator("td.num").inner_text() == fmt_cost(0.02)
    usage = details.locator('[data-testid="span-usage"] tr[data-key="web_search_requests"]')
    assert usage.locator("td.num").inner_text() == "2"
    note = details.locator('[data-testid="provider-cost"]').inner_text()
    assert note == (
        f"Provider reported {fmt_cost(0.03)}; computed {fmt_cost(0.0305)}; "
        f"difference +{fmt_cost(0.0005)} (computed - reported)."
    )
