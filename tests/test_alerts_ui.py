"""The Alerts page and the forecast card in headless Chromium, against a real server."""

from __future__ import annotations

import os

import pytest

from llmledger.server.alerts.evaluator import Evaluator
from llmledger.server.alerts.forecast import forecast
from llmledger.store.sql import SqlTraceStore
from server_process import ServerProcess, free_port
from test_alerts import NOW, Clock, log
from test_ui import chromium_path, fmt_cost, launch_browser, open_page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    db = tmp_path_factory.mktemp("alerts-ui") / "ui.db"
    uri = f"sqlite:///{db}"
    store = SqlTraceStore(uri)
    eid = store.get_or_create_experiment("alerting")
    log(store, NOW - 10 * 86_400_000, 3.0, experiment=eid)
    log(store, NOW - 3 * 86_400_000, 7.0, experiment=eid)
    log(store, NOW, 7.0, experiment=eid)
    env = {"LLMLEDGER_ALERTS_NOW_MS": str(NOW), "LLMLEDGER_ALERTS_INTERVAL_SECONDS": "0"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        srv = ServerProcess(uri).start()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield srv, store, eid
    srv.stop()


@pytest.fixture(scope="module")
def page(setup):
    from playwright.sync_api import sync_playwright

    if chromium_path() is None:
        pytest.skip("UI tests need Chromium")
    with sync_playwright() as p:
        browser = launch_browser(p)
        pg = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
        pg.set_default_timeout(20_000)
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        yield pg
        browser.close()
        assert errors == []


def test_rules_are_added_shown_rejected_with_the_field_and_deleted(setup, page):
    srv, store, eid = setup
    open_page(page, srv.url, "/alerts")
    assert "No alert rules yet" in page.inner_text("#app")
    page.fill("#rule-name", "ui rule")
    page.select_option("#rule-scope", "experiment")
    page.fill("#rule-scope-value", eid)
    page.fill("#rule-threshold", "2")
    page.fill("#rule-channel-target", "ftp://nowhere")
    page.click("#rule-submit")
    page.wait_for_selector("#rule-error:not(.hidden)")
    assert "Invalid channels.0.url" in page.inner_text("#rule-error")
    dead = f"http://127.0.0.1:{free_port()}/hook"
    page.fill("#rule-channel-target", dead)
    page.click("#rule-submit")
    row = page.wait_for_selector("#alert-rules tbody tr")
    cells = [c.inner_text() for c in row.query_selector_all("td")]
    assert cells[:5] == ["ui rule", "threshold", f"cost over the last day > $2 (experiment {eid})",
                         f"webhook: {dead}", "ok"]  # fmt: skip

    # the evaluator (here in the test process, on the same database) fires to a dead hook
    notes = Evaluator(store, clock=Clock(NOW), attempts=2, backoff=0).run_once()
    assert [n.kind for n in notes] == ["fired"]
    page.reload()
    row = page.wait_for_selector("#alert-history tbody tr")
    cells = [c.inner_text() for c in row.query_selector_all("td")]
    assert cells[1:6] == ["ui rule", "fired", f"webhook: {dead}", "failed", "2"]
    assert "ConnectError" in cells[6]
    assert page.inner_text("#alert-rules tbody tr td:nth-child(5)") == "firing"
    assert page.inner_text("#alert-rules tbody tr td:nth-child(6)") == fmt_cost(7.0)

    page.click("[data-testid=delete-rule]")
    page.wait_for_selector("#alert-rules", state="detached")
    assert "No alert rules yet" in page.inner_text("#app")


def test_the_overview_shows_the_forecast_and_how_it_was_computed(setup, page):
    srv, store, eid = setup
    expected = forecast(store.engine, NOW, [eid])
    assert expected.month_to_date == 17.0 and expected.daily_mean == 2.0
    open_page(page, srv.url, f"/experiments/{eid}/overview")
    value = page.locator("[data-testid=forecast-value]")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=forecast-value]')"
        ".textContent.includes('\u2026')"
    )
    assert value.inner_text() == fmt_cost(expected.projected)
    card = page.locator("[data-testid=forecast]")
    sub = card.locator(".sub").inner_text()
    assert sub == f"MTD {fmt_cost(17.0)} + {fmt_cost(2.0)}/day \u00d7 {expected.days_left:.1f} d"
    title = card.get_attribute("title")
    assert title.startswith(expected.formula)
    terms = f"({fmt_cost(14.0)} \u00f7 7) \u00d7 {expected.days_left:.1f} days"
    assert f"= {fmt_cost(17.0)} + {terms}" in title
