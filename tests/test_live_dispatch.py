"""Delivering the outbox: backoff, dead rows, retries, crash recovery, plugin routing.

One chat ticket created at minute 0 and never answered; advanced to minute 65 it
has reached warning 1 (30), warning 2 (48), the breach and escalation 1 (60).
"""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    key,
    live_policies_fixture,
    postgres_server_fixture,
    state_url_fixture,
    store_fixture,
)
from slaengine.hookspecs import hookimpl
from slaengine.live import Backoff, Dispatcher, LiveEngine, Store
from slaengine.live.recipients import HOOK_PREFIX, plugin_routing
from slaengine.live.store import DEAD, DELIVERED, FAILED, PENDING
from slaengine.plugins import make_plugins


class Flaky:
    """A deliverer that fails its first ``failures`` calls, recording every call."""

    def __init__(self, failures: int = 10**9) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def __call__(self, notification) -> None:
        self.calls.append(notification.key)
        if len(self.calls) <= self.failures:
            raise RuntimeError("receiver down")


def breach_only(notification):
    return ("good", "bad") if notification.kind == "breach" else ()


@pytest.fixture
def engine(live_policies, store):
    return LiveEngine(live_policies, store, breach_only)


def the_row(store, recipient):
    (row,) = [r for r in store.outbox() if r.recipient == recipient]
    return row


@pytest.mark.parametrize(
    ("attempts_made", "expected"),
    [(1, 10), (2, 20), (3, 40), (4, 60), (5, 60), (6, None)],
    ids=["first", "double", "quadruple", "capped", "still-capped", "out-of-attempts"],
)
def test_backoff_doubles_up_to_the_cap(attempts_made, expected):
    backoff = Backoff(first=10, cap=60, attempts=6)
    got = backoff.next_attempt(1000, attempts_made)
    assert got == (None if expected is None else 1000 + expected)


def test_failing_recipient_is_retried_with_backoff_then_dead(engine):
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(65))
    good, bad = Flaky(failures=0), Flaky()
    dispatcher = Dispatcher(
        engine.store, {"good": good, "bad": bad}, Backoff(first=10, cap=30, attempts=5)
    )
    start = at(65)
    # Attempts at start, +10, then +20, +30 (capped), +30: five in all.
    schedule = [start, start + 10, start + 30, start + 60, start + 90]
    next_attempts = []
    for number, when in enumerate(schedule, start=1):
        assert dispatcher.dispatch(when - 1).failed == 0
        report = dispatcher.dispatch(when)
        row = the_row(engine.store, "bad")
        assert row.attempts == number
        assert row.last_error == "RuntimeError: receiver down"
        next_attempts.append(row.next_attempt if row.status == FAILED else row.status)
        if number < 5:
            assert (report.failed, report.dead) == (1, 0)
    assert next_attempts == [start + 10, start + 30, start + 60, start + 90, DEAD]
    assert (report.failed, report.dead) == (0, 1)
    assert len(bad.calls) == 5
    # The other recipient of the same breach was delivered once, at the first pass.
    assert good.calls == [key("T-1", "breach")]
    row = the_row(engine.store, "good")
    assert (row.status, row.delivered, row.attempts) == (DELIVERED, start, 1)
    # Dead rows are not tried again.
    assert dispatcher.dispatch(at(10_000)) == type(report)(0, 0, 0)
    assert len(bad.calls) == 5


def test_dispatch_before_a_row_is_due_does_nothing(engine):
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(65))
    bad = Flaky()
    dispatcher = Dispatcher(engine.store, {"good": Flaky(0), "bad": bad}, Backoff(first=10))
    dispatcher.dispatch(at(65))
    assert dispatcher.dispatch(at(65) + 9).failed == 0
    assert len(bad.calls) == 1
    assert dispatcher.dispatch(at(65) + 10).failed == 1


def test_retry_revives_a_dead_row(engine):
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(65))
    bad = Flaky(failures=2)
    dispatcher = Dispatcher(engine.store, {"good": Flaky(0), "bad": bad}, Backoff(attempts=1))
    assert dispatcher.dispatch(at(65)).dead == 1
    assert the_row(engine.store, "bad").status == DEAD
    assert engine.store.retry(at(70)) == 1
    row = the_row(engine.store, "bad")
    assert (row.status, row.attempts, row.next_attempt) == (PENDING, 0, at(70))
    assert dispatcher.dispatch(at(70)).dead == 1  # fails again, once more out of attempts
    engine.store.retry(at(80), [row.id])
    assert dispatcher.dispatch(at(80)).delivered == 1
    row = the_row(engine.store, "bad")
    assert (row.status, row.delivered, row.last_error) == (DELIVERED, at(80), None)
    assert bad.calls == [key("T-1", "breach")] * 3


def test_unknown_recipient_is_dead_with_a_clear_error(engine):
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(65))
    with capture_logs() as logs:
        report = Dispatcher(engine.store, {"good": Flaky(0)}).dispatch(at(65))
    assert (report.delivered, report.dead) == (1, 1)
    row = the_row(engine.store, "bad")
    assert (row.status, row.attempts) == (DEAD, 1)
    assert row.last_error == "no notifier can deliver to 'bad'"
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["notification undeliverable"]


def test_crash_between_deciding_and_delivering_redelivers_with_the_same_key(
    live_policies, state_url
):
    calls = []

    def crash(notification):
        calls.append(notification.key)
        raise KeyboardInterrupt  # the process dies: not an ordinary delivery failure

    first = LiveEngine(live_policies, Store.open(state_url), breach_only)
    try:
        first.ingest([created("T-1")], at(0))
        first.advance(at(65))
        with pytest.raises(KeyboardInterrupt):
            Dispatcher(first.store, {"good": crash, "bad": crash}, lease=60).dispatch(at(65))
    finally:
        first.store.close()

    store = Store.open(state_url)
    try:
        assert {r.status for r in store.outbox()} == {PENDING}
        delivered = []
        dispatcher = Dispatcher(store, {"good": delivered.append, "bad": delivered.append})
        if store.dialect.name == "sqlite":
            # Both rows stay leased by the dead process until 65:00 + 60 s.
            assert dispatcher.dispatch(at(65) + 59).delivered == 0
            assert dispatcher.dispatch(at(66)).delivered == 2
        else:
            # PostgreSQL knows the claiming connection is gone: free at once.
            assert dispatcher.dispatch(at(65)).delivered == 2
        assert calls == [key("T-1", "breach")] * 2
        assert [n.key for n in delivered] == [key("T-1", "breach")] * 2
        assert {r.recipient: r.status for r in store.outbox()} == {
            "good": DELIVERED,
            "bad": DELIVERED,
        }
    finally:
        store.close()


def test_crashed_rows_are_free_at_once_after_release_leases(live_policies, state_url):
    first = LiveEngine(live_policies, Store.open(state_url), breach_only)
    try:
        first.ingest([created("T-1")], at(0))
        first.advance(at(65))
        assert len(first.store.claim(at(65), 10, 3600)) == 2
    finally:
        first.store.close()
    store = Store.open(state_url)
    try:
        store.release_leases()
        sent = []
        report = Dispatcher(store, {"good": sent.append, "bad": sent.append}).dispatch(at(65))
        assert report.delivered == 2
    finally:
        store.close()


# -- plugins as recipients ----------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.breaches: list[str] = []
        self.warnings: list[str] = []

    @hookimpl
    def slaengine_on_breach(self, notification):
        self.breaches.append(notification.key)

    @hookimpl
    def slaengine_on_warning(self, notification):
        self.warnings.append(notification.key)


class Exploding:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def slaengine_on_breach(self, notification):
        self.calls += 1
        if self.calls < 3:
            raise ConnectionError("pager API unreachable")


class LeadNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    @hookimpl
    def slaengine_register_notifiers(self, register):
        register("lead", "team lead pager", lambda n: self.sent.append((n.kind, n.level)))
        register("manager", "known, but cannot deliver")


def test_plugins_receive_notifications_through_the_outbox(live_policies, store):
    recorder, exploding, lead = Recorder(), Exploding(), LeadNotifier()
    plugins = make_plugins(
        entry_points=False,
        plugins=[("recorder", recorder), ("exploding", exploding), ("pager", lead)],
    )
    routing = plugin_routing(plugins)
    engine = LiveEngine(live_policies, store, routing.recipients)
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(200))
    recipients = {(r.key, r.recipient) for r in store.outbox()}
    assert recipients == {
        (key("T-1", "warning", 1), HOOK_PREFIX + "recorder"),
        (key("T-1", "warning", 2), HOOK_PREFIX + "recorder"),
        (key("T-1", "breach"), HOOK_PREFIX + "recorder"),
        (key("T-1", "breach"), HOOK_PREFIX + "exploding"),
        (key("T-1", "escalation", 1), "lead"),
        (key("T-1", "escalation", 2), "manager"),
    }
    dispatcher = Dispatcher(store, routing.deliverers, Backoff(first=10))
    report = dispatcher.dispatch(at(200))
    # recorder x3 and the lead's page delivered; exploding failed; manager has no deliver.
    assert (report.delivered, report.failed, report.dead) == (4, 1, 1)
    assert recorder.breaches == [key("T-1", "breach")]
    assert recorder.warnings == [key("T-1", "warning", 1), key("T-1", "warning", 2)]
    assert lead.sent == [("escalation", 1)]
    failed = the_row(store, HOOK_PREFIX + "exploding")
    assert (failed.status, failed.next_attempt) == (FAILED, at(200) + 10)
    assert failed.last_error == "ConnectionError: pager API unreachable"
    assert the_row(store, "manager").last_error == "no notifier can deliver to 'manager'"

    assert dispatcher.dispatch(at(200) + 10).failed == 1  # second failure: retry in 20 s
    assert dispatcher.dispatch(at(200) + 30).delivered == 1
    assert exploding.calls == 3
    # The plugin that worked was not called again while the other was retried.
    assert recorder.breaches == [key("T-1", "breach")]
    assert lead.sent == [("escalation", 1)]
    assert the_row(store, HOOK_PREFIX + "exploding").status == DELIVERED
