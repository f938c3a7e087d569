"""Ingest stores an event once per (ticket, id): repeats are reported, not stored.

Runs on SQLite and PostgreSQL, including the migration that gives the events
stored by earlier versions their ids (and drops the repeats they stored).
"""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    event,
    live_policies_fixture,
    postgres_server_fixture,
    reply,
    restored_logging_fixture,
    route_all,
    state_url_fixture,
    store_fixture,
)
from slaengine.live import LiveEngine, Store
from slaengine.live.engine import ACCEPTED, DUPLICATE, REJECTED
from slaengine.live.schema import MIGRATIONS
from slaengine.live.store import POSTGRES, SQLITE, NewEvent

pytestmark = pytest.mark.usefixtures("restored_logging")


@pytest.fixture
def engine(live_policies, store):
    return LiveEngine(live_policies, store, route_all)


def statuses(report):
    return [outcome.status for outcome in report.outcomes]


def test_reingesting_the_same_events_stores_nothing_new(engine):
    batch = [created("T-1"), reply("T-1", 20), event("T-1", 30, "status", status="solved")]
    first = engine.ingest(batch, at(0))
    assert (first.accepted, first.duplicates) == (3, 0)
    assert statuses(first) == [ACCEPTED] * 3
    again = engine.ingest(batch, at(40))
    assert (again.accepted, again.duplicates, again.rejected) == (0, 3, ())
    assert statuses(again) == [DUPLICATE] * 3
    assert {o.reason for o in again.outcomes} == {"already stored"}
    assert [o.id for o in again.outcomes] == [e["id"] for e in batch]
    assert len(engine.store.events_of("T-1")) == 3
    assert engine.store.counts()["events"] == 3


def test_a_repeat_within_one_batch_is_a_duplicate(engine):
    one = created("T-1")
    report = engine.ingest([one, reply("T-1", 5), one], at(10))
    assert statuses(report) == [ACCEPTED, ACCEPTED, DUPLICATE]
    assert [o.origin for o in report.outcomes] == ["<ingest>:1", "<ingest>:2", "<ingest>:3"]
    assert len(engine.store.events_of("T-1")) == 2


def test_same_id_other_content_keeps_the_stored_event_and_says_so(engine):
    first = reply("T-1", 40)
    engine.ingest([created("T-1"), first], at(0))
    report = engine.ingest([{**first, "at": "2025-12-01T10:20:00Z"}], at(41))
    (outcome,) = report.outcomes
    assert outcome.status == DUPLICATE
    assert "other content" in outcome.reason
    stored = [json.loads(payload) for _, payload, _ in engine.store.events_of("T-1")]
    assert [e["at"] for e in stored if e["id"] == first["id"]] == [first["at"]]


def test_ids_are_scoped_to_their_ticket_and_events_without_id_always_stored(engine):
    a = {**created("T-1"), "id": "same"}
    b = {**created("T-2"), "id": "same"}
    no_id = {k: v for k, v in reply("T-1", 5).items() if k != "id"}
    report = engine.ingest([a, b, no_id, no_id], at(10))
    assert statuses(report) == [ACCEPTED] * 4
    assert len(engine.store.events_of("T-1")) == 3
    assert len(engine.store.events_of("T-2")) == 1


def test_integer_ids_match_their_text(engine):
    engine.ingest([{**created("T-1"), "id": 7}], at(0))
    report = engine.ingest([{**created("T-1"), "id": "7"}], at(1))
    assert statuses(report) == [DUPLICATE]


def test_duplicates_do_not_mark_the_ticket_for_evaluation(engine):
    batch = [created("T-1"), reply("T-1", 5)]
    engine.ingest(batch, at(0))
    engine.advance(at(10))
    assert engine.store.tickets_due(at(10), 10) == []
    engine.ingest(batch, at(11))
    assert engine.store.tickets_due(at(11), 10) == []


def test_rejects_and_duplicates_and_accepted_in_one_batch(engine):
    engine.ingest([created("T-1")], at(0))
    report = engine.ingest(
        [created("T-1") | {"id": "x"}, ("feed:2", None, "not valid JSON"), reply("T-1", 3)], at(5)
    )
    # A second 'created' with a new id is stored (the timeline reports it), not a duplicate.
    assert statuses(report) == [ACCEPTED, REJECTED, ACCEPTED]
    assert report.outcomes[1].reason == "not valid JSON"
    assert report.outcomes[1].origin == "feed:2"


def test_unstorable_text_is_rejected_not_crashing_the_batch(engine):
    report = engine.ingest(
        [
            created("T-\ud800"),
            created("T-nul\x00"),
            created("T-ok"),
        ],
        at(1),
    )
    assert statuses(report) == [REJECTED, REJECTED, ACCEPTED]
    assert "surrogate" in report.outcomes[0].reason
    assert "NUL" in report.outcomes[1].reason
    # The refused events are kept, escaped, in the rejects table.
    kept = engine.store.rejects()
    assert len(kept) == 2
    assert all(r.payload and "T-" in r.payload for r in kept)


def test_two_ingests_at_once_store_each_event_once(live_policies, state_url):
    batch = [created("T-1")] + [reply("T-1", minute) for minute in range(1, 60)]
    results = []

    def feed():
        store = Store.open(state_url)
        try:
            results.append(LiveEngine(live_policies, store).ingest(batch, at(61)))
        finally:
            store.close()

    threads = [threading.Thread(target=feed) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.accepted for r in results) in ([0, 60], [60, 0])
    assert sum(r.duplicates for r in results) == 60
    store = Store.open(state_url)
    try:
        assert len(store.events_of("T-1")) == 60
    finally:
        store.close()


# -- the migration ---------------------------------------------------------------


def _connect(state_url):
    if state_url.startswith("postgresql"):
        import psycopg

        return Store(psycopg.connect(state_url, autocommit=True), POSTGRES, "pg")
    return Store(sqlite3.connect(state_url, isolation_level=None), SQLITE, state_url)


def _version_1(state_url):
    """A database as slaengine left it before event ids: migration 1 only."""
    old = _connect(state_url)
    old._execute(
        "CREATE TABLE schema_version (version INTEGER NOT NULL, description TEXT NOT NULL)"
    )
    version, description, steps = MIGRATIONS[0]
    for step in steps:
        old._execute(step.format(serial=old.dialect.serial))
    old._execute("INSERT INTO schema_version VALUES (?, ?)", (version, description))
    return old


def test_migration_gives_old_events_their_ids_and_drops_stored_repeats(live_policies, state_url):
    old = _version_1(state_url)
    made = created("T-1")
    answer = reply("T-1", 20)
    changed = {**answer, "at": "2025-12-01T10:30:00Z"}
    rows = [
        (made, "a:1"),
        (answer, "a:2"),
        (made, "a:1"),  # the defect: re-ingested, stored again
        (answer, "a:2"),
        (changed, "a:3"),  # same id, other content: kept, without an id
        ({**reply("T-1", 25), "id": 42}, "a:4"),
        ({k: v for k, v in reply("T-1", 26).items() if k != "id"}, "a:5"),
    ]
    for payload, origin in rows:
        old._execute(
            "INSERT INTO events (ticket, at, payload, origin, received) VALUES (?, ?, ?, ?, ?)",
            ("T-1", at(0), json.dumps(payload, sort_keys=True), origin, at(0)),
        )
    old.close()
    store = Store.open(state_url)
    try:
        assert store.schema_version() == MIGRATIONS[-1][0]
        kept = store._all("SELECT origin, event_id FROM events ORDER BY seq")
        assert kept == [
            ("a:1", made["id"]),
            ("a:2", answer["id"]),
            ("a:3", None),
            ("a:4", "42"),
            ("a:5", None),
        ]
        # From now on the stored ids are known: re-ingesting stores nothing.
        report = LiveEngine(live_policies, store).ingest([made, answer, {**made, "id": 42}], at(1))
        assert report.duplicates == 3
    finally:
        store.close()


def test_store_level_add_events_reports_duplicates_in_batch_order(store):
    first = store.add_events(
        [NewEvent("T-1", at(0), "{}", "f:1", "e1"), NewEvent("T-1", at(0), "{}", "f:2", "e1")],
        at(0),
    )
    assert [(d.index, d.same) for d in first] == [(1, True)]
    second = store.add_events(
        [NewEvent("T-1", at(0), '{"x": 1}', "f:3", "e1"), NewEvent("T-1", at(0), "{}", "f:4")],
        at(1),
    )
    assert [(d.index, d.same) for d in second] == [(0, False)]
    assert [origin for _, _, origin in store.events_of("T-1")] == ["f:1", "f:4"]


def test_slaengine_ingest_twice_stores_each_event_once(tmp_path, monkeypatch, capsys):
    from slaengine.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    (tmp_path / "policy.yaml").write_text(
        "policies:\n  - name: chat\n    match: {channel: chat}\n"
        "    metrics:\n      first_response: {targets: 1h}\n",
        encoding="utf-8",
    )
    events = [created("T-1"), reply("T-1", 5), created("T-2", 1)]
    (tmp_path / "events.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in events), encoding="utf-8"
    )
    args = ["ingest", "--state", "state.db", "-p", "policy.yaml", "events.jsonl"]
    assert main(args) == 0
    assert main(args) == 0  # a re-run (say, after a crash) is harmless
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("3 ")
    assert out[1].startswith("0 ")
    store = Store.open(tmp_path / "state.db")
    try:
        assert store.counts()["events"] == 3
    finally:
        store.close()
