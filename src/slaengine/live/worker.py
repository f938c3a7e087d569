"""The worker loop: pull events from sources, advance the clock, dispatch the outbox.

One cycle does the three steps in order, each with its own transactions; the
loop repeats it every ``tick`` seconds (sooner when a ticket's next point falls
earlier, at once while deliveries are under way) until asked to stop. A
dispatch pass lasts at most ``budget`` seconds, leaving slow deliveries running
on their own threads, so one hung receiver delays neither the sources, nor the
clock, nor the other receivers. Stopping ends the current step; deliveries
still under way get ``grace`` seconds, then their rows are left to be sent again
after the restart, so a SIGTERM stops the worker within seconds whatever a
receiver does. A cycle that fails on a database error is logged and the worker
goes on (:meth:`Worker.recover`): a broken connection is replaced, deliveries
that finished meanwhile are recorded and rows waiting are given back, so none
is sent twice or waits out its lease.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from slaengine.errors import UserError
from slaengine.live.dispatch import Dispatcher
from slaengine.live.engine import LiveEngine
from slaengine.live.retention import Retention, prune
from slaengine.live.store import is_operational_error
from slaengine.live.text import escape_controls, redact_url_secrets
from slaengine.plugins import CheckedSource, Plugins
from slaengine.sources import EventSource, SourceBatch

_log = structlog.get_logger("slaengine.live")


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one cycle did."""

    ingested: int = 0
    rejected: int = 0
    evaluated: int = 0
    queued: int = 0
    delivered: int = 0
    failed: int = 0


class Worker:
    """Runs the live engine against sources and recipients, on the wall clock.

    ``plugins``, when given, hear of the loop's start and stop (the
    ``slaengine_on_worker_*`` hooks); the sources and recipients come in
    already made, from them or from the host.
    """

    def __init__(
        self,
        engine: LiveEngine,
        dispatcher: Dispatcher,
        sources: Mapping[str, EventSource],
        tick: float = 5.0,
        read_limit: int = 1000,
        clock: Callable[[], float] = time.time,
        budget: float | None = None,
        grace: float = 2.0,
        retention: Retention | None = None,
        plugins: Plugins | None = None,
    ) -> None:
        self.engine = engine
        self.dispatcher = dispatcher
        # Every read answer is checked, also of sources a host hands over directly.
        self.sources = {
            name: source if isinstance(source, CheckedSource) else CheckedSource(source)
            for name, source in sources.items()
        }
        self.tick = tick
        self.read_limit = read_limit
        self.clock = clock
        self.budget = min(tick, 1.0) if budget is None else budget
        self.grace = grace
        self.retention = retention
        self.plugins = plugins  # told when the loop starts and stops
        self._pruned: int | None = None  # when retention last ran
        self.stop_requested = threading.Event()
        self._busy = False  # deliveries under way or rows left: cycle again without sleeping

    def now(self) -> int:
        """The wall clock in whole epoch seconds."""
        return int(self.clock())

    def pull(self) -> tuple[int, int]:
        """Read every source until it has nothing new; (events stored, events rejected)."""
        stored = rejected = 0
        for name, source in self.sources.items():
            with self.engine.store.reading(name) as mine:
                if not mine:
                    continue  # another worker on the same state is reading it now
                counts = self._pull_source(name, source)
            stored += counts[0]
            rejected += counts[1]
        return stored, rejected

    def _pull_source(self, name: str, source: EventSource) -> tuple[int, int]:
        """Read one source until it has nothing new; (events stored, events rejected)."""
        stored = rejected = 0
        while not self.stop_requested.is_set():
            cursor = self.engine.store.cursor(name)
            batch = self._read(name, source, cursor, self.read_limit)
            if batch is None:
                break
            records = [(r.origin, r.payload, r.problem, r.raw) for r in batch.records]
            if not records and batch.cursor == cursor:
                break
            try:
                report = self.engine.ingest(records, self.now(), cursor=(name, batch.cursor))
            except Exception as exc:  # one record no check foresaw must not stop the source
                _log.error(
                    "batch could not be stored; storing its records one by one",
                    source=name,
                    error=escape_controls(repr(exc), 500),
                )
                alone, alone_rejected, read_all = self._one_by_one(
                    name, source, cursor, len(records)
                )
                stored, rejected = stored + alone, rejected + alone_rejected
                if not read_all:
                    break
                continue
            stored += report.accepted
            rejected += len(report.rejected)
            for reject in report.rejected[:20]:
                _log.warning("event rejected", origin=reject.origin, problem=reject.problem)
            if len(records) < self.read_limit:
                break
        return stored, rejected

    @staticmethod
    def _read(name: str, source: EventSource, cursor: str | None, limit: int) -> SourceBatch | None:
        """The source's next batch (checked); ``None`` when it fails, which is logged.

        A source is a plugin's or a host's code: whatever it raises (even its
        ``sys.exit()``) or answers fails that source alone, and the worker asks
        it again from the same cursor next cycle.
        """
        try:
            return source.read(cursor, limit)
        except (Exception, SystemExit) as exc:  # a failing source must not stop the others
            _log.error("source read failed", source=name, error=escape_controls(repr(exc), 500))
            return None

    def _one_by_one(
        self, name: str, source: EventSource, cursor: str | None, count: int
    ) -> tuple[int, int, bool]:
        """Store ``count`` records from ``cursor`` singly; one that fails becomes a reject.

        Each record commits with the cursor after it, so nothing is lost or read
        twice. If even the reject cannot be stored, the database itself is at
        fault: that error propagates. Returns (stored, rejected, whether the
        source answered every read: ``False`` when it failed part way).
        """
        stored = rejected = 0
        for _ in range(count):
            batch = self._read(name, source, cursor, 1)
            if batch is None:
                return stored, rejected, False
            if not batch.records and batch.cursor == cursor:
                break
            records = [(r.origin, r.payload, r.problem, r.raw) for r in batch.records]
            try:
                report = self.engine.ingest(records, self.now(), cursor=(name, batch.cursor))
            except Exception as exc:
                origin = records[0][0] if records and isinstance(records[0][0], str) else None
                origin = origin or f"{name}:after {cursor}"
                problem = f"could not be stored: {escape_controls(repr(exc), 500)}"
                _log.warning("event rejected", origin=origin, problem=problem)
                report = self.engine.ingest(
                    [(origin, None, problem)], self.now(), cursor=(name, batch.cursor)
                )
            stored += report.accepted
            rejected += len(report.rejected)
            cursor = batch.cursor
        return stored, rejected, True

    def cycle(self) -> CycleReport:
        """Pull, advance to now, dispatch what is ready."""
        stored, rejected = self.pull()
        advanced = self.engine.advance(self.now())
        for problem in advanced.problems[:20]:
            _log.warning("ticket event ignored", problem=problem)
        sent = self.dispatcher.dispatch(
            self.now(), clock=self.now, budget=self.budget, stop=self.stop_requested
        )
        self._busy = sent.more or sent.in_flight > 0
        self.prune()
        report = CycleReport(
            stored,
            rejected,
            advanced.evaluated,
            advanced.outbox_rows,
            sent.delivered,
            sent.failed + sent.dead,
        )
        if stored or rejected or advanced.outbox_rows or sent.delivered or sent.failed:
            _log.info(
                "cycle",
                ingested=stored,
                rejected=rejected,
                evaluated=advanced.evaluated,
                queued=advanced.outbox_rows,
                delivered=sent.delivered,
                failed=sent.failed,
                dead=sent.dead,
            )
        return report

    def prune(self) -> None:
        """Apply the retention setting, at most once per ``retention.every`` seconds.

        A failure is logged and tried again next time: pruning is housekeeping,
        it never stops the worker.
        """
        retention = self.retention
        now = self.now()
        if retention is None or not retention.active:
            return
        if self._pruned is not None and now - self._pruned < retention.every:
            return
        self._pruned = now
        try:
            pruned = prune(self.engine.store, retention, now)
        except Exception as exc:
            _log.error("pruning failed", error=escape_controls(repr(exc), 500))
            return
        if pruned.rejects or pruned.delivered:
            _log.info("pruned", rejects=pruned.rejects, outbox_rows=pruned.delivered)

    def seconds_to_next(self) -> float:
        """How long to sleep: a tick, or less when a ticket's next point comes sooner."""
        if self._busy:
            return 0.0  # the dispatch pass itself waited for the deliveries under way
        wake = self.engine.store.next_wake()
        if wake is None:
            return self.tick
        return max(0.0, min(self.tick, wake - self.clock()))

    def run(self, cycles: int | None = None) -> int:
        """Cycle until :meth:`stop` (or ``cycles`` cycles); the number of cycles run.

        With ``plugins``, their ``slaengine_on_worker_start`` hooks are called
        before the first cycle and ``slaengine_on_worker_stop`` once the loop has
        ended, also when it ends with an error.
        """
        done = 0
        _log.info("worker started", sources=sorted(self.sources), tick=self.tick)
        if self.plugins is not None:
            self.plugins.worker_started()
        try:
            while not self.stop_requested.is_set():
                try:
                    self.cycle()
                    wait = self.seconds_to_next()
                except Exception as exc:
                    if not is_operational_error(exc):
                        raise
                    self.recover(exc)
                    wait = self.tick  # a database that just failed is not asked again at once
                done += 1
                if cycles is not None and done >= cycles:
                    break
                self.stop_requested.wait(wait)
            abandoned = self.finish_deliveries()
            _log.info("worker stopped", cycles=done, deliveries_abandoned=abandoned)
        finally:
            if self.plugins is not None:
                self.plugins.worker_stopped()
        return done

    def finish_deliveries(self) -> int:
        """Wait for the deliveries under way and record them; how many were abandoned.

        Asked to stop, they get ``grace`` seconds; out of cycles (``--once``), as
        long as a lease. An abandoned one is sent again, with the same key, later
        (also every one whose outcome the database, failing, could not take).
        """
        stopping = self.stop_requested.is_set()
        try:
            return self.dispatcher.finish(self.grace if stopping else self.dispatcher.lease)
        except Exception as exc:
            if not is_operational_error(exc):
                raise
            _log.error("deliveries could not be recorded", error=_database_text(exc))
            return self.dispatcher.in_flight

    def recover(self, error: BaseException) -> bool:
        """Carry on after a cycle failed on the database error ``error``; whether it did.

        Logs ``worker cycle failed``, then makes the store usable again (a broken
        PostgreSQL connection is replaced; see :meth:`Store.reconnect`), records the
        deliveries that finished meanwhile and gives back the rows waiting in a lane
        (:meth:`Dispatcher.flush`). While the database cannot be reached that is tried
        again every ``tick`` seconds until it works or the worker is asked to stop;
        deliveries under way keep running and are recorded once it answers.
        """
        store = self.engine.store
        _log.error(
            "worker cycle failed",
            error=_database_text(error),
            deliveries_in_flight=self.dispatcher.in_flight,
        )
        while not self.stop_requested.is_set():
            try:
                reconnected = store.reconnect(self.dispatcher.claimed())
                flushed = self.dispatcher.flush()
            except Exception as exc:  # UserError: the server cannot be reached at all
                if not (is_operational_error(exc) or isinstance(exc, UserError)):
                    raise
                _log.error(
                    "state database unavailable", error=_database_text(exc), retry_in=self.tick
                )
                self.stop_requested.wait(self.tick)
                continue
            _log.info(
                "worker recovered",
                reconnected=reconnected,
                delivered=flushed.delivered,
                failed=flushed.failed + flushed.dead,
                deliveries_in_flight=flushed.in_flight,
            )
            return True
        return False

    def stop(self) -> None:
        """Ask the loop to stop after the current step (from any thread but the loop's).

        A dispatch pass under way ends within a fraction of a second. Not from a
        signal handler in the loop's thread: it may interrupt ``Event.wait`` while
        that holds the event's lock (``slaengine run`` relays the signal to a thread).
        """
        self.stop_requested.set()


def _database_text(exc: BaseException) -> str:
    # Driver messages may name the server; never its password.
    return redact_url_secrets(escape_controls(f"{type(exc).__name__}: {exc}", 500))


__all__ = ["CycleReport", "Worker"]
