"""The Prices page in headless Chromium against a real server process on SQLite: the
Unpriced models view, one click to the price form, adding a price (and a rejected one),
the dry run's dollar difference per model, then a re-pricing and its audit row.

"acme-llm" is priced by hand in the page: $1 input / $4 output per 1M tokens. Each stored
trace has one call of 1,000 input and 500 output tokens: 1000 x $1/1M + 500 x $4/1M = $0.003,
so the 4 traces move from unpriced ($0) to $0.012.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmledger.store.sql import SqlTraceStore
from server_process import ServerProcess
from test_pricebook import _hours, _ingest
from test_ui import VIEWPORT, chromium_path, launch_browser

pytestmark = pytest.mark.slow  # a server process and Chromium


@pytest.fixture
def server(tmp_path: Path) -> Any:
    uri = f"sqlite:///{tmp_path / 'ui.db'}"
    _ingest(SqlTraceStore(uri), _hours(4))
    srv = ServerProcess(uri, None, log=tmp_path / "server.log").start()
    yield srv
    srv.stop()


def test_prices_page_unpriced_add_price_dry_run_and_reprice(server: Any) -> None:
    from playwright.sync_api import sync_playwright

    if chromium_path() is None:
        pytest.skip("no Chromium")
    with sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/#/")
        page.click("#nav-prices")
        page.wait_for_selector("#app[data-state='ready']")
        row = page.locator("#unpriced-table tr[data-model='acme-llm']")
        assert row.locator("td").nth(2).inner_text() == "4"  # unpriced calls
        assert row.locator("td").nth(3).inner_text() == "4,000"  # input tokens
        row.locator("button.pb-add-price").click()  # one click to the form
        assert page.input_value("#pb-model") == "acme-llm"
        assert page.input_value("#pb-provider") == "acme"
        page.fill("#pb-input", "-1")
        page.click("#pb-add")
        page.wait_for_selector("#pb-form-message .error")
        assert "prices.input" in page.inner_text("#pb-form-message")
        page.fill("#pb-input", "1")
        page.fill("#pb-output", "4")
        page.click("#pb-add")
        page.wait_for_selector("#price-book-table tr[data-price-id]")
        assert "input $1, output $4" in page.inner_text("#price-book-table")
        page.wait_for_selector("#unpriced-table >> text=priced now")
        page.fill("#rp-since", "2025-12-01")
        page.fill("#rp-until", "2026-02-01")
        page.click("#rp-dry")
        page.wait_for_selector("#reprice-models tr[data-model='acme-llm']")
        cells = page.locator("#reprice-models tr[data-model='acme-llm'] td").all_inner_texts()
        assert cells == ["acme-llm", "4", "$0", "$0.012", "0.012"]
        assert page.locator("#reprice-runs tbody tr").count() == 0  # nothing written
        page.click("#rp-run")
        page.wait_for_selector("#reprice-runs tbody tr")
        run = page.locator("#reprice-runs tbody tr").first.all_inner_texts()[0]
        assert "done" in run and "$0.012" in run
        page.wait_for_selector("#unpriced-table >> text=Every model seen in traces has a price.")
        page.fill("#price-lookup-model", "acme-llm")
        page.click("#price-lookup-go")
        # the price was added for provider acme: without a provider there is none (a 404
        # that says so), with it the book's price and where it came from
        page.wait_for_selector("#price-lookup-result >> text=no price for model 'acme-llm'")
        assert "for provider acme only" in page.inner_text("#price-lookup-result")
        page.fill("#price-lookup-provider", "acme")
        page.click("#price-lookup-go")
        page.wait_for_selector("#price-lookup-result >> text=server price book #1")
        assert page.inner_text("#price-lookup-result").splitlines() == [
            "acme-llm · price book · server price book #1",
            "input $1, output $4 per 1M tokens",
        ]
        # change the price in place: Edit fills the form, Save sends it (PUT)
        row = page.locator("#price-book-table tr[data-price-id]")
        assert row.count() == 1
        row.locator("button.pb-edit").click()
        assert page.input_value("#pb-model") == "acme-llm"
        assert page.input_value("#pb-output") == "4"
        page.fill("#pb-output", "5")
        page.fill("#pb-effective-from", "2026-01-01")
        page.click("#pb-add")
        page.wait_for_selector("#pb-form-message >> text=Changed price")
        assert row.count() == 1  # changed, not added
        cells = row.first.locator("td").all_inner_texts()
        assert cells[3] == "2026-01-01 00:00:00" and cells[4] == "input $1, output $5"
        assert page.inner_text("#pb-add") == "Add price"  # the form adds again
        page.fill("#price-lookup-at", "2026-02-01")
        page.click("#price-lookup-go")
        page.wait_for_selector("#price-lookup-result >> text=output $5")
        page.fill("#price-lookup-at", "2025-12-31")  # before the changed price: none
        page.click("#price-lookup-go")
        page.wait_for_selector("#price-lookup-result >> text=no price for model")
        assert errors == []
        browser.close()
