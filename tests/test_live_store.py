"""The live state database: migrations, atomic event batches, the outbox's row states, leases.

Every test runs on SQLite and on PostgreSQL (see ``live_support.state_url``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest

from live_support import (  # noqa: F401 (fixtures)
    at,
    live_policies_fixture,
    postgres_server_fixture,
    state_url_fixture,
    store_fixture,
)
from slaengine.errors import UserError
from slaengine.live.store import (
    CANCELLED,
    DEAD,
    DELIVERED,
    FAILED,
    LATEST,
    MIGRATIONS,
    PENDING,
    Decision,
    NewEvent,
    Reject,
    Store,
)


def decision(ticket, kind, recipients, level=0, due_at=None, extra=""):
    key = f"{ticket}/first_response/1/{kind}/{level}"
    payload = json.dumps({"key": key, "at": due_at or at(60), "extra": extra})
    return Decision(key, ticket, kind, due_at or at(60), payload, tuple(recipients))


def rows(store, ticket=None):
    """{(key, recipient): row} of the outbox."""
    return {(r.key, r.recipient): r for r in store.outbox(ticket=ticket)}


def statuses(store):
    return {pair: row.status for pair, row in rows(store).items()}


# -- schema ------------------------------------------------------------------------


def test_empty_database_is_migrated_to_latest(state_url):
    opened = Store.open(state_url)
    try:
        assert opened.schema_version() == LATEST == MIGRATIONS[-1][0]
        # Every table of migration 1 answers.
        assert opened.counts() == {"events": 0, "tickets": 0, "rejects": 0}
        assert opened.migrate() == []
    finally:
        opened.close()


def test_reopening_applies_nothing(state_url):
    Store.open(state_url).close()
    reopened = Store.open(state_url)
    try:
        assert reopened.migrate() == []
        assert reopened.schema_version() == LATEST
        versions = reopened._all("SELECT version FROM schema_version ORDER BY version")
        assert [v for (v,) in versions] == [m[0] for m in MIGRATIONS]
    finally:
        reopened.close()


def test_first_migrate_reports_what_it_applied(state_url):
    opened = Store.open(state_url)
    try:
        # Simulate an empty database on the same connection: drop everything, migrate again.
        for table in (
            "schema_version",
            "events",
            "tickets",
            "outbox",
            "cursors",
            "rejects",
            "clocks",
            "spikes",
            "pruned",
        ):
            opened._execute(f"DROP TABLE {table}")
        assert opened.schema_version() == 0
        assert opened.migrate() == [m[0] for m in MIGRATIONS]
    finally:
        opened.close()


class RecordingStore(Store):
    """A Store that remembers every connection it was given, to check they get closed."""

    connections: ClassVar[list[Any]] = []

    def __init__(self, connection, dialect, location):
        super().__init__(connection, dialect, location)
        RecordingStore.connections.append(connection)


def _is_closed(connection) -> bool:
    if isinstance(connection, sqlite3.Connection):
        try:
            connection.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(connection.closed)


def _future_schema(state_url):
    opened = Store.open(state_url)
    opened._execute(
        "INSERT INTO schema_version (version, description) VALUES (?, ?)", (LATEST + 1, "future")
    )
    opened.close()


def test_newer_schema_is_refused(state_url, monkeypatch):
    _future_schema(state_url)
    monkeypatch.setattr(RecordingStore, "connections", [])
    try:
        with pytest.raises(UserError, match=rf"version {LATEST + 1} is newer .*\({LATEST}\)"):
            RecordingStore.open(state_url)
    finally:
        for connection in RecordingStore.connections:
            connection.close()


def _assert_refused_and_closed(url, monkeypatch, error, match=None):
    """``Store.open(url)`` raises ``error`` and has closed the one connection it made."""
    monkeypatch.setattr(RecordingStore, "connections", [])
    try:
        with pytest.raises(error, match=match):
            RecordingStore.open(url)
        (connection,) = RecordingStore.connections
        assert _is_closed(connection)
    finally:
        for connection in RecordingStore.connections:
            connection.close()


def test_refused_open_closes_its_connection(state_url, monkeypatch):
    _future_schema(state_url)
    _assert_refused_and_closed(state_url, monkeypatch, UserError)


def _foreign_database(state_url, *statements):
    """Make ``state_url`` another application's database: its tables, no slaengine schema."""
    if state_url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(state_url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    with contextlib.closing(sqlite3.connect(state_url)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def _schema(state_url) -> list[tuple[Any, ...]]:
    if state_url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(state_url, autocommit=True) as conn:
            return sorted(
                conn.execute(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = current_schema()"
                ).fetchall()
            )
    with contextlib.closing(sqlite3.connect(state_url)) as conn:
        return sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall())


FOREIGN = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
    # A table slaengine's first migration also creates: it must not be the first clash found.
    "CREATE TABLE cursors (source TEXT, position TEXT)",
    "INSERT INTO users (id, name) VALUES (1, 'ada')",
)


@pytest.mark.parametrize(
    "version_table",
    [
        None,
        # Another tool's schema_version (more columns than slaengine's) is no marker.
        "CREATE TABLE schema_version (installed_rank INTEGER, version TEXT, "
        "description TEXT, script TEXT)",
    ],
)
def test_foreign_database_is_refused_untouched_and_closed(state_url, monkeypatch, version_table):
    _foreign_database(state_url, *FOREIGN, *([version_table] if version_table else []))
    before = _schema(state_url)
    if not state_url.startswith("postgresql://"):
        content = Path(state_url).read_bytes()
    refused = r"cannot be used as a slaengine state \(another .* tables, cursors, .*users, and"
    _assert_refused_and_closed(state_url, monkeypatch, UserError, refused)
    assert _schema(state_url) == before
    if not state_url.startswith("postgresql://"):
        # Not even the journal mode (WAL rewrites the header): the file is byte for byte the same.
        assert Path(state_url).read_bytes() == content


def test_shared_database_takes_the_state_beside_its_own_tables(state_url):
    _foreign_database(state_url, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    opened = Store.open(state_url, shared=True)
    try:
        assert opened.schema_version() == LATEST
        assert opened._all("SELECT COUNT(*) FROM users") == [(0,)]
    finally:
        opened.close()
    # From now on it is a slaengine state: opening needs no word.
    Store.open(state_url).close()


def test_file_that_is_no_database_is_closed_and_left_alone(tmp_path, monkeypatch):
    path = tmp_path / "notes.db"
    path.write_text("not a database, " * 100, encoding="utf-8")
    _assert_refused_and_closed(path, monkeypatch, sqlite3.DatabaseError, "not a database")
    assert path.read_text(encoding="utf-8") == "not a database, " * 100


def test_empty_sqlite_file_becomes_a_state(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    opened = Store.open(path)
    try:
        assert opened.schema_version() == LATEST
    finally:
        opened.close()


def test_missing_sqlite_directory_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        Store.open(tmp_path / "nowhere" / "state.db")


def test_sqlite_url_forms(tmp_path):
    for url in (f"sqlite:///{tmp_path}/a.db", ":memory:"):
        opened = Store.open(url)
        try:
            assert opened.schema_version() == LATEST
        finally:
            opened.close()
    assert (tmp_path / "a.db").is_file()


# -- events, rejects, cursors ---------------------------------------------------------


def test_add_events_stores_events_rejects_and_cursor(store):
    store.add_events(
        [NewEvent("T-1", at(0), '{"a": 1}', "f:1"), NewEvent("T-2", at(1), '{"b": 2}', "f:2")],
        at(5),
        [Reject("f:3", "not JSON", None)],
        ("src", "3"),
    )
    store.add_events([NewEvent("T-1", at(2), '{"c": 3}', "f:4")], at(6), cursor=("src", "4"))
    assert store.events_of("T-1") == [(1, '{"a": 1}', "f:1"), (3, '{"c": 3}', "f:4")]
    assert store.cursor("src") == "4"
    assert store.cursor("other") is None
    assert store.rejects() == [Reject("f:3", "not JSON", None)]
    assert store.counts() == {"events": 3, "tickets": 2, "rejects": 1}
    # New events mark their tickets for evaluation, whatever their wake.
    assert store.tickets_due(at(0), 10) == ["T-1", "T-2"]


def test_add_events_is_all_or_nothing(store):
    store.add_events([NewEvent("T-1", at(0), "{}", "f:1")], at(1), cursor=("src", "1"))
    # The reject's payload cannot be stored: the transaction fails after the events
    # were inserted; neither they, their ticket marks nor the cursor may remain.
    broken = Reject("f:3", "bad", object())  # type: ignore[arg-type]
    store.save_evaluations([("T-1", at(100), "chat", [])], at(1))
    with pytest.raises(Exception, match=r"(?i)type|adapt|dump"):
        store.add_events(
            [NewEvent("T-1", at(2), "{}", "f:2"), NewEvent("T-9", at(2), "{}", "f:2b")],
            at(2),
            [broken],
            ("src", "3"),
        )
    assert store.cursor("src") == "1"
    assert [seq for seq, _, _ in store.events_of("T-1")] == [1]
    assert store.events_of("T-9") == []
    assert store.counts() == {"events": 1, "tickets": 1, "rejects": 0}
    assert store.tickets_due(at(2), 10) == []
    # The store is usable afterwards.
    store.add_events([NewEvent("T-1", at(3), "{}", "f:3")], at(3), cursor=("src", "3"))
    assert store.cursor("src") == "3"


def test_rejects_newest_first_with_limit(store):
    for number in range(5):
        store.add_events([], at(number), [Reject(f"f:{number}", f"problem {number}", "x")])
    assert [r.origin for r in store.rejects(limit=3)] == ["f:4", "f:3", "f:2"]


# -- tickets -------------------------------------------------------------------------


def test_wake_schedules_a_ticket(store):
    store.add_events([NewEvent("T-1", at(0), "{}", "f:1")], at(0))
    store.save_evaluations([("T-1", at(30), "chat", [])], at(0))
    assert store.tickets_due(at(30) - 1, 10) == []
    assert store.tickets_due(at(30), 10) == ["T-1"]
    assert store.next_wake() == at(30)
    store.save_evaluations([("T-1", None, "chat", [])], at(30))
    assert store.next_wake() is None
    assert store.tickets_due(at(10_000), 10) == []


def test_tickets_due_respects_the_limit_in_ticket_order(store):
    store.add_events([NewEvent(f"T-{n}", at(0), "{}", "f") for n in (3, 1, 2)], at(0))
    assert store.tickets_due(at(0), 2) == ["T-1", "T-2"]


# -- save_evaluations: the outbox's insert / keep / cancel / revive ---------------------


def test_new_decisions_add_one_pending_row_per_recipient(store):
    breach = decision("T-1", "breach", ["ops", "lead"])
    added = store.save_evaluations([("T-1", at(180), "chat", [breach])], at(61))
    assert added == [(breach, "ops"), (breach, "lead")]
    got = rows(store)
    assert set(got) == {(breach.key, "ops"), (breach.key, "lead")}
    row = got[(breach.key, "ops")]
    assert (row.status, row.attempts, row.next_attempt, row.created, row.delivered) == (
        PENDING,
        0,
        at(61),
        at(61),
        None,
    )
    assert (row.ticket, row.kind, row.due_at, row.payload) == (
        "T-1",
        "breach",
        at(60),
        breach.payload,
    )


def test_deciding_again_adds_nothing_and_refreshes_the_payload(store):
    first = decision("T-1", "warning", ["ops"], level=1, due_at=at(30))
    store.save_evaluations([("T-1", None, "chat", [first])], at(30))
    moved = decision("T-1", "warning", ["ops"], level=1, due_at=at(35), extra="moved")
    assert store.save_evaluations([("T-1", None, "chat", [moved])], at(40)) == []
    (row,) = store.outbox()
    assert (row.status, row.due_at, row.payload, row.next_attempt) == (
        PENDING,
        at(35),
        moved.payload,
        at(30),
    )


def test_undelivered_rows_no_longer_reached_are_cancelled_and_delivered_ones_kept(store):
    warning = decision("T-1", "warning", ["ops"], level=1, due_at=at(30))
    breach = decision("T-1", "breach", ["ops", "lead"])
    store.save_evaluations([("T-1", None, "chat", [warning, breach])], at(61))
    by_pair = rows(store)
    store.mark_delivered(by_pair[(breach.key, "lead")].id, at(62))
    failed = by_pair[(breach.key, "ops")]
    store.mark_failed(failed.id, "boom", at(70))
    # A late reply: only the warning is still reached.
    assert store.save_evaluations([("T-1", None, "chat", [warning])], at(63)) == []
    assert statuses(store) == {
        (warning.key, "ops"): PENDING,
        (breach.key, "ops"): CANCELLED,
        (breach.key, "lead"): DELIVERED,
    }
    # Cancelled rows are never claimed.
    assert [r.key for r in store.claim(at(100), 10, 60)] == [warning.key]


def test_cancelled_row_is_revived_when_reached_again(store):
    warning = decision("T-1", "warning", ["ops"], level=2, due_at=at(48))
    store.save_evaluations([("T-1", None, "chat", [warning])], at(50))
    store.save_evaluations([("T-1", at(53), "chat", [])], at(51))
    assert statuses(store) == {(warning.key, "ops"): CANCELLED}
    later = decision("T-1", "warning", ["ops"], level=2, due_at=at(53), extra="later")
    added = store.save_evaluations([("T-1", None, "chat", [later])], at(53))
    assert added == [(later, "ops")]
    (row,) = store.outbox()
    assert (row.status, row.due_at, row.payload, row.next_attempt) == (
        PENDING,
        at(53),
        later.payload,
        at(53),
    )


def test_ticket_that_could_not_be_evaluated_keeps_its_rows(store):
    breach = decision("T-1", "breach", ["ops"])
    store.add_events([NewEvent("T-1", at(0), "{}", "f")], at(0))
    store.save_evaluations([("T-1", at(180), "chat", [breach])], at(61))
    store.add_events([NewEvent("T-1", at(62), "{}", "f")], at(62))
    store.save_evaluations([("T-1", at(999), "chat", None)], at(62))
    assert statuses(store) == {(breach.key, "ops"): PENDING}
    # Not dirty; looked at again at the wake it was given (or with its next event).
    assert store.tickets_due(at(998), 10) == []
    assert store.tickets_due(at(999), 10) == ["T-1"]


def test_rows_of_other_tickets_are_left_alone(store):
    one = decision("T-1", "breach", ["ops"])
    two = decision("T-2", "breach", ["ops"])
    store.save_evaluations([("T-1", None, "c", [one]), ("T-2", None, "c", [two])], at(61))
    store.save_evaluations([("T-1", None, "c", [])], at(62))
    assert statuses(store) == {(one.key, "ops"): CANCELLED, (two.key, "ops"): PENDING}


def test_dead_row_no_longer_reached_is_not_revived_by_retry(store):
    breach = decision("T-1", "breach", ["ops"])
    store.save_evaluations([("T-1", None, "chat", [breach])], at(61))
    (row,) = store.outbox()
    store.mark_failed(row.id, "down", None)
    store.save_evaluations([("T-1", None, "chat", [])], at(70))  # a late reply
    assert store.retry(at(80)) == 0
    assert store.claim(at(80), 10, 60) == []


def test_row_cancelled_during_delivery_stays_cancelled_when_that_delivery_fails(store):
    breach = decision("T-1", "breach", ["ops"])
    store.save_evaluations([("T-1", None, "chat", [breach])], at(61))
    (claimed,) = store.claim(at(61), 10, 60)
    store.save_evaluations([("T-1", None, "chat", [])], at(62))  # late reply, meanwhile
    store.mark_failed(claimed.id, "timeout", at(71))
    assert statuses(store) == {(breach.key, "ops"): CANCELLED}


# -- claiming, leases, failures, retries ---------------------------------------------


def test_claim_takes_ready_rows_and_leases_them(store):
    early = decision("T-1", "warning", ["ops"], level=1, due_at=at(30))
    store.save_evaluations([("T-1", None, "chat", [early])], at(30))
    late = decision("T-2", "warning", ["ops"], level=1, due_at=at(40))
    store.save_evaluations([("T-2", None, "chat", [late])], at(40))
    hour = 3600
    # Only rows whose next attempt has come.
    assert [r.key for r in store.claim(at(35), 10, hour)] == [early.key]
    # Leased until minute 35+60 = 95: not handed out again before that.
    assert [r.key for r in store.claim(at(40), 10, hour)] == [late.key]
    assert store.claim(at(95) - 1, 10, hour) == []
    assert [r.key for r in store.claim(at(95), 10, hour)] == [early.key]
    assert [r.key for r in store.claim(at(100), 10, hour)] == [late.key]


def test_claim_limit_takes_oldest_first(store):
    for minute in (30, 10, 20):
        d = decision(f"T-{minute}", "warning", ["ops"], level=1, due_at=at(minute))
        store.save_evaluations([(f"T-{minute}", None, "c", [d])], at(minute))
    assert [r.ticket for r in store.claim(at(60), 2, 60)] == ["T-10", "T-20"]


def test_release_leases_frees_claimed_rows(store):
    d = decision("T-1", "breach", ["ops", "lead"])
    store.save_evaluations([("T-1", None, "chat", [d])], at(61))
    assert len(store.claim(at(61), 10, 600)) == 2
    assert store.claim(at(62), 10, 600) == []
    assert store.release_leases() == 2
    assert len(store.claim(at(62), 10, 600)) == 2


def test_mark_delivered_failed_dead_and_retry(store):
    d = decision("T-1", "breach", ["a", "b", "c"])
    store.save_evaluations([("T-1", None, "chat", [d])], at(61))
    ids = {r.recipient: r.id for r in store.claim(at(61), 10, 60)}
    store.mark_delivered(ids["a"], at(62))
    store.mark_failed(ids["b"], "HTTP 503", at(72))
    store.mark_failed(ids["c"], "x" * 5000, None)
    got = {r.recipient: r for r in store.outbox()}
    assert (got["a"].status, got["a"].attempts, got["a"].delivered) == (DELIVERED, 1, at(62))
    assert (got["b"].status, got["b"].attempts, got["b"].next_attempt, got["b"].last_error) == (
        FAILED,
        1,
        at(72),
        "HTTP 503",
    )
    assert (got["c"].status, got["c"].attempts, len(got["c"].last_error)) == (DEAD, 1, 2000)
    assert store.counts()["outbox.delivered"] == 1
    assert [r.recipient for r in store.outbox([FAILED, DEAD])] == ["b", "c"]
    # The failed row is not ready before 72, the dead one never.
    assert store.claim(at(71), 10, 60) == []
    assert [r.recipient for r in store.claim(at(72), 10, 60)] == ["b"]

    # retry() without ids revives dead rows only, from now, with fresh attempts.
    assert store.retry(at(80)) == 1
    got = {r.recipient: r for r in store.outbox()}
    assert (got["c"].status, got["c"].attempts, got["c"].next_attempt) == (PENDING, 0, at(80))
    # retry(ids) takes failed or dead rows; delivered ones are not sent again.
    assert store.retry(at(90), [ids["a"], ids["b"]]) == 1
    got = {r.recipient: r for r in store.outbox()}
    assert (got["a"].status, got["b"].status, got["b"].next_attempt) == (
        DELIVERED,
        PENDING,
        at(90),
    )


def test_outbox_filters(store):
    store.save_evaluations([("T-1", None, "c", [decision("T-1", "breach", ["ops"])])], at(61))
    store.save_evaluations([("T-2", None, "c", [decision("T-2", "breach", ["ops"])])], at(61))
    (first,) = store.outbox(ticket="T-1")
    store.mark_delivered(first.id, at(62))
    assert [r.ticket for r in store.outbox([PENDING])] == ["T-2"]
    assert [r.ticket for r in store.outbox([DELIVERED], ticket="T-2")] == []
    assert [r.ticket for r in store.outbox(limit=1)] == ["T-1"]
