"""A worker cycle failing on a database error: deliveries under way are recorded, the worker
goes on (on the real PostgreSQL server the live tests start)."""

from __future__ import annotations

import threading
import time

import pytest
from structlog.testing import capture_logs

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    info_logs_fixture,
    live_policies_fixture,
    postgres_server_fixture,
    route_all,
)
from slaengine.live import Dispatcher, LiveEngine, Store, pglocks
from slaengine.live.store import DELIVERED
from slaengine.live.worker import Worker
from slaengine.serve.server import WorkerThread
from slaengine.sources import SourceBatch, SourceRecord

psycopg = pytest.importorskip("psycopg")


class ListSource:
    """An in-memory source: the cursor is the number of records read so far."""

    name = "desk"

    def __init__(self, *payloads):
        self.records = [SourceRecord(f"desk:{n}", p) for n, p in enumerate(payloads, start=1)]

    def read(self, cursor, limit):
        start = int(cursor or 0)
        batch = self.records[start : start + limit]
        return SourceBatch(tuple(batch), str(start + len(batch)))


class HeldReceiver:
    """A receiver that holds each delivery until released, counting what it received."""

    def __init__(self):
        self.release = threading.Event()
        self.began = threading.Event()
        self.keys: list[str] = []

    def __call__(self, notification):
        self.began.set()
        assert self.release.wait(60)
        self.keys.append(notification.key)


def _kill_session(postgres_server, store):
    """The server drops ``store``'s connection (a restart, a failover, an admin's kill)."""
    pid = store._db.info.backend_pid
    with psycopg.connect(postgres_server.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.fixture(name="pg_store")
def pg_store_fixture(postgres_server):
    postgres_server.reset()
    store = Store.open(postgres_server.url)
    yield store
    store.close()


def _worker(live_policies, store, receiver, source, **options):
    engine = LiveEngine(live_policies, store, route_all)
    dispatcher = Dispatcher(store, {"ops": receiver, "lead": receiver})
    return Worker(engine, dispatcher, {"desk": source}, clock=lambda: float(at(40)), **options)


def test_run_records_a_delivery_made_while_the_connection_was_lost(
    live_policies, postgres_server, pg_store, info_logs
):
    receiver = HeldReceiver()
    source = ListSource(created("T-1"))
    worker = _worker(live_policies, pg_store, receiver, source, tick=0.05, budget=0.2)
    first = worker.cycle()  # T-1 stored, its warning (30) queued and under way
    assert first.queued >= 1
    assert receiver.began.wait(30)
    in_flight = worker.dispatcher.in_flight
    assert in_flight == first.queued
    _kill_session(postgres_server, pg_store)
    receiver.release.set()  # the deliveries go out while the worker has no connection
    _wait_for(lambda: len(receiver.keys) == in_flight)
    source.records.append(SourceRecord("desk:2", created("T-2")))
    with capture_logs() as logs:
        assert worker.run(cycles=2) == 2  # the first fails on the lost connection
    events = [entry["event"] for entry in logs]
    assert events.index("worker cycle failed") < events.index("worker recovered")
    failed = next(entry for entry in logs if entry["event"] == "worker cycle failed")
    assert failed["deliveries_in_flight"] == in_flight
    recovered = next(entry for entry in logs if entry["event"] == "worker recovered")
    # Recorded at once on the new connection: neither lost nor sent again after the lease.
    assert (recovered["reconnected"], recovered["delivered"]) == (True, in_flight)
    assert recovered["deliveries_in_flight"] == 0
    delivered = [e["ticket"] for e in logs if e["event"] == "notification delivered"]
    assert delivered.count("T-1") == in_flight
    # The worker kept serving: the next cycle read the source on.
    assert pg_store.cursor("desk") == "2"
    check = Store.open(postgres_server.url)
    try:
        rows = check.outbox()
        assert {row.status for row in rows} == {DELIVERED}
        assert sorted(row.key for row in rows) == sorted(receiver.keys)
        assert len(set(receiver.keys)) == len(receiver.keys)  # each sent once
    finally:
        check.close()


def test_an_outcome_the_database_could_not_take_is_kept_and_recorded_after_reconnecting(
    live_policies, postgres_server, pg_store
):
    receiver = HeldReceiver()
    worker = _worker(live_policies, pg_store, receiver, ListSource(created("T-1")), budget=0.2)
    worker.cycle()
    assert receiver.began.wait(30)
    dispatcher = worker.dispatcher
    claimed = dispatcher.claimed()
    assert len(claimed) == dispatcher.in_flight >= 1
    _kill_session(postgres_server, pg_store)
    receiver.release.set()
    _wait_for(lambda: len(receiver.keys) == len(claimed))
    # The next pass cannot record the deliveries: they stay under way, not forgotten.
    with pytest.raises(psycopg.OperationalError):
        dispatcher.dispatch(at(40))
    assert sorted(dispatcher.claimed()) == sorted(claimed)
    # A new connection takes the rows' locks again: no other worker sends them meanwhile.
    assert pg_store.reconnect(dispatcher.claimed()) is True
    check = Store.open(postgres_server.url)
    try:
        assert set(claimed) <= pglocks.held_by_others(check._db)
        flushed = dispatcher.flush()
        assert (flushed.delivered, flushed.in_flight) == (len(claimed), 0)
        assert not set(claimed) & pglocks.held_by_others(check._db)
        assert {row.status for row in check.outbox()} == {DELIVERED}
        assert check.release_leases() == 0  # nothing left claimed to wait out
    finally:
        check.close()
    assert pg_store.reconnect() is False  # a working connection stays


def test_serve_worker_thread_keeps_its_worker_through_a_database_error(
    live_policies, postgres_server, pg_store, info_logs
):
    receiver = HeldReceiver()
    source = ListSource(created("T-1"))
    built = []

    def make_worker():
        built.append(_worker(live_policies, pg_store, receiver, source, tick=0.05, budget=0.2))
        return built[-1]

    thread = WorkerThread(make_worker, pause=0.05)
    with capture_logs() as logs:
        thread.start()
        try:
            assert receiver.began.wait(30)
            _kill_session(postgres_server, pg_store)
            receiver.release.set()
            _wait_for(lambda: any(e["event"] == "worker recovered" for e in logs))
            _wait_for(lambda: built[0].dispatcher.in_flight == 0)
        finally:
            thread.stop(30)
    assert len(built) == 1  # the same worker (and its deliveries) went on
    assert thread.health()["failures"] >= 1
    check = Store.open(postgres_server.url)
    try:
        assert {row.status for row in check.outbox()} == {DELIVERED}
    finally:
        check.close()
    assert len(set(receiver.keys)) == len(receiver.keys)
