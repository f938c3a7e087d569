"""Delivery under stress: two PostgreSQL workers, a hung receiver, SIGTERM, hostile error text.

Each test is one defect that was measured: two workers sending 48 of 90 rows
twice (a batch shared one lease that ran out while rows queued), a hung target
delaying a healthy one by tens of seconds, a worker ignoring SIGTERM while a
delivery hung, and a receiver's control characters stored raw in ``last_error``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from structlog.testing import capture_logs

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    live_policies_fixture,
    postgres_server_fixture,
    state_url_fixture,
    store_fixture,
)
from slaengine.live import Dispatcher, Store
from slaengine.live.store import DELIVERED, FAILED, Decision


def _queue(store: Store, recipients: list[str], count: int, now: int, first: int = 0) -> None:
    """Notifications of tickets ``T-first`` on, each to all ``recipients``, ready at ``now``."""
    decisions = [
        Decision(
            f"T-{n}/first_response/1/breach/0",
            f"T-{n}",
            "breach",
            now,
            json.dumps(
                {
                    "key": f"T-{n}/first_response/1/breach/0",
                    "kind": "breach",
                    "ticket": f"T-{n}",
                    "metric": "first_response",
                    "instance": 1,
                    "level": 0,
                    "at": "2025-12-01T11:00:00Z",
                    "policy": "chat",
                    "notify": [],
                }
            ),
            tuple(recipients),
        )
        for n in range(first, first + count)
    ]
    store.save_evaluations([(d.ticket, None, "chat", [d]) for d in decisions], now)


def test_two_postgresql_workers_never_deliver_a_row_twice(postgres_server):
    postgres_server.reset()
    now = int(time.time())
    first, second = Store.open(postgres_server.url), Store.open(postgres_server.url)
    try:
        _queue(first, ["slow", "fast"], 30, now)
        sent: Counter[tuple[str, str]] = Counter()
        lock = threading.Lock()

        def receiver(name: str, seconds: float):
            def deliver(notification):
                time.sleep(seconds)
                with lock:
                    sent[(notification.key, name)] += 1

            return deliver

        def work(store: Store) -> None:
            # A lease of 1 s against 0.15 s per request: rows waiting in a shared batch
            # outlived their lease and went to the other worker as well.
            dispatcher = Dispatcher(
                store, {"slow": receiver("slow", 0.15), "fast": receiver("fast", 0.01)}, lease=1
            )
            while store.outbox(statuses=("pending",), limit=1):
                dispatcher.dispatch(int(time.time()), budget=0.5)
            dispatcher.finish(10)

        threads = [threading.Thread(target=work, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)  # about 10 s; generous for a loaded machine
        assert len(sent) == 60
        assert [pair for pair, times in sent.items() if times > 1] == []
        assert {r.status for r in first.outbox(limit=100)} == {DELIVERED}
    finally:
        first.close()
        second.close()


def test_a_live_postgresql_claim_holds_past_its_lease_and_a_dead_ones_frees_at_once(
    postgres_server,
):
    postgres_server.reset()
    holder, other = Store.open(postgres_server.url), Store.open(postgres_server.url)
    try:
        _queue(holder, ["ops"], 1, at(0))
        (row,) = holder.claim(at(0), 10, 60)
        # The lease ran out long ago, but the claiming worker still lives.
        assert other.claim(at(600), 10, 60) == []
        other.release_leases()
        assert other.claim(at(600), 10, 60) == []
    finally:
        holder.close()  # the worker dies: PostgreSQL ends its lock with the connection
    try:
        # Free as soon as the server has ended that session (a moment after the
        # close), although its lease (until minute 1) has not run out.
        deadline = time.monotonic() + 30
        while not (claimed := other.claim(at(0) + 30, 10, 60)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r.id for r in claimed] == [row.id]
    finally:
        other.close()


def test_a_hung_target_holds_up_only_its_own_rows(store):
    now = int(time.time())
    _queue(store, ["hung", "ok"], 3, now)
    release, began = threading.Event(), threading.Event()
    hung_calls: list[str] = []
    ok_calls: list[str] = []

    def hung(notification):
        hung_calls.append(notification.key)
        began.set()
        release.wait(120)  # set when the test ends

    dispatcher = Dispatcher(store, {"hung": hung, "ok": lambda n: ok_calls.append(n.key)})
    try:
        # Budgets long enough for a loaded machine to deliver the healthy rows; the pass
        # still ends at its budget, long before the hung delivery (120 s) would.
        started = time.monotonic()
        report = dispatcher.dispatch(now, budget=2.0)
        assert time.monotonic() - started < 15
        # The hung lane holds its three rows: one hanging, two waiting behind it.
        assert (report.delivered, report.in_flight) == (3, 3)
        assert len(ok_calls) == 3
        assert began.wait(60)  # its thread may start late on a loaded machine
        # New rows for the healthy target go out while the hung one still hangs;
        # the hung row is not handed out again, even long after its lease.
        _queue(store, ["ok"], 5, now + 1, first=3)
        report = dispatcher.dispatch(now + 3600, budget=2.0)
        assert (report.delivered, report.in_flight) == (5, 3)
        assert len(hung_calls) == 1
    finally:
        release.set()
    dispatcher.finish(60)  # returns once the released delivery is recorded
    dispatcher.dispatch(now + 3600)
    assert len(hung_calls) == 3
    assert [r.status for r in store.outbox(limit=100)] == [DELIVERED] * 11


def test_a_receivers_error_text_is_stored_and_logged_with_control_characters_escaped(store):
    now = int(time.time())
    _queue(store, ["evil"], 1, now)

    def evil(notification):
        raise RuntimeError("\x1b[2J\x1b]0;owned\x07 line one\r\nline two\u202e" + "x" * 2000)

    with capture_logs() as logs:
        Dispatcher(store, {"evil": evil}).dispatch(now)
    (row,) = store.outbox()
    assert row.status == FAILED
    assert row.last_error is not None
    assert row.last_error.startswith(
        "RuntimeError: \\x1b[2J\\x1b]0;owned\\x07 line one\\x0d\\x0aline two\\u202e"
    )
    assert len(row.last_error) <= 500
    assert row.last_error.endswith("...")
    (failure,) = [e for e in logs if e["event"] == "notification delivery failed"]
    assert failure["error"] == row.last_error


POLICY = """\
version: 1
policies:
  - name: hung
    calendar: 24x7
    metrics:
      first_response:
        targets: 1s
        escalations: [{after: 0s, notify: [sink]}]
"""


def test_sigterm_stops_the_worker_within_seconds_while_a_delivery_hangs(tmp_path):
    pytest.importorskip("slaengine_webhook", reason="the bundled webhook plugin is not installed")
    hole = socket.socket()  # accepts connections (the backlog) and never answers
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    try:
        (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
        config = tmp_path / "slaengine.toml"
        config.write_text(
            '[live]\npolicies = ["policy.yaml"]\nstate = "state.db"\n'
            "[plugins.webhook.targets.sink]\n"
            f'url = "http://127.0.0.1:{hole.getsockname()[1]}/sla"\ntimeout = 120\n',
            encoding="utf-8",
        )
        events = tmp_path / "events.jsonl"
        events.write_text(json.dumps(created("T-1")) + "\n", encoding="utf-8")
        env = {**os.environ, "SLAENGINE_PLUGINS": "webhook", "PYTHONUNBUFFERED": "1"}
        env.pop("SLAENGINE_CONFIG", None)
        command = [sys.executable, "-m", "slaengine"]
        subprocess.run(
            [*command, "ingest", "--config", str(config), str(events)],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [*command, "run", "--config", str(config), "--tick", "0.2"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=out,
            )
        try:
            hole.settimeout(120)  # the worker's start-up on a loaded machine
            connection, _ = hole.accept()  # the delivery is under way and will hang
            time.sleep(0.5)
            sent = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=60)
            took = time.monotonic() - sent
            connection.close()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        text = log.read_text(encoding="utf-8")
        assert code == 0, text[-2000:]
        assert took < 20, text[-2000:]  # a 2 s grace, not the 120 s delivery timeout
        stopped = [json.loads(line) for line in text.splitlines() if '"worker stopped"' in line]
        assert stopped[0]["deliveries_abandoned"] == 1
        store = Store.open(tmp_path / "state.db")
        try:
            (row,) = store.outbox()
            assert row.status == "pending"  # sent again, with the same key, after a restart
        finally:
            store.close()
    finally:
        hole.close()


def test_stopping_gives_back_the_rows_waiting_behind_a_hung_delivery(store):
    now = int(time.time())
    _queue(store, ["hung"], 3, now)
    release, began = threading.Event(), threading.Event()
    calls: list[str] = []

    def hung(notification):
        calls.append(notification.key)
        began.set()
        release.wait(120)  # set when the test ends

    dispatcher = Dispatcher(store, {"hung": hung})
    try:
        assert dispatcher.dispatch(now, budget=0.3).in_flight == 3
        # Once its lane thread runs (late on a loaded machine) one delivery is under way;
        # finishing frees the two behind it for any worker.
        assert began.wait(60)
        assert dispatcher.finish(0.3) == 1
        free = store.claim(now, 10, 60)
        assert [r.ticket for r in free] == ["T-1", "T-2"]
        store.unclaim([r.id for r in free])
    finally:
        release.set()
    time.sleep(0.3)  # the lane thread reaches the two given-back rows and skips them
    assert dispatcher.finish(60) == 0  # returns once the released delivery is recorded
    assert calls == ["T-0/first_response/1/breach/0"]
    assert {r.ticket: r.status for r in store.outbox()} == {
        "T-0": DELIVERED,
        "T-1": "pending",
        "T-2": "pending",
    }


def test_two_postgresql_workers_never_read_one_source_at_once(postgres_server, live_policies):
    from slaengine.live import LiveEngine
    from slaengine.live.worker import Worker
    from slaengine.sources import SourceBatch, SourceRecord

    events = [created(f"T-{n}") for n in range(5)]

    class SlowSource:
        """Every event at once; the first read waits until told to go on."""

        name = "desk"

        def __init__(self, gate: threading.Event | None) -> None:
            self.gate = gate
            self.reads = 0

        def read(self, cursor, limit):
            self.reads += 1
            if self.gate is not None:
                self.gate.wait(30)
            start = int(cursor or 0)
            chunk = events[start : start + limit]
            records = tuple(SourceRecord(f"desk:{start + i + 1}", e) for i, e in enumerate(chunk))
            return SourceBatch(records, str(start + len(chunk)))

    postgres_server.reset()
    first, second = Store.open(postgres_server.url), Store.open(postgres_server.url)
    try:
        gate = threading.Event()
        slow, quick = SlowSource(gate), SlowSource(None)
        workers = [
            Worker(LiveEngine(live_policies, store), Dispatcher(store, {}), {"desk": source})
            for store, source in ((first, slow), (second, quick))
        ]
        reading = threading.Thread(target=workers[0].pull)
        reading.start()
        deadline = time.monotonic() + 10
        while slow.reads == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        # The first worker is reading the source: the second leaves it alone.
        assert workers[1].pull() == (0, 0)
        assert quick.reads == 0
        gate.set()
        reading.join(30)
        assert workers[1].pull() == (0, 0)  # from the cursor the first one stored
        assert quick.reads == 1
        assert first.counts()["events"] == 5
    finally:
        first.close()
        second.close()
