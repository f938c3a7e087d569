"""The worker loop: pulling sources with stored cursors, advancing, dispatching, stopping."""

from __future__ import annotations

import asyncio
import sys

import pytest
from structlog.testing import capture_logs

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    info_logs_fixture,
    key,
    live_policies_fixture,
    postgres_server_fixture,
    reply,
    route_all,
    state_url_fixture,
    store_fixture,
)
from slaengine.hookspecs import hookimpl
from slaengine.live import Dispatcher, LiveEngine, Store, plugin_routing
from slaengine.live.store import DELIVERED
from slaengine.live.worker import CycleReport, Worker
from slaengine.plugins import make_plugins
from slaengine.sources import EventSource, SourceBatch, SourceRecord


class ListSource:
    """An in-memory source: the cursor is the number of records read so far."""

    def __init__(self, name, records=()):
        self.name = name
        self.records = list(records)
        self.reads: list[tuple[str | None, int]] = []

    def add(self, *payloads, problem=None):
        for payload in payloads:
            number = len(self.records) + 1
            self.records.append(SourceRecord(f"{self.name}:{number}", payload, problem))

    def read(self, cursor, limit):
        self.reads.append((cursor, limit))
        start = int(cursor or 0)
        batch = self.records[start : start + limit]
        return SourceBatch(tuple(batch), str(start + len(batch)))


class BrokenSource:
    name = "broken"

    def read(self, cursor, limit):
        raise ConnectionError("queue unreachable")


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return float(self.now)


def make_worker(live_policies, store, sources, clock, sent=None, read_limit=1000):
    engine = LiveEngine(live_policies, store, route_all)
    deliverers = {} if sent is None else {"ops": sent.append, "lead": sent.append}
    return Worker(
        engine, Dispatcher(store, deliverers), sources, read_limit=read_limit, clock=clock
    )


def test_list_source_is_an_event_source():
    assert isinstance(ListSource("x"), EventSource)


def test_cycle_ingests_advances_dispatches_and_stores_the_cursor(live_policies, store):
    source = ListSource("desk")
    source.add(created("T-1"), created("T-2"), reply("T-2", 10), created("T-3"), reply("T-3", 5))
    sent = []
    worker = make_worker(live_policies, store, {"desk": source}, Clock(at(40)), sent, 2)
    report = worker.cycle()
    # T-1 reached warning 1 (30); T-2 and T-3 were answered: two achievements.
    assert report == CycleReport(ingested=5, rejected=0, evaluated=3, queued=3, delivered=3)
    # Read 2 at a time until a short batch: cursors None, "2", "4".
    assert source.reads == [(None, 2), ("2", 2), ("4", 2)]
    assert store.cursor("desk") == "5"
    assert sorted(n.key for n in sent) == sorted(
        [key("T-1", "warning", 1), key("T-2", "achieved"), key("T-3", "achieved")]
    )
    assert {r.status for r in store.outbox()} == {DELIVERED}


def test_new_worker_resumes_from_the_stored_cursor(live_policies, state_url):
    source = ListSource("desk")
    source.add(created("T-1"), created("T-2"))
    clock = Clock(at(10))
    first_store = Store.open(state_url)
    try:
        assert (
            make_worker(live_policies, first_store, {"desk": source}, clock).cycle().ingested == 2
        )
    finally:
        first_store.close()

    second_store = Store.open(state_url)
    try:
        worker = make_worker(live_policies, second_store, {"desk": source}, clock)
        assert worker.cycle().ingested == 0
        assert source.reads[-1] == ("2", 1000)
        source.add(reply("T-1", 5))
        assert worker.cycle().ingested == 1
        assert second_store.cursor("desk") == "3"
        assert second_store.counts()["events"] == 3
        assert [origin for _, _, origin in second_store.events_of("T-1")] == ["desk:1", "desk:3"]
    finally:
        second_store.close()


def test_a_failing_source_is_logged_and_the_others_still_pulled(live_policies, store):
    good = ListSource("zz-good")
    good.add(created("T-1"))
    sources = {"broken": BrokenSource(), "zz-good": good}
    worker = make_worker(live_policies, store, sources, Clock(at(1)))
    with capture_logs() as logs:
        report = worker.cycle()
    assert report.ingested == 1
    assert store.cursor("broken") is None
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [(e["event"], e["source"]) for e in errors] == [("source read failed", "broken")]
    assert "queue unreachable" in errors[0]["error"]


def test_records_with_problems_land_in_rejects(live_policies, store):
    source = ListSource("desk")
    source.add(created("T-1"))
    source.add(None, problem="not valid JSON: Expecting value")
    source.add({"ticket": "T-1", "type": "message", "author": "agent"})  # no 'at'
    worker = make_worker(live_policies, store, {"desk": source}, Clock(at(1)))
    with capture_logs() as logs:
        report = worker.cycle()
    assert (report.ingested, report.rejected) == (1, 2)
    rejects = store.rejects()
    assert [(r.origin, r.problem) for r in rejects][1] == (
        "desk:2",
        "not valid JSON: Expecting value",
    )
    assert (rejects[0].origin, rejects[0].problem) == ("desk:3", "missing 'at'")
    assert store.cursor("desk") == "3"  # rejected records are consumed, not read again
    assert [e["origin"] for e in logs if e["event"] == "event rejected"] == ["desk:2", "desk:3"]


def test_worker_sleeps_until_the_next_point_at_most_a_tick(live_policies, store):
    source = ListSource("desk")
    source.add(created("T-1"))
    clock = Clock(at(29))
    worker = make_worker(live_policies, store, {"desk": source}, clock)
    assert worker.seconds_to_next() == worker.tick == 5.0  # nothing scheduled yet
    worker.cycle()
    assert store.next_wake() == at(30)
    assert worker.seconds_to_next() == 5.0  # 60 s to go, a tick is shorter
    clock.now = at(30) - 2
    assert worker.seconds_to_next() == 2.0
    clock.now = at(31)
    assert worker.seconds_to_next() == 0.0


def test_run_counts_cycles_and_logs_start_and_stop(live_policies, store, info_logs):
    worker = make_worker(live_policies, store, {}, Clock(at(0)))
    worker.tick = 0.001
    with capture_logs() as logs:
        assert worker.run(cycles=3) == 3
    events = [e["event"] for e in logs]
    assert events[0] == "worker started"
    assert events[-1] == "worker stopped"
    assert logs[-1]["cycles"] == 3


def test_stop_ends_the_loop_after_the_current_cycle(live_policies, store):
    worker = make_worker(live_policies, store, {}, Clock(at(0)))
    worker.tick = 3600.0  # would sleep an hour without the stop
    calls = []
    original = worker.cycle

    def cycle_then_stop():
        calls.append(1)
        report = original()
        worker.stop()
        return report

    worker.cycle = cycle_then_stop
    assert worker.run() == 1
    assert calls == [1]


@pytest.mark.parametrize("problem", ["ValueError", "KeyError", "CancelledError"])
def test_plugin_hook_failures_do_not_stop_the_cycle(live_policies, store, problem):
    # A deliverer raising any Exception is recorded on its row; the cycle completes. So is
    # asyncio's CancelledError (a BaseException) from a receiver's own event loop.
    error = {
        "ValueError": ValueError("bad payload"),
        "KeyError": KeyError("token"),
        "CancelledError": asyncio.CancelledError(),
    }[problem]

    def broken(_notification):
        raise error

    source = ListSource("desk")
    source.add(created("T-1"))
    engine = LiveEngine(live_policies, store, route_all)
    worker = Worker(
        engine, Dispatcher(store, {"ops": broken}), {"desk": source}, clock=Clock(at(31))
    )
    report = worker.cycle()
    assert (report.queued, report.delivered, report.failed) == (1, 0, 1)
    (row,) = store.outbox()
    assert row.last_error.startswith(problem)


class ExitingPlugin:
    """A plugin whose notify target and warning hook call sys.exit() while delivering."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def slaengine_register_notifiers(self, register):
        register("pager", "exits", self.exit)

    @hookimpl
    def slaengine_on_warning(self, notification):
        self.exit(notification)

    def exit(self, _notification):
        self.calls += 1
        sys.exit(3)


class RecordingPlugin:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    @hookimpl
    def slaengine_on_warning(self, notification):
        self.warnings.append(notification.key)


def test_a_plugin_calling_sys_exit_in_a_delivery_fails_that_delivery_only(live_policies, store):
    exiting, recording = ExitingPlugin(), RecordingPlugin()
    plugins = make_plugins(
        entry_points=False, plugins=[("exiting", exiting), ("recording", recording)]
    )
    routing = plugin_routing(plugins)
    engine = LiveEngine(live_policies, store, lambda n: ("pager", *routing.recipients(n)))
    source = ListSource("desk")
    source.add(created("T-1"))
    clock = Clock(at(31))  # a warning is due
    worker = Worker(engine, Dispatcher(store, routing.deliverers), {"desk": source}, clock=clock)
    with capture_logs() as logs:
        assert worker.run(cycles=1) == 1  # before the fix: SystemExit out of the worker
    assert exiting.calls == 2
    assert len(recording.warnings) == 1  # the other plugin got its own
    failed = {row.recipient: row for row in store.outbox() if row.status != DELIVERED}
    assert sorted(failed) == ["pager", "plugin:exiting"]
    for row in failed.values():
        assert row.last_error.startswith("SystemExit: the recipient called sys.exit(3)")
        assert row.next_attempt > clock.now  # retried later, with backoff
    warned = [log for log in logs if log["event"] == "notification delivery failed"]
    assert len(warned) == 2
    # The worker goes on: the next cycle runs and retries nothing before the backoff.
    assert worker.cycle().failed == 0
    assert exiting.calls == 2


def test_a_keyboard_interrupt_in_a_delivery_still_stops_the_worker(live_policies, store):
    def interrupted(_notification):
        raise KeyboardInterrupt

    source = ListSource("desk")
    source.add(created("T-1"))
    engine = LiveEngine(live_policies, store, route_all)
    worker = Worker(
        engine, Dispatcher(store, {"ops": interrupted}), {"desk": source}, clock=Clock(at(31))
    )
    with pytest.raises(KeyboardInterrupt):
        worker.cycle()


class HostSource:
    """A source a host hands the worker itself (no plugin manager): ``answer(cursor, limit)``."""

    def __init__(self, name, answer):
        self.name = name
        self.answer = answer

    def read(self, cursor, limit):
        return self.answer(cursor, limit)


def _failing_part_way():
    # The first batch cannot be stored (its second origin is no text), so the worker reads
    # its records one by one: the first is stored, then the source fails.
    reads = []
    stored = SourceRecord("flaky:1", created("T-8"))

    def answer(cursor, limit):
        reads.append(limit)
        if len(reads) == 1:
            return SourceBatch((stored, SourceRecord(7, created("T-9"))), "2")
        if len(reads) == 2:
            return SourceBatch((stored,), "1")
        raise ConnectionError("queue gone")

    return answer


def test_sources_a_host_hands_over_fail_alone_whatever_they_answer(live_policies, store):
    good = ListSource("desk")
    good.add(created("T-1"))
    answers = {
        "list-answer": lambda cursor, limit: ["not a batch"],
        "dict-record": lambda cursor, limit: SourceBatch(({"ticket": "T-2"},), "1"),
        "dict-cursor": lambda cursor, limit: SourceBatch((), {"offset": 1}),
        "no-records": lambda cursor, limit: SourceBatch(None, "1"),
        "exits": lambda cursor, limit: sys.exit(2),
        "flaky": _failing_part_way(),
    }
    sources = {name: HostSource(name, answer) for name, answer in answers.items()}
    worker = make_worker(live_policies, store, {**sources, "desk": good}, Clock(at(1)))
    with capture_logs() as logs:
        report = worker.cycle()  # before: AttributeError, TypeError or SystemExit out of it
    assert report.ingested == 2  # the good source's event, and the one stored singly
    failed = {log["source"]: log["error"] for log in logs if log["event"] == "source read failed"}
    assert sorted(failed) == sorted(answers)
    assert "expected a slaengine.sources.SourceBatch" in failed["list-answer"]
    assert "record of type dict" in failed["dict-record"]
    assert "cursor of type dict" in failed["dict-cursor"]
    assert "SystemExit(2)" in failed["exits"]
    assert "queue gone" in failed["flaky"]
    assert store.cursor("flaky") == "1"  # asked again after the stored record next cycle
    # The worker goes on serving: the next cycle runs, reading each again.
    with capture_logs() as logs:
        worker.cycle()
    assert len([log for log in logs if log["event"] == "source read failed"]) == len(answers)
