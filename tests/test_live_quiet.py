"""Loading history quietly: notifications before the cut-off are recorded as skipped, not sent.

T-1 (chat, 1h first response) is created at minute 0 and never answered: warnings at
minutes 30 and 48, the breach and escalation 1 at 60, escalation 2 at 180. Loaded as
history at minute 90, everything up to escalation 2 is in the past. SQLite and
PostgreSQL. ``slaengine ingest --quiet-history`` is tested in test_live_cli.py.
"""

from __future__ import annotations

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    key,
    live_policies_fixture,
    postgres_server_fixture,
    reply,
    route_all,
    state_url_fixture,
    store_fixture,
)
from slaengine.live import Dispatcher, LiveEngine
from slaengine.live.store import PENDING, SKIPPED

PAST = (
    key("T-1", "warning", 1),
    key("T-1", "warning", 2),
    key("T-1", "breach"),
    key("T-1", "escalation", 1),
)


def statuses(store, ticket):
    return {(row.key, row.recipient): row.status for row in store.outbox(ticket=ticket)}


def test_history_loaded_quietly_records_past_notifications_as_skipped(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest([created("T-1")], at(90), quiet_before=at(90))
    engine.ingest([created("T-2")], at(90))  # live, not history: told as usual

    report = engine.advance(at(90))

    assert sorted(n.key for n in report.notifications) == sorted(
        k.replace("T-1", "T-2") for k in PAST
    )
    history = statuses(store, "T-1")
    assert {k for k, _ in history} == set(PAST)
    assert set(history.values()) == {SKIPPED}  # kept, so an operator sees what was skipped
    assert ("T-1/first_response/1/escalation/1", "lead") in history  # actions and targets too
    assert set(statuses(store, "T-2").values()) == {PENDING}

    # Nothing skipped is ever sent, nor revived by a retry.
    sent = []
    Dispatcher(store, {"ops": sent.append, "lead": sent.append}).dispatch(at(91))
    assert {n.key for n in sent} == {k.replace("T-1", "T-2") for k in PAST}
    assert store.retry(at(92)) == 0
    assert set(statuses(store, "T-1").values()) == {SKIPPED}

    # What the ticket reaches after the cut-off is sent as usual.
    later = engine.advance(at(181))
    assert [n.key for n in later.notifications if n.ticket == "T-1"] == [
        key("T-1", "escalation", 2)
    ]
    assert statuses(store, "T-1")[(key("T-1", "escalation", 2), "manager")] == PENDING


def test_a_late_event_leaves_skipped_rows_skipped(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest([created("T-1")], at(90), quiet_before=at(90))
    engine.advance(at(90))
    # The reply at minute 20 shows no warning was ever reached: undelivered rows
    # would be cancelled, but a skipped row is settled, like a delivered one.
    engine.ingest([reply("T-1", 20)], at(95))
    engine.advance(at(95))
    assert set(statuses(store, "T-1").values()) == {SKIPPED}


def test_the_latest_cut_off_of_a_ticket_stands(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest([created("T-1")], at(90), quiet_before=at(50))
    # A second load with an earlier cut-off does not make older points news again.
    engine.ingest([reply("T-1", 300)], at(90), quiet_before=at(10))
    report = engine.advance(at(90))
    assert sorted(n.key for n in report.notifications) == sorted(
        [key("T-1", "breach"), key("T-1", "escalation", 1)]
    )
    history = statuses(store, "T-1")
    assert history[(key("T-1", "warning", 2), "ops")] == SKIPPED  # minute 48 < 50


def test_a_quiet_load_does_not_touch_rows_already_queued(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest([created("T-1")], at(40))
    engine.advance(at(40))  # warning 1 (minute 30) queued for a live ticket
    engine.ingest([reply("T-1", 100)], at(90), quiet_before=at(90))
    engine.advance(at(90))
    history = statuses(store, "T-1")
    assert history[(key("T-1", "warning", 1), "ops")] == PENDING
    assert history[(key("T-1", "breach"), "ops")] == SKIPPED
