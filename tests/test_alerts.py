"""Alert rules, the evaluator, deliveries, digests, spikes and the forecast (issue #16).

Real parts: SQLite files and the PostgreSQL server, a real HTTP webhook receiver and a
Slack-format receiver (``http.server`` threads), a real SMTP server (``aiosmtpd``). Time is
an injected clock (``Evaluator(clock=...)``, or ``LLMLEDGER_ALERTS_NOW_MS`` for a server),
so windows are tested without sleeping. Costs are set by hand on the spans (a hand-set cost
is stored as given), so every expected dollar amount is the sum written in the test."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from llmledger.server.alerts import metrics
from llmledger.server.alerts.channels import Notification, deliver
from llmledger.server.alerts.evaluator import Evaluator
from llmledger.server.alerts.rules import Channel, RuleIn
from llmledger.server.ingest import finish_trace
from llmledger.store.alerts_store import AlertStore
from llmledger.store.sql import SqlTraceStore
from server_process import ServerProcess, free_port

HOUR = 3_600_000
DAY = 24 * HOUR
# Wednesday 2026-12-16 10:30 UTC: mid-month, mid-week, mid-hour
NOW = int(dt.datetime(2026, 12, 16, 10, 30, tzinfo=dt.UTC).timestamp() * 1000)


# -- receivers ------------------------------------------------------------------------------
class Receiver:
    """A real HTTP server recording the JSON bodies POSTed to it; answers ``statuses`` in
    turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[dict] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.bodies.append(json.loads(body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def webhook():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def slack():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def smtp(monkeypatch):
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("LLMLEDGER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LLMLEDGER_SMTP_PORT", str(port))
    monkeypatch.setenv("LLMLEDGER_SMTP_FROM", "alerts@ledger.test")
    yield box
    controller.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return SqlTraceStore(f"sqlite:///{tmp_path / 'alerts.db'}")
    return SqlTraceStore(request.getfixturevalue("postgres_uri"))


@pytest.fixture
def sqlite_store(tmp_path):
    return SqlTraceStore(f"sqlite:///{tmp_path / 'alerts.db'}")


# -- traces ---------------------------------------------------------------------------------
_n = 0


def log(store, at_ms, cost, *, model="gpt-4o-mini", provider="openai", tokens=100,
        experiment="0", tags=None, error=False, user=None):  # fmt: skip
    """Store one trace started at ``at_ms`` with one LLM call costing ``cost`` (hand-set)."""
    global _n
    _n += 1
    tid = f"tr-{_n}-{time.time_ns()}"
    start = at_ms * 1_000_000
    root = {"trace_id": tid, "span_id": "root", "parent_id": None, "name": "agent",
            "span_type": "AGENT", "start_time_ns": start, "end_time_ns": start + 5_000_000,
            "status": "ERROR" if error else "OK", "status_message": "", "attributes": {},
            "events": []}  # fmt: skip
    if user is not None:  # as update_current_trace(user=...) records it
        root["attributes"] = {"llmledger.trace.metadata": {"mlflow.trace.user": user}}
    call = {**root, "span_id": "call", "parent_id": "root", "name": "chat", "span_type": "LLM",
            "status": "OK", "start_time_ns": start + 1_000_000,
            "attributes": {
                "llmledger.llm.model": model, "llmledger.llm.provider": provider,
                "llmledger.chat.tokenUsage": {"input_tokens": tokens, "output_tokens": 0,
                                              "total_tokens": tokens},
                "llmledger.llm.cost": {"input_cost": cost, "output_cost": 0.0,
                                       "total_cost": cost}}}  # fmt: skip
    store.merge_spans([(tid, experiment, tags or {}, [root, call])], finish_trace)
    return tid


def rule(**kw) -> RuleIn:
    kw.setdefault("name", "r")
    kw.setdefault("channels", [{"type": "webhook", "url": "http://127.0.0.1:9/none"}])
    return RuleIn.model_validate(kw)


def add_rule(store, **kw) -> int:
    r = rule(**kw)
    return AlertStore(store).create_rule(r.name, r.model_dump())


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


# -- REST: rules and their validation -------------------------------------------------------
@pytest.fixture
def client(tmp_path):
    from starlette.testclient import TestClient

    from llmledger.server.app import create_app

    with TestClient(create_app(f"sqlite:///{tmp_path / 'rest.db'}")) as c:
        yield c


GOOD = {
    "name": "daily spend",
    "metric": "cost",
    "scope": "experiment",
    "scope_value": "0",
    "window": "day",
    "threshold": 10,
    "channels": [{"type": "webhook", "url": "https://hooks.example/x"}],
}


def test_rules_are_created_listed_replaced_and_deleted(client):
    r = client.post("/api/alerts/rules", json=GOOD)
    assert r.status_code == 201, r.text
    created = r.json()
    rid = created["rule_id"]
    assert created["threshold"] == 10 and created["scope_value"] == "0"
    assert created["state"] == {"firing": False, "value": None, "changed_ms": None,
                                "last_digest_period_ms": None}  # fmt: skip
    assert [x["rule_id"] for x in client.get("/api/alerts/rules").json()["rules"]] == [rid]
    r = client.put(f"/api/alerts/rules/{rid}", json={**GOOD, "threshold": 25.5})
    assert r.status_code == 200 and r.json()["threshold"] == 25.5
    assert client.get(f"/api/alerts/rules/{rid}").json()["threshold"] == 25.5
    assert client.delete(f"/api/alerts/rules/{rid}").json() == {"deleted": rid}
    assert client.get(f"/api/alerts/rules/{rid}").status_code == 404
    assert client.delete(f"/api/alerts/rules/{rid}").status_code == 404
    assert client.put(f"/api/alerts/rules/{rid}", json=GOOD).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric": "latency"}, "metric"),
        ({"scope": "galaxy"}, "scope"),
        ({"window": "year"}, "window"),
        ({"kind": "weird"}, "kind"),
        ({"channels": [{"type": "pager", "url": "https://x"}]}, "channels.0.type"),
        ({"channels": []}, "channels"),
        ({"channels": [{"type": "webhook"}]}, "channels.0.url"),
        ({"channels": [{"type": "slack", "url": "ftp://x"}]}, "channels.0.url"),
        ({"channels": [{"type": "email", "to": "nobody"}]}, "channels.0.to"),
        ({"channels": [{"type": "email", "to": "a@b.c\r\nBcc: x@y.z"}]}, "channels.0.to"),
        ({"scope": "model", "scope_value": None}, "scope_value"),
        ({"scope": "all", "scope_value": "0"}, "scope_value"),
        ({"scope": "tag", "scope_value": "no-equals"}, "scope_value"),
        ({"scope": "experiment", "scope_value": "abc"}, "scope_value"),
        ({"metric": "error_count", "scope": "model", "scope_value": "gpt-4o"}, "scope"),
        ({"threshold": -1}, "threshold"),
        ({"kind": "spike", "k": 1}, "k"),
        ({"kind": "spike", "window": "hour"}, "window"),
        ({"kind": "digest", "scope": "provider", "scope_value": "openai"}, "scope"),
        ({"name": ""}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "a\ud800b"}, "name"),
        ({"scope": "model", "scope_value": "gpt\x00"}, "scope_value"),
        ({"channels": [{"type": "webhook", "url": "https://x/\x00"}]}, "channels.0.url"),
    ],
)
def test_a_bad_rule_is_a_422_naming_the_field(client, change, field):
    body = json.dumps({**GOOD, **change})  # a lone surrogate as JSON's \ud800 escape
    r = client.post("/api/alerts/rules", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    locs = [".".join(str(p) for p in e["loc"][1:]) for e in r.json()["detail"]]
    assert field in locs, locs
    assert client.get("/api/alerts/rules").json()["rules"] == []  # nothing stored


# -- what rules measure -------------------------------------------------------------------------
def test_each_scope_reads_its_part_of_the_rollups(store):
    eid = store.get_or_create_experiment("scoped")
    log(store, NOW - 10 * HOUR, 0.25, model="claude-3-5-sonnet-20241022", provider="anthropic",
        tags={"feature": "search"}, user="u-42", experiment=eid)  # fmt: skip
    log(store, NOW - 2 * HOUR, 0.5, model="gpt-4o-mini", tokens=300, tags={"feature": "chat"})
    log(store, NOW, 1.0, model="gpt-4o", user="u-42", error=True)
    log(store, NOW - 30 * HOUR, 8.0, model="gpt-4o")  # outside a day, inside a month
    e = store.engine

    def value(window="day", **kw):
        return metrics.window_value(e, rule(window=window, **kw), NOW, {"hour": 1, "day": 24,
                                    "month": 720}[window])  # fmt: skip

    assert value() == 1.75
    assert value(window="hour") == 1.0
    assert value(window="month") == 9.75
    assert value(scope="experiment", scope_value=eid) == 0.25
    assert value(scope="experiment", scope_value="0") == 1.5
    assert value(scope="model", scope_value="gpt-4o") == 1.0
    assert value(scope="family", scope_value="claude-3-5-sonnet") == 0.25
    assert value(scope="family", scope_value="gpt-4o") == 1.0  # a family: not gpt-4o-mini
    assert value(scope="provider", scope_value="openai") == 1.5
    assert value(scope="tag", scope_value="feature=search") == 0.25
    assert value(scope="user", scope_value="u-42") == 1.25
    assert value(metric="tokens") == 500
    assert value(metric="tokens", scope="model", scope_value="gpt-4o-mini") == 300
    assert value(metric="error_count") == 1
    assert value(metric="error_count", window="month", scope="experiment", scope_value="0") == 1


# -- firing once, resolving, the three channels ----------------------------------------------
def test_a_breach_fires_once_on_every_channel_and_resolves(store, webhook, slack, smtp):
    rid = add_rule(store, name="daily spend", threshold=1.0, channels=[
        {"type": "webhook", "url": webhook.url}, {"type": "slack", "url": slack.url},
        {"type": "email", "to": "ops@ledger.test"}])  # fmt: skip
    clock = Clock(NOW)
    ev = Evaluator(store, clock=clock)
    log(store, NOW - 5 * HOUR, 0.4)
    assert ev.run_once() == []  # $0.40 is under $1
    log(store, NOW - HOUR, 0.7)
    (note,) = ev.run_once()  # $1.10 over the last day
    assert note.kind == "fired" and note.value == 1.1
    assert ev.run_once() == []  # still over: no second notification
    log(store, NOW, 0.05)
    assert ev.run_once() == []

    (body,) = webhook.bodies
    assert body["rule_id"] == rid and body["state"] == "fired"
    assert body["value"] == 1.1 and body["threshold"] == 1.0 and body["window"] == "day"
    assert slack.bodies == [{"text": "[llmledger] daily spend: cost over the last day is $1.1, "
                             "above the threshold $1 (all experiments)."}]  # fmt: skip
    ((to, mail),) = smtp.messages
    assert to == ["ops@ledger.test"] and mail["From"] == "alerts@ledger.test"
    assert mail["Subject"] == "[llmledger] daily spend"
    assert "cost over the last day is $1.1" in mail.get_payload()
    assert AlertStore(store).rules(rid)[0].value == 1.15  # the value seen last

    clock.now = NOW + 20 * HOUR  # the $0.40 trace left the window: $0.75
    (note,) = ev.run_once()
    assert note.kind == "resolved" and note.value == 0.75
    assert webhook.bodies[-1]["state"] == "resolved"
    assert slack.bodies[-1]["text"].startswith("[llmledger] daily spend resolved: cost over the "
                                               "last day is $0.75, back under $1")  # fmt: skip
    assert len(smtp.messages) == 2
    assert ev.run_once() == []

    history = AlertStore(store).events(rid)
    assert [(h["kind"], h["channel"], h["status"], h["attempts"]) for h in history] == [
        ("resolved", "email", "delivered", 1), ("resolved", "slack", "delivered", 1),
        ("resolved", "webhook", "delivered", 1), ("fired", "email", "delivered", 1),
        ("fired", "slack", "delivered", 1), ("fired", "webhook", "delivered", 1),
    ]  # fmt: skip


def test_two_evaluators_on_one_database_notify_once(sqlite_store, webhook):
    """Even both evaluating at once (no lease: ``evaluate``), the conditional UPDATE lets
    one of them make the transition."""
    add_rule(sqlite_store, threshold=0.5, channels=[{"type": "webhook", "url": webhook.url}])
    log(sqlite_store, NOW, 0.6)
    a = Evaluator(SqlTraceStore(sqlite_store.uri), clock=Clock(NOW))
    b = Evaluator(SqlTraceStore(sqlite_store.uri), clock=Clock(NOW))
    results: list = []
    threads = [threading.Thread(target=lambda e=e: results.append(e.evaluate(NOW))) for e in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(webhook.bodies) == 1


def test_the_lease_is_held_by_one_until_it_expires(store):
    alerts = AlertStore(store)
    assert alerts.take_lease("a", 1_000, 500)
    assert not alerts.take_lease("b", 1_200, 500)
    assert alerts.take_lease("a", 1_400, 500)  # renewed: until 1_900
    assert not alerts.take_lease("b", 1_800, 500)
    assert alerts.take_lease("b", 1_901, 500)  # expired: taken over
    assert not alerts.take_lease("a", 1_950, 500)
    alerts.release_lease("b")
    assert alerts.take_lease("a", 1_960, 500)


def test_an_evaluator_without_the_lease_does_nothing(sqlite_store, webhook):
    add_rule(sqlite_store, threshold=0.5, channels=[{"type": "webhook", "url": webhook.url}])
    log(sqlite_store, NOW, 0.6)
    AlertStore(sqlite_store).take_lease("someone-else", int(time.time() * 1000), 60_000)
    assert Evaluator(sqlite_store, clock=Clock(NOW)).run_once() == []
    assert webhook.bodies == []


# -- failures: retried, recorded, never raised -------------------------------------------------
def test_an_unreachable_webhook_is_retried_then_recorded_as_failed(sqlite_store, slack):
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    rid = add_rule(sqlite_store, threshold=0.5, channels=[
        {"type": "webhook", "url": dead}, {"type": "slack", "url": slack.url}])  # fmt: skip
    log(sqlite_store, NOW, 0.6)
    waits: list[float] = []
    ev = Evaluator(sqlite_store, clock=Clock(NOW), attempts=3, backoff=0.5, sleep=waits.append)
    assert len(ev.run_once()) == 1
    assert waits == [0.5, 1.0]  # back-off doubling between the 3 attempts
    failed, delivered = (
        [h for h in AlertStore(sqlite_store).events(rid) if h["status"] == s]
        for s in ("failed", "delivered")
    )
    assert [(h["channel"], h["attempts"]) for h in failed] == [("webhook", 3)]
    assert "ConnectError" in failed[0]["error"]
    assert [h["channel"] for h in delivered] == ["slack"]  # the other channel still got it
    assert len(slack.bodies) == 1


def test_a_5xx_is_retried_until_delivered_a_4xx_is_not():
    flaky = Receiver(statuses=[503, 500])
    gone = Receiver(statuses=[404])
    note = Notification(1, "r", "fired", 1.0, "s", "m", {"x": 1})
    try:
        got = deliver(Channel(type="webhook", url=flaky.url), note, 4, 0.0)
        assert (got.status, got.attempts, got.error) == ("delivered", 3, None)
        assert flaky.bodies == [{"x": 1}] * 3
        got = deliver(Channel(type="webhook", url=gone.url), note, 4, 0.0)
        assert (got.status, got.attempts) == ("failed", 1)
        assert "HTTP 404" in str(got.error)
    finally:
        flaky.close()
        gone.close()


def test_an_email_subject_is_one_line_whatever_the_rule_name(smtp):
    note = Notification(1, "r", "fired", 1.0, "[llmledger] two\nlines\r\nBcc: x@y.z", "body",
                        {})  # fmt: skip
    got = deliver(Channel(type="email", to="ops@ledger.test"), note, 1, 0.0)
    assert got.status == "delivered", got.error
    ((to, mail),) = smtp.messages
    assert to == ["ops@ledger.test"] and mail["Bcc"] is None
    assert mail["Subject"] == "[llmledger] two lines Bcc: x@y.z"
    assert mail.get_payload().strip() == "body"


def test_email_without_an_smtp_server_is_recorded_as_failed(sqlite_store, monkeypatch):
    monkeypatch.delenv("LLMLEDGER_SMTP_HOST", raising=False)
    rid = add_rule(sqlite_store, threshold=0.5, channels=[{"type": "email", "to": "a@b.c"}])
    log(sqlite_store, NOW, 0.6)
    Evaluator(sqlite_store, clock=Clock(NOW), backoff=0).run_once()
    (h,) = AlertStore(sqlite_store).events(rid)
    assert h["status"] == "failed" and "LLMLEDGER_SMTP_HOST" in h["error"]


# -- spikes -----------------------------------------------------------------------------------
def test_a_spike_fires_when_the_hour_passes_k_times_the_trailing_median(sqlite_store, webhook):
    # the 24 hours before the current one: 13 hours at $1.00, 11 empty (count $0): median $1
    for h in range(1, 14):
        log(sqlite_store, NOW - h * HOUR, 1.0)
    rid = add_rule(sqlite_store, kind="spike", k=3, window="day",
                   channels=[{"type": "webhook", "url": webhook.url}])  # fmt: skip
    clock = Clock(NOW)
    ev = Evaluator(sqlite_store, clock=clock)
    log(sqlite_store, NOW, 2.0)
    assert metrics.spike_values(sqlite_store.engine, rule(kind="spike"), NOW, 24) == (2.0, 1.0)
    assert ev.run_once() == []  # $2 is not above 3 x $1
    log(sqlite_store, NOW, 1.5)  # $3.50 this hour
    (note,) = ev.run_once()
    assert note.kind == "fired" and note.value == 3.5
    assert webhook.bodies[0]["median"] == 1.0 and webhook.bodies[0]["limit"] == 3.0
    assert "above 3x the median hour of the trailing 24 hours ($1)" in note.message
    clock.now = NOW + HOUR  # the next hour has nothing: resolved
    (note,) = ev.run_once()
    assert note.kind == "resolved" and note.value == 0
    assert AlertStore(sqlite_store).rules(rid)[0].firing is False


def test_the_median_counts_empty_hours_and_averages_the_middle_pair():
    assert metrics.median([3.0, 1.0, 2.0]) == 2.0
    assert metrics.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert metrics.median([]) == 0.0


# -- digests ----------------------------------------------------------------------------------
def test_a_daily_digest_is_sent_once_per_day_with_totals_tops_and_change(
    store, webhook, slack, smtp
):
    eid = store.get_or_create_experiment("digested")
    yesterday = NOW - DAY  # 2026-12-15
    log(store, yesterday - 3 * HOUR, 1.5, model="gpt-4o", experiment=eid,
        user="ana")  # fmt: skip
    log(store, yesterday, 0.75, model="gpt-4o-mini", experiment=eid,
        user="bo")  # fmt: skip
    log(store, yesterday + HOUR, 0.25, model="gpt-4o-mini", experiment=eid,
        user="ana")  # fmt: skip
    log(store, yesterday - DAY, 2.0, model="gpt-4o", experiment=eid)  # the day before
    log(store, yesterday, 9.0, model="gpt-4o")  # another experiment
    log(store, NOW, 5.0, model="gpt-4o", experiment=eid)  # today: the next digest
    add_rule(store, name="team digest", kind="digest", period="day", scope="experiment",
             scope_value=eid, channels=[{"type": "webhook", "url": webhook.url},
                                        {"type": "slack", "url": slack.url},
                                        {"type": "email", "to": "team@ledger.test"}])  # fmt: skip
    clock = Clock(NOW)
    ev = Evaluator(store, clock=clock)
    assert len(ev.run_once()) == 1
    assert ev.run_once() == []  # once per day
    (body,) = webhook.bodies
    start = int(dt.datetime(2026, 12, 15, tzinfo=dt.UTC).timestamp() * 1000)
    assert (body["start_ms"], body["end_ms"]) == (start, start + DAY)
    assert body["total_cost"] == 2.5 and body["previous_cost"] == 2.0
    assert body["change_pct"] == 25.0 and body["traces"] == 3
    assert body["top_models"] == [{"model": "gpt-4o", "cost": 1.5},
                                  {"model": "gpt-4o-mini", "cost": 1.0}]  # fmt: skip
    assert body["top_users"] == [{"user": "ana", "cost": 1.75}, {"user": "bo", "cost": 0.75}]
    assert slack.bodies[0]["text"].splitlines() == [
        f"Spend digest for the day starting 2026-12-15 (UTC), experiment {eid}:",
        "Total: $2.5 over 3 traces (previous day: $2, change +25%)",
        "Top models: gpt-4o $1.5, gpt-4o-mini $1",
        "Top users: ana $1.75, bo $0.75",
    ]
    assert smtp.messages[0][1]["Subject"] == "[llmledger] team digest: day digest 2026-12-15"

    clock.now = NOW + DAY  # the 16th has ended: its digest ($5.00, +100%)
    assert len(ev.run_once()) == 1
    assert webhook.bodies[-1]["total_cost"] == 5.0 and webhook.bodies[-1]["change_pct"] == 100.0


def test_weekly_digests_cover_monday_to_monday():
    from llmledger.server.alerts.digest import last_period

    start, end = last_period("week", NOW)  # NOW is Wednesday 2026-12-16
    as_date = lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.UTC)  # noqa: E731
    assert (as_date(start), as_date(end)) == (
        dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 14, tzinfo=dt.UTC),
    )
    assert as_date(start).weekday() == 0


# -- the month-end forecast ---------------------------------------------------------------------
def test_the_forecast_is_month_to_date_plus_the_trailing_daily_mean_times_days_left(store):
    from llmledger.server.alerts.forecast import forecast

    log(store, NOW - 20 * DAY, 100.0)  # November: neither month-to-date nor the last 7 days
    log(store, NOW - 10 * DAY, 3.0)  # Dec 6: month-to-date only
    log(store, NOW - 3 * DAY, 7.0)  # Dec 13: both
    log(store, NOW, 7.0)  # this hour: both
    f = forecast(store.engine, NOW)
    assert f.month_to_date == 17.0 and f.last_7_days == 14.0 and f.daily_mean == 2.0
    # from Dec 16 10:30 to Jan 1 00:00: 15 days 13.5 hours
    assert f.days_left == pytest.approx(15 + 13.5 / 24)
    assert f.projected == pytest.approx(17.0 + 2.0 * (15 + 13.5 / 24))
    assert "days left" in f.formula


def test_the_forecast_endpoint_reads_the_test_clock(tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    from llmledger.server.app import create_app

    uri = f"sqlite:///{tmp_path / 'f.db'}"
    store = SqlTraceStore(uri)
    eid = store.get_or_create_experiment("fc")
    log(store, NOW - DAY, 1.4, experiment=eid)
    log(store, NOW - DAY, 50.0)  # another experiment
    monkeypatch.setenv("LLMLEDGER_ALERTS_NOW_MS", str(NOW))
    with TestClient(create_app(uri)) as c:
        body = c.get("/api/forecast", params={"experiment_id": eid}).json()
        assert c.get("/api/forecast", params={"experiment_id": "x"}).status_code == 400
    assert body["now_ms"] == NOW and body["month_to_date"] == 1.4
    assert body["daily_mean"] == 0.2
    assert body["projected"] == pytest.approx(1.4 + 0.2 * (15 + 13.5 / 24))


# -- the schema -------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0008_upgrades_and_downgrades(backend, tmp_path, request):
    from alembic import command
    from sqlalchemy import inspect

    from llmledger.store.migrate import alembic_config
    from llmledger.store.sql import _engine

    if backend == "sqlite":
        uri = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        uri = request.getfixturevalue("postgres_uri")
    engine = _engine(uri)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")
    assert "alert_rules" not in inspect(engine).get_table_names()
    store = SqlTraceStore(uri)  # upgrades on open
    names = set(inspect(engine).get_table_names())
    assert {"alert_rules", "alert_state", "alert_events", "alert_lease"} <= names
    add_rule(store, threshold=1)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    names = set(inspect(engine).get_table_names())
    assert not names & {"alert_rules", "alert_state", "alert_events", "alert_lease"}
    assert "traces" in names


# -- three server processes, one database: one notification ----------------------------------------
@pytest.mark.slow
def test_a_rule_fires_exactly_once_across_three_servers(
    postgres_uri, webhook, slack, smtp, monkeypatch, tmp_path
):
    monkeypatch.setenv("LLMLEDGER_ALERTS_INTERVAL_SECONDS", "0.2")
    servers = []
    try:
        for i in range(3):
            log_file = tmp_path / f"server{i}.log"
            servers.append(ServerProcess(postgres_uri, None, log=log_file).start())
        api = httpx.Client(base_url=servers[0].url, timeout=30)
        r = api.post("/api/alerts/rules", json={
            "name": "fleet spend", "threshold": 0.5, "window": "hour",
            "channels": [{"type": "webhook", "url": webhook.url},
                         {"type": "slack", "url": slack.url},
                         {"type": "email", "to": "fleet@ledger.test"}]})  # fmt: skip
        assert r.status_code == 201, r.text
        rid = r.json()["rule_id"]
        now_ns = time.time_ns()
        for i, srv in enumerate(servers):  # $0.25 through each server: $0.75 in the hour
            span = {"span_id": "s", "name": "chat", "start_time_ns": now_ns + i,
                    "end_time_ns": now_ns + i + 1000, "attributes": {
                        "llmledger.llm.model": "gpt-4o-mini",
                        "llmledger.llm.cost": {"input_cost": 0.25, "output_cost": 0.0,
                                               "total_cost": 0.25}}}  # fmt: skip
            r = httpx.post(srv.url + "/api/traces", timeout=30,
                           json={"traces": [{"trace_id": f"fleet-{i}", "spans": [span]}]})
            assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(api.get("/api/alerts/history").json()["events"]) >= 3:
                break
            time.sleep(0.1)
        time.sleep(2.0)  # ten more evaluation rounds in each of the three servers
        events = api.get("/api/alerts/history", params={"rule_id": rid}).json()["events"]
        assert sorted((e["kind"], e["channel"], e["status"]) for e in events) == [
            ("fired", "email", "delivered"), ("fired", "slack", "delivered"),
            ("fired", "webhook", "delivered"),
        ]  # fmt: skip
        assert len(webhook.bodies) == 1 and webhook.bodies[0]["value"] == 0.75
        assert len(slack.bodies) == 1 and len(smtp.messages) == 1
        state = servers[2].url + f"/api/alerts/rules/{rid}"
        assert httpx.get(state).json()["state"]["firing"] is True
        api.close()
    finally:
        for s in servers:
            s.stop()


def test_a_served_app_runs_the_evaluator_and_releases_the_lease_at_shutdown(tmp_path):
    from sqlalchemy import select
    from starlette.testclient import TestClient

    from llmledger.server.app import create_app
    from llmledger.store import schema

    uri = f"sqlite:///{tmp_path / 'life.db'}"
    store = SqlTraceStore(uri)

    def lease():
        with store.engine.connect() as conn:
            return conn.execute(select(schema.alert_lease)).first()

    with TestClient(create_app(uri, alerts_interval=0.05)):
        deadline = time.monotonic() + 10
        while lease() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        held = lease()
        assert held is not None and held.expires_ms > time.time() * 1000
    assert lease().expires_ms == 0  # released: another process takes it at once
