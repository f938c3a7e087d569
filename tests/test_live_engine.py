"""The live engine: ingest, status, advance; restarts, late and out-of-order events.

Runs on SQLite and PostgreSQL. Recipients: ``ops`` gets every notification
(``route_all``), ``lead``/``manager`` the escalations that name them.

Chat ticket created at minute 0 (24x7, 1h target): warning 1 at 30, warning 2 at
48, breach and escalation 1 at 60 (reached from 60:01, the clock must count
*more* than its target), escalation 2 at 180.
"""

from __future__ import annotations

import json
import random

import pytest

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    event,
    key,
    live_policies_fixture,
    postgres_server_fixture,
    reply,
    route_all,
    state_url_fixture,
    store_fixture,
)
from slaengine.live import LiveEngine, Store
from slaengine.live.dispatch import Dispatcher
from slaengine.live.store import CANCELLED, DELIVERED, PENDING


@pytest.fixture
def engine(live_policies, store):
    return LiveEngine(live_policies, store, route_all)


def outbox(engine):
    """{(key, recipient): status}."""
    return {(r.key, r.recipient): r.status for r in engine.store.outbox()}


def live_rows(engine):
    """What the outbox will deliver or has: (key, recipient, due_at, payload) not cancelled."""
    return sorted(
        (r.key, r.recipient, r.due_at, r.payload)
        for r in engine.store.outbox()
        if r.status != CANCELLED
    )


def ops_keys(engine):
    return sorted(k for (k, recipient) in outbox(engine) if recipient == "ops")


def test_ingest_status_advance(engine):
    report = engine.ingest([created("T-1")], at(0))
    assert (report.accepted, report.rejected) == (1, ())
    status = engine.status("T-1", at(20))
    (metric,) = status.metrics
    assert (status.policy, metric.state, metric.due, metric.remaining) == (
        "chat",
        "active",
        at(60),
        40 * 60,
    )
    assert (metric.next_alert.kind, metric.next_alert.level, metric.next_alert.at) == (
        "warning",
        1,
        at(30),
    )
    assert engine.status("nobody", at(20)) is None
    advanced = engine.advance(at(20))
    assert (advanced.evaluated, advanced.notifications, advanced.outbox_rows) == (1, (), 0)
    assert engine.store.next_wake() == at(30)


def test_stepwise_advance_over_a_day_yields_each_notification_once_in_order(engine):
    # T-1 never answered; T-2 answered at 40 (warning 1 only, then achieved);
    # T-3 created at 100, answered at 190 (breached at 160, escalation 2 never).
    engine.ingest(
        [
            created("T-1"),
            created("T-2"),
            reply("T-2", 40),
            created("T-3", 100),
            reply("T-3", 190),
        ],
        at(0),
    )
    seen = []
    for minute in range(0, 24 * 60 + 1):
        for notification in engine.advance(at(minute)).notifications:
            seen.append((minute, notification.key, notification.at))
    assert seen == [
        (30, key("T-1", "warning", 1), at(30)),
        (30, key("T-2", "warning", 1), at(30)),
        (40, key("T-2", "achieved"), at(40)),
        (48, key("T-1", "warning", 2), at(48)),
        # At 60:00 the clock has counted exactly 1h: the breach shows at the next step.
        (61, key("T-1", "breach"), at(60)),
        (61, key("T-1", "escalation", 1), at(60)),
        (130, key("T-3", "warning", 1), at(130)),
        (148, key("T-3", "warning", 2), at(148)),
        (161, key("T-3", "breach"), at(160)),
        (161, key("T-3", "escalation", 1), at(160)),
        (180, key("T-1", "escalation", 2), at(180)),
        # T-3's escalation 2 would be at 280, but its clock stopped at 190.
    ]


def test_restart_gives_the_same_status_and_queues_nothing_twice(live_policies, state_url):
    first = LiveEngine(live_policies, Store.open(state_url), route_all)
    try:
        first.ingest([created("T-1"), created("T-2"), reply("T-2", 40)], at(0))
        queued = first.advance(at(50))
        assert [n.key for n in queued.notifications] == [
            key("T-1", "warning", 1),
            key("T-1", "warning", 2),
            key("T-2", "warning", 1),
            key("T-2", "achieved"),
        ]
        before = [first.status(t, at(50)).to_dict() for t in ("T-1", "T-2")]
        rows_before = first.store.outbox()
        wake_before = first.store.next_wake()
    finally:
        first.store.close()

    second = LiveEngine(live_policies, Store.open(state_url), route_all)
    try:
        assert [second.status(t, at(50)).to_dict() for t in ("T-1", "T-2")] == before
        assert second.store.next_wake() == wake_before == at(60)
        again = second.advance(at(50))
        assert (again.evaluated, again.outbox_rows) == (0, 0)
        assert second.store.outbox() == rows_before
        later = second.advance(at(200))
        assert [n.key for n in later.notifications] == [
            key("T-1", "breach"),
            key("T-1", "escalation", 1),
            key("T-1", "escalation", 2),
        ]
        assert len(second.store.outbox()) == len(rows_before) + 3 + 2  # lead, manager
    finally:
        second.store.close()


EVENTS = [
    created("A"),
    event("A", 10, "status", status="on_hold"),
    event("A", 25, "status", status="open"),
    reply("A", 100),
    created("B", 5, priority="high"),
    event("B", 20, "update", priority="low"),
    reply("B", 50),
    created("C", 2, channel="email"),  # Monday 11:02 Berlin: warning 1 at 32, answered at 40
    reply("C", 40),
]


def _run(engine, batches, now):
    for number, batch in enumerate(batches):
        engine.ingest(batch, at(number))
    engine.advance(now)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_out_of_order_batches_give_the_same_outbox_as_sorted_ingest(
    live_policies, state_url, tmp_path, seed
):
    reference = LiveEngine(live_policies, Store.open(tmp_path / "sorted.db"), route_all)
    shuffled = LiveEngine(live_policies, Store.open(state_url), route_all)
    try:
        _run(reference, [EVENTS], at(600))
        events = EVENTS[:]
        random.Random(seed).shuffle(events)
        _run(shuffled, [events[:3], events[3:5], events[5:]], at(600))
        assert live_rows(shuffled) == live_rows(reference)
        assert outbox(shuffled) == outbox(reference)
        # A: 10 minutes counted, paused 15, due at 75; answered at 100 -> breached.
        assert (key("A", "breach"), "ops") in outbox(reference)
        assert (key("C", "achieved"), "ops") in outbox(reference)
    finally:
        reference.store.close()
        shuffled.store.close()


def test_out_of_order_with_advances_in_between_cancels_what_never_happened(
    live_policies, state_url, tmp_path
):
    # The reply reaches the engine last, after the clock seemed to breach.
    reference = LiveEngine(live_policies, Store.open(tmp_path / "sorted.db"), route_all)
    late = LiveEngine(live_policies, Store.open(state_url), route_all)
    try:
        timeline = [created("T"), event("T", 5, "status", status="open"), reply("T", 55)]
        _run(reference, [timeline], at(240))
        late.ingest(timeline[:1], at(0))
        late.advance(at(70))
        late.ingest(timeline[1:2], at(71))
        late.advance(at(71))
        late.ingest(timeline[2:], at(200))
        late.advance(at(240))
        assert live_rows(late) == live_rows(reference)
        assert {pair for pair, status in outbox(late).items() if status == CANCELLED} == {
            (key("T", "breach"), "ops"),
            (key("T", "escalation", 1), "ops"),
            (key("T", "escalation", 1), "lead"),
        }
    finally:
        reference.store.close()
        late.store.close()


def test_duplicate_event_ids_are_ignored(engine):
    first = reply("T-1", 40)
    engine.ingest([created("T-1"), first], at(0))
    # The same id again, even with another instant: the first one stays.
    engine.ingest([first, {**first, "at": "2025-12-01T10:20:00Z"}], at(41))
    result = engine.evaluate("T-1", at(100))
    assert (result.clocks[0].state, result.clocks[0].stop) == ("achieved", at(40))
    engine.advance(at(100))
    # Answered at 40: warning 1 (30) happened; with the copy at 20 it would not have.
    assert ops_keys(engine) == [key("T-1", "achieved"), key("T-1", "warning", 1)]


def test_late_reply_cancels_an_undelivered_breach(engine):
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(65))
    assert outbox(engine)[(key("T-1", "breach"), "ops")] == PENDING
    delivered = []
    dispatcher = Dispatcher(engine.store, {"ops": delivered.append, "lead": delivered.append})
    # Stamped 55, before the breach; arrives at 66.
    engine.ingest([reply("T-1", 55)], at(66))
    advanced = engine.advance(at(66))
    assert [n.key for n in advanced.notifications] == [key("T-1", "achieved")]
    assert outbox(engine) == {
        (key("T-1", "warning", 1), "ops"): PENDING,
        (key("T-1", "warning", 2), "ops"): PENDING,
        (key("T-1", "breach"), "ops"): CANCELLED,
        (key("T-1", "escalation", 1), "ops"): CANCELLED,
        (key("T-1", "escalation", 1), "lead"): CANCELLED,
        (key("T-1", "achieved"), "ops"): PENDING,
    }
    assert dispatcher.dispatch(at(67)).delivered == 3
    assert dispatcher.dispatch(at(10_000)).delivered == 0
    assert [n.key for n in delivered] == [
        key("T-1", "warning", 1),
        key("T-1", "warning", 2),
        key("T-1", "achieved"),
    ]


def test_late_reply_after_delivery_leaves_the_breach_delivered(engine):
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(65))
    delivered = []
    dispatcher = Dispatcher(engine.store, {"ops": delivered.append, "lead": delivered.append})
    assert dispatcher.dispatch(at(65)).delivered == 5
    engine.ingest([reply("T-1", 55)], at(66))
    engine.advance(at(66))
    assert outbox(engine)[(key("T-1", "breach"), "ops")] == DELIVERED
    assert outbox(engine)[(key("T-1", "escalation", 1), "lead")] == DELIVERED
    dispatcher.dispatch(at(300))
    keys = [n.key for n in delivered]
    assert keys.count(key("T-1", "breach")) == 1
    assert keys[-1] == key("T-1", "achieved")
    assert len(keys) == 6


def test_late_pause_moves_a_warning(engine):
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(50))
    assert outbox(engine)[(key("T-1", "warning", 2), "ops")] == PENDING
    # On hold from 40 to 45 (arriving at 51): 80% is now reached at 48 + 5 = 53.
    engine.ingest(
        [event("T-1", 40, "status", status="on_hold"), event("T-1", 45, "status", status="open")],
        at(51),
    )
    engine.advance(at(51))
    assert outbox(engine)[(key("T-1", "warning", 2), "ops")] == CANCELLED
    assert engine.store.next_wake() == at(53)
    advanced = engine.advance(at(53))
    assert [(n.key, n.at, n.due) for n in advanced.notifications] == [
        (key("T-1", "warning", 2), at(53), at(65))
    ]
    (row,) = [r for r in engine.store.outbox() if r.key == key("T-1", "warning", 2)]
    assert (row.status, row.due_at, row.next_attempt) == (PENDING, at(53), at(53))
    assert json.loads(row.payload)["at"] == "2025-12-01T10:53:00Z"


def test_late_pause_after_a_warning_was_delivered_does_not_resend_it(engine):
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(50))
    sent = []
    Dispatcher(engine.store, {"ops": sent.append}).dispatch(at(50))
    engine.ingest(
        [event("T-1", 40, "status", status="on_hold"), event("T-1", 45, "status", status="open")],
        at(51),
    )
    engine.advance(at(51))
    assert engine.advance(at(53)).notifications == ()
    Dispatcher(engine.store, {"ops": sent.append}).dispatch(at(54))
    assert [n.key for n in sent] == [key("T-1", "warning", 1), key("T-1", "warning", 2)]


def test_bad_events_are_rejected_with_origin_and_reason_and_good_ones_kept(engine):
    report = engine.ingest(
        [
            created("T-1"),
            {"ticket": "T-1", "at": "2025-12-01T10:05:00", "type": "message", "author": "agent"},
            ("feed:7", None, "not valid JSON: Expecting value"),
            ("feed:8", reply("T-1", 20), None),
            {"ticket": "T-1", "at": "2025-12-01T10:06:00Z", "type": "telepathy"},
        ],
        at(30),
    )
    assert report.accepted == 2
    no_offset = "timestamp '2025-12-01T10:05:00' has no UTC offset; add 'Z' or e.g. '+01:00'"
    bad_type = "'type' must be one of created, message, status, update, csat, got 'telepathy'"
    assert [(r.origin, r.problem) for r in report.rejected] == [
        ("<ingest>:2", no_offset),
        ("feed:7", "not valid JSON: Expecting value"),
        ("<ingest>:5", bad_type),
    ]
    assert json.loads(report.rejected[0].payload)["at"] == "2025-12-01T10:05:00"
    assert [(r.origin, r.problem) for r in engine.store.rejects()] == [
        (r.origin, r.problem) for r in reversed(report.rejected)
    ]
    assert [origin for _, _, origin in engine.store.events_of("T-1")] == ["<ingest>:1", "feed:8"]
    assert engine.evaluate("T-1", at(30)).clocks[0].stop == at(20)


def test_events_before_created_are_held_until_it_arrives(engine):
    engine.ingest([reply("T-9", 20)], at(20))
    advanced = engine.advance(at(25))
    assert advanced.evaluated == 1
    assert advanced.notifications == ()
    assert any("T-9" in problem for problem in advanced.problems)
    assert engine.status("T-9", at(25)) is None
    assert engine.store.next_wake() is None
    # 'created' at 0 arrives at 35: the held reply (20) counts, so no warning at 30.
    engine.ingest([created("T-9")], at(35))
    advanced = engine.advance(at(35))
    assert [n.key for n in advanced.notifications] == [key("T-9", "achieved")]
    assert engine.status("T-9", at(35)).metrics[0].state == "achieved"


def test_event_stamped_in_the_future_wakes_the_ticket_then(engine):
    engine.ingest([created("T-1"), reply("T-1", 20)], at(0))
    engine.advance(at(0))
    # The reply counts from 20: the ticket is looked at again then, not at 30.
    assert engine.store.next_wake() == at(20)
    assert engine.status("T-1", at(10)).metrics[0].state == "active"
    advanced = engine.advance(at(20))
    assert [(n.key, n.at) for n in advanced.notifications] == [(key("T-1", "achieved"), at(20))]
    assert engine.store.next_wake() is None
    assert engine.advance(at(60 * 24)).notifications == ()


def test_ticket_created_in_the_future_wakes_at_its_creation(engine):
    engine.ingest([created("T-1", 100)], at(0))
    engine.advance(at(0))
    assert engine.status("T-1", at(0)) is None
    assert engine.store.next_wake() == at(100)
    engine.advance(at(100))
    assert engine.store.next_wake() == at(130)


def test_recipients_without_targets_queue_nothing(live_policies, store):
    # Default routing: only the policy's notify targets (escalations name lead, manager).
    engine = LiveEngine(live_policies, store)
    engine.ingest([created("T-1")], at(0))
    advanced = engine.advance(at(200))
    assert [n.key for n in advanced.notifications] == [
        key("T-1", "escalation", 1),
        key("T-1", "escalation", 2),
    ]
    assert set(outbox(engine)) == {
        (key("T-1", "escalation", 1), "lead"),
        (key("T-1", "escalation", 2), "manager"),
    }


def test_two_postgres_workers_deciding_the_same_ticket(live_policies, postgres_server, monkeypatch):
    postgres_server.reset()
    one = LiveEngine(live_policies, Store.open(postgres_server.url), route_all)
    two = LiveEngine(live_policies, Store.open(postgres_server.url), route_all)
    try:
        one.ingest([created("T-1")], at(0))
        read = one.store._all
        interleaved = []

        def read_then_let_the_other_worker_run(sql, params=()):
            rows = read(sql, params)
            if sql.startswith("SELECT key, recipient, status FROM outbox") and not interleaved:
                interleaved.append(two.advance(at(35)))  # commits warning 1 meanwhile
            return rows

        monkeypatch.setattr(one.store, "_all", read_then_let_the_other_worker_run)
        one.advance(at(35))
        assert [n.key for n in interleaved[0].notifications] == [key("T-1", "warning", 1)]
        assert outbox(one) == {(key("T-1", "warning", 1), "ops"): PENDING}
    finally:
        one.store.close()
        two.store.close()


def test_one_broken_ticket_does_not_stop_the_others(live_policies, store):
    def recipients(notification):
        if notification.ticket == "T-bad":
            raise LookupError("routing table corrupt")
        return ("ops",)

    engine = LiveEngine(live_policies, store, recipients)
    engine.ingest([created("T-bad"), created("T-good")], at(0))
    engine.advance(at(31))
    advanced = engine.advance(at(31))  # nothing due: nothing evaluated, nothing lost
    assert advanced.evaluated == 0
    engine.ingest([reply("T-bad", 40), reply("T-good", 40)], at(41))
    advanced = engine.advance(at(41))
    assert advanced.evaluated == 2
    assert [n.key for n in advanced.notifications] == [key("T-good", "achieved")]
    assert advanced.problems == (
        "ticket 'T-bad' could not be evaluated: LookupError('routing table corrupt')",
    )
    assert ops_keys(engine) == [key("T-good", "achieved"), key("T-good", "warning", 1)]


def test_a_ticket_that_failed_once_is_tried_again_without_a_new_event(live_policies, store):
    faults = ["resolver timed out"]

    def recipients(notification):
        if faults:
            raise TimeoutError(faults.pop())
        return ("ops",)

    engine = LiveEngine(live_policies, store, recipients, broken_retry=600)
    engine.ingest([created("T-1")], at(0))
    failed = engine.advance(at(31))
    assert failed.notifications == ()
    assert failed.problems == (
        "ticket 'T-1' could not be evaluated: TimeoutError('resolver timed out')",
    )
    assert store.next_wake() == at(41)
    assert engine.advance(at(40)).evaluated == 0
    # The fault has passed: the retry ten minutes later queues what was missed.
    again = engine.advance(at(41))
    assert [n.key for n in again.notifications] == [key("T-1", "warning", 1)]
    assert outbox(engine) == {(key("T-1", "warning", 1), "ops"): PENDING}
