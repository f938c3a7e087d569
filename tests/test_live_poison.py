"""Poison input in the live worker: a line no database takes is quarantined, the rest goes on.

Each case is a line that once crashed or stalled the worker for good (a restart
re-read the same cursor): a lone surrogate, a NUL in a ticket id (PostgreSQL),
a 5,000-digit integer, JSON nested 100,000 deep, bytes that are not UTF-8. The
source here is the bundled jsonl reader on a real file; the state is SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import stat

import pytest

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    key,
    live_policies_fixture,
    postgres_server_fixture,
    route_all,
    state_url_fixture,
    store_fixture,
)
from slaengine.errors import UserError
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.store import Reject
from slaengine.live.text import RAW_LIMIT, escape_controls, redact_url_secrets, storable
from slaengine.live.worker import Worker

jsonl = pytest.importorskip("slaengine_jsonl.reader", reason="the jsonl plugin is not installed")

POISON = [
    ('{"id": "p1", "ticket": "T-\\ud800", "type": "created", "at": "2025-12-01"}', "E401"),
    (
        json.dumps(created("T-\x00", channel="chat")),  # json.dumps writes the NUL as \u0000
        "ticket id contains a NUL character",
    ),
    ('{"id": "p3", "n": ' + "9" * 5000 + "}", "E401 not usable JSON"),
    ('{"id": "p4", "deep": ' + "[" * 100_000 + "]" * 100_000 + "}", "E401 not usable JSON"),
]


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


def test_poison_lines_are_quarantined_and_every_valid_event_around_them_is_served(
    live_policies, store, tmp_path
):
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(created("T-0"))]
    for n, (line, _) in enumerate(POISON, start=1):
        lines += [line, json.dumps(created(f"T-{n}"))]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"ticket": "caf\xe9"}\n')
    sent = []
    worker = Worker(
        LiveEngine(live_policies, store, route_all),
        Dispatcher(store, {"ops": sent.append, "lead": sent.append}),
        {"desk": jsonl.JsonlSource("desk", path)},
        clock=Clock(at(61)),
    )

    report = worker.cycle()

    assert (report.ingested, report.rejected) == (5, 5)
    rejects = {r.origin: r.problem for r in store.rejects()}
    expected = {f"{path}:{2 * n}": problem for n, (_, problem) in enumerate(POISON, start=1)}
    expected[f"{path}:10"] = "E401 not valid UTF-8"
    assert set(rejects) == set(expected)
    for origin, problem in expected.items():
        assert rejects[origin].startswith(problem), (origin, rejects[origin])
    # A line the reader could not use is kept as written (cut past RAW_LIMIT, its size kept).
    kept = {r.origin: r for r in store.rejects()}
    for n in (1, 3, 4):
        line = POISON[n - 1][0]
        assert kept[f"{path}:{2 * n}"].raw == line[:RAW_LIMIT]
        assert kept[f"{path}:{2 * n}"].raw_size == len(line)
    assert kept[f"{path}:4"].raw is None  # read, then refused: its JSON is the payload
    assert "ticket" in (kept[f"{path}:4"].payload or "")
    assert kept[f"{path}:10"].raw == '{"ticket": "caf\\xe9"}'
    # Every valid ticket was stored and reached its breach; the cursor is past the file.
    assert sorted(k for n in sent if (k := n.key).endswith("/breach/0")) == sorted(
        key(f"T-{n}", "breach") for n in range(5)
    )
    assert json.loads(store.cursor("desk") or "{}")["line"] == 10
    again = worker.cycle()
    assert (again.ingested, again.rejected) == (0, 0)


def test_embedded_ingest_rejects_what_no_database_stores(live_policies, store):
    engine = LiveEngine(live_policies, store)
    report = engine.ingest(
        [
            created("T-1"),
            created("T-\x00"),
            created("T-\udcff"),
            created("T-2", note="\ud800 in a field"),
            created("T-3", n=10**5000),  # has no JSON (nor repr) text
            created("T-4", note="a NUL \x00 in a field is stored as JSON's \\u0000"),
        ],
        at(1),
    )
    assert report.accepted == 2
    assert [r.problem for r in report.rejected] == [
        "ticket id contains a NUL character",
        "not valid Unicode: a lone surrogate (an unpaired \\ud800-\\udfff)",
        "not valid Unicode: a lone surrogate (an unpaired \\ud800-\\udfff)",
        "cannot be written as JSON",
    ]
    assert store.counts()["rejects"] == 4
    (stored,) = [payload for _, payload, _ in store.events_of("T-4")]
    assert json.loads(stored)["note"] == "a NUL \x00 in a field is stored as JSON's \\u0000"


def test_rejects_are_stored_with_nul_and_surrogates_escaped(store):
    store.add_events(
        [], at(1), [Reject("src-\udce9:1", "bad type 'x\x00y'", '{"ticket": "\ud800"}')]
    )
    (reject,) = store.rejects()
    assert reject == Reject("src-\\udce9:1", "bad type 'x\\x00y'", '{"ticket": "\\ud800"}')


def test_a_new_sqlite_state_is_readable_by_its_owner_only(tmp_path, live_policies):
    path = tmp_path / "state.db"
    store = Store.open(path)
    try:
        LiveEngine(live_policies, store).ingest([created("T-1")], at(1))  # WAL and shm exist now
        for file in (path, path.with_name("state.db-wal"), path.with_name("state.db-shm")):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        store.close()


def test_an_existing_state_keeps_its_owners_mode(tmp_path):
    path = tmp_path / "state.db"
    Store.open(path).close()
    path.chmod(0o640)
    Store.open(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bob:s3cr3t@[::1/db",
        "postgresql://bob:s3cr3t@host/db?foo=bar",
        "postgres://bob:s3%63r3t@[::1/db",
        "postgresql://bob@[::1/db?password=s3cr3t",
    ],
    ids=["bad-ipv6", "bad-parameter", "percent-encoded", "password-parameter"],
)
def test_a_malformed_postgresql_url_is_reported_without_its_password(url):
    pytest.importorskip("psycopg")
    with pytest.raises(UserError) as raised:
        Store.open(url)
    message = str(raised.value)
    assert message.startswith("cannot connect to PostgreSQL:")
    assert "s3cr3t" not in message
    assert "s3%63r3t" not in message
    assert "***" in message or "bob" not in message


def test_redaction_and_escaping_of_untrusted_text():
    assert redact_url_secrets("x postgresql://u:pw@h/d y", "") == "x postgresql://u:***@h/d y"
    assert redact_url_secrets("dsn: password='a b' host=h") == "dsn: password=*** host=h"
    escaped = escape_controls("ok\x1b[2J\r\nend\u202e\ud800")
    assert escaped == "ok\\x1b[2J\\x0d\\x0aend\\u202e\\ud800"
    assert escape_controls("abcdefgh", limit=6) == "abc..."
    assert storable("a\x00b\udcff") == "a\\x00b\\udcff"
    assert storable("plain") == "plain"


def test_a_record_no_check_foresaw_is_quarantined_and_the_source_goes_on(live_policies, store):
    from slaengine.sources import SourceBatch, SourceRecord

    class OddSource:
        """A plugin source with a bug: its second record's origin is not text."""

        name = "odd"

        def __init__(self) -> None:
            self.records = [
                SourceRecord("odd:1", created("T-1")),
                SourceRecord(2, created("T-2")),  # type: ignore[arg-type]
                SourceRecord("odd:3", created("T-3")),
            ]

        def read(self, cursor, limit):
            start = int(cursor or 0)
            chunk = self.records[start : start + limit]
            return SourceBatch(tuple(chunk), str(start + len(chunk)))

    worker = Worker(
        LiveEngine(live_policies, store),
        Dispatcher(store, {}),
        {"odd": OddSource()},
        clock=Clock(at(1)),
    )
    report = worker.cycle()  # once: TypeError from the whole batch, at every restart

    assert (report.ingested, report.rejected) == (2, 1)
    (reject,) = store.rejects()
    assert reject.origin == "odd:after 1"
    assert reject.problem.startswith("could not be stored: TypeError(")
    assert store.cursor("odd") == "3"
    assert sorted(t for t in ("T-1", "T-2", "T-3") if store.events_of(t)) == ["T-1", "T-3"]
