"""Rejects as dead letters: inspected by page, replayed with a corrected event, pruned by age.

SQLite and PostgreSQL (the ``store`` fixture). Times are minutes after T0
(``live_support``). The HTTP side is in test_serve_rejects.py, the CLI's in
test_live_rejects_cli.py.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from structlog.testing import capture_logs

import slaengine
from live_support import (  # noqa: F401 (fixtures)
    POLICY,
    at,
    created,
    event,
    iso_at,
    key,
    live_policies_fixture,
    postgres_server_fixture,
    reply,
    route_all,
    state_url_fixture,
    store_fixture,
)
from slaengine.live import Dispatcher, LiveEngine
from slaengine.live.eventstore import AlreadyReplayed, Reject, UnknownReject
from slaengine.live.rejects import NothingToReplay, reject_dict, stored_event
from slaengine.live.retention import DAY, Retention, parse_age
from slaengine.live.store import DELIVERED, PENDING, SKIPPED
from slaengine.live.worker import Worker

MAPPED = "statuses:\n  waiting_on_customer: pending\n" + POLICY


def reject_ids(store, **filters):
    return [row.id for row in store.reject_page(**filters)]


def test_a_corrected_event_replaces_its_reject_once(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    bad = {**created("T-1"), "at": "2025-12-01T10:00:00"}  # no UTC offset
    report = engine.ingest([bad], at(1))
    assert len(report.rejected) == 1
    [row] = store.reject_page()
    assert row.replayed is None

    fixed = created("T-1")
    replayed = engine.replay(row.id, [fixed], at(5))

    assert (replayed.accepted, replayed.duplicates, replayed.rejected) == (1, 0, ())
    assert [json.loads(payload)["id"] for _, payload, _ in store.events_of("T-1")] == [fixed["id"]]
    row = store.reject(row.id)
    assert row is not None
    assert row.replayed == at(5)
    assert reject_dict(row)["replayed"] == "2025-12-01T10:05:00Z"
    # The replayed event counts like any other: the breach is queued.
    assert key("T-1", "breach") in {n.key for n in engine.advance(at(61)).notifications}
    with pytest.raises(AlreadyReplayed) as caught:
        engine.replay(row.id, [created("T-1")], at(6))
    assert caught.value.replayed == at(5)
    assert len(store.events_of("T-1")) == 1  # the second replay stored nothing


def test_a_replay_with_a_bad_event_stores_nothing(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest([("feed:3", None, "not valid JSON", b"{oops")], at(1))
    [row] = store.reject_page()

    report = engine.replay(
        row.id, [created("T-2"), {"ticket": "T-2", "type": "telepathy", "at": iso_at(1)}], at(2)
    )

    assert report.accepted == 0
    assert [o.status for o in report.outcomes] == ["not_stored", "rejected"]
    assert "nothing was stored" in (report.outcomes[0].reason or "")
    assert "'type' must be one of" in (report.outcomes[1].reason or "")
    assert store.events_of("T-2") == []
    assert store.counts()["rejects"] == 1  # a refused replay adds no reject
    assert store.reject(row.id).replayed is None
    with pytest.raises(ValueError, match="no events"):
        engine.replay(row.id, [], at(2))


def test_replaying_an_unknown_reject_stores_nothing(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    with pytest.raises(UnknownReject):
        engine.replay(4711, [created("T-3")], at(1))
    assert store.events_of("T-3") == []


def test_the_stored_event_replays_after_a_policy_fix(live_policies, store):
    first = LiveEngine(live_policies, store, route_all)
    status = event("T-4", 10, "status", status="waiting_on_customer")
    first.ingest([created("T-4"), status], at(10))
    [row] = store.reject_page()
    assert "waiting_on_customer" in row.reject.problem

    fixed = LiveEngine(slaengine.loads_policies(MAPPED, "mapped.yaml"), store, route_all)
    report = fixed.replay(row.id, [stored_event(row)], at(20))

    assert report.accepted == 1
    assert len(store.events_of("T-4")) == 2


def test_a_reject_of_unreadable_text_has_no_stored_event(store):
    store.add_events([], at(1), [Reject("f:1", "not valid JSON", None, "{oops", 5)])
    [row] = store.reject_page()
    with pytest.raises(NothingToReplay, match="kept no event"):
        stored_event(row)


def test_reject_pages_newest_first_with_filters(store):
    for minute, origin in enumerate(["POST /events#a", "100%_feed:1", "POST /inbox/zendesk#b"]):
        store.add_events([], at(minute), [Reject(origin, "bad", None)])
    store.add_events([], at(10), [Reject("100%_feed:2", "bad", None)])
    every = reject_ids(store)
    assert every == sorted(every, reverse=True)
    assert len(every) == 4

    assert reject_ids(store, limit=2) == every[:2]
    assert reject_ids(store, limit=2, before=every[1]) == every[2:]
    # An origin prefix is text, not a pattern: % and _ match themselves only.
    assert reject_ids(store, origin="100%_") == [every[0], every[2]]
    assert reject_ids(store, origin="100") == [every[0], every[2]]
    assert reject_ids(store, origin="1_0") == []
    assert reject_ids(store, origin="POST /inbox/") == [every[1]]
    assert reject_ids(store, since=at(1), until=at(10)) == [every[1], every[2]]
    assert reject_ids(store, since=at(10)) == [every[0]]
    assert reject_ids(store, replayed=True) == []
    assert reject_ids(store, replayed=False) == every
    assert store.reject(every[0] + 100) is None


def test_rejects_are_pruned_by_age(store):
    store.add_events([], at(0), [Reject("old", "bad", None)])
    store.add_events([], at(0) + 31 * DAY, [Reject("new", "bad", None)])
    assert store.prune_rejects(at(0) + DAY) == 1
    assert [r.origin for r in store.rejects()] == ["new"]
    assert store.prune_rejects(at(0) + DAY) == 0


def test_pruned_delivered_rows_are_never_sent_again(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest([created("T-5"), created("T-6")], at(0))
    engine.advance(at(61))  # warnings, breach and escalation 1 of both
    sent = []
    deliver = {"ops": sent.append, "lead": sent.append}
    Dispatcher(store, {**deliver, "lead": _refuse}).dispatch(at(62))
    delivered = [r for r in store.outbox(ticket="T-5") if r.status == DELIVERED]
    kept = [r for r in store.outbox(ticket="T-5") if r.status != DELIVERED]
    assert delivered
    assert kept
    everywhere = len(store.outbox(statuses=(DELIVERED,)))

    pruned = store.prune_delivered(at(62) + DAY)

    assert pruned == everywhere == 2 * len(delivered)  # T-5's and T-6's
    assert {r.id for r in store.outbox(ticket="T-5")} == {r.id for r in kept}
    # A late event re-evaluates T-5 from all its events: what was delivered and then
    # pruned is recorded as skipped, not queued and sent a second time.
    engine.ingest([event("T-5", 59, "note")], at(63) + DAY)
    again = engine.advance(at(63) + DAY)
    pruned_pairs = {(r.key, r.recipient) for r in delivered}
    assert not {(n.key, "ops") for n in again.notifications} & pruned_pairs
    statuses = {(r.key, r.recipient): r.status for r in store.outbox(ticket="T-5")}
    assert {statuses[(r.key, r.recipient)] for r in delivered} == {SKIPPED}
    # What comes after the pruned rows (escalation 2, at minute 180) is sent as usual.
    assert key("T-5", "escalation", 2) in {n.key for n in again.notifications if n.ticket == "T-5"}


def _refuse(notification):
    raise RuntimeError("receiver down")


def test_pruning_keeps_recent_and_unsettled_rows(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest([created("T-7")], at(0))
    engine.advance(at(61))
    Dispatcher(store, {"ops": lambda n: None, "lead": lambda n: None}).dispatch(at(62))
    before = store.outbox(ticket="T-7")
    assert {r.status for r in before} == {DELIVERED}
    assert store.prune_delivered(at(62)) == 0  # delivered at 62: not older than 62
    assert len(store.outbox(ticket="T-7")) == len(before)
    store.prune_delivered(at(63))
    assert store.outbox(ticket="T-7") == []


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return float(self.now)


def test_the_worker_prunes_at_most_once_an_hour(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    clock = Clock(at(0) + 40 * DAY)
    worker = Worker(
        engine,
        Dispatcher(store, {}),
        {},
        clock=clock,
        retention=Retention(rejects_days=30, delivered_days=30, every=3600),
    )
    store.add_events([], at(0), [Reject("old", "bad", None)])
    worker.cycle()
    assert store.counts()["rejects"] == 0
    store.add_events([], at(0), [Reject("old again", "bad", None)])
    clock.now += 60
    worker.cycle()
    assert store.counts()["rejects"] == 1  # pruned an hour later, not every cycle
    clock.now += 3600
    worker.cycle()
    assert store.counts()["rejects"] == 0


def test_a_failing_prune_does_not_stop_the_worker(live_policies, store, monkeypatch):
    engine = LiveEngine(live_policies, store, route_all)
    worker = Worker(
        engine, Dispatcher(store, {}), {}, clock=Clock(at(0)), retention=Retention(rejects_days=1)
    )

    def broken(before):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "prune_rejects", broken)
    engine.ingest([created("T-8")], at(0))
    with capture_logs() as logs:
        report = worker.cycle()
        worker.cycle()  # not tried again within the hour
    assert report.evaluated == 1  # the cycle went on
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [e["event"] for e in errors] == ["pruning failed"]
    assert "disk I/O error" in errors[0]["error"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * DAY), ("12h", 12 * 3600), ("1d12h", DAY + 12 * 3600), ("90m", 5400), ("45s", 45)],
)
def test_ages(text, seconds):
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "0d", "abc", "-1d", "36501d", "3w"])
def test_bad_ages(text):
    with pytest.raises(ValueError, match="age"):
        parse_age(text)


def test_pending_rows_are_kept_by_retention(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest([created("T-9")], at(0))
    engine.advance(at(61))
    assert {r.status for r in store.outbox(ticket="T-9")} == {PENDING}
    assert store.prune_delivered(at(0) + 400 * DAY) == 0
