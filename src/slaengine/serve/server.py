"""Running the service: uvicorn serving the API, the live worker in a background thread.

The worker thread runs the same cycle as ``slaengine run`` (sources, advance,
dispatch) on its own database connection; a cycle that fails is logged and
the worker starts again on a fresh connection after a pause, so the API
keeps serving. SIGTERM or Ctrl-C stops both: the server finishes the
requests under way (up to 10 seconds), the worker its current step (up to 30),
giving deliveries under way its grace as ``slaengine run`` does.
A second SIGTERM or Ctrl-C during that wait forces the stop: open
connections are closed and the worker is not waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import structlog
import uvicorn

from slaengine.errors import UserError
from slaengine.live.store import is_operational_error
from slaengine.live.text import redact_url_secrets
from slaengine.live.worker import CycleReport, Worker
from slaengine.notifications import iso
from slaengine.serve.api import Api
from slaengine.serve.app import create_app
from slaengine.serve.metrics import Counters

_log = structlog.get_logger("slaengine.serve")
_BACKLOG = 2048  # uvicorn's default


class WorkerThread:
    """The live worker's loop in a daemon thread, restarted after a failure."""

    def __init__(
        self,
        make_worker: Callable[[], Worker],
        pause: float = 5.0,
        counters: Counters | None = None,
    ) -> None:
        self._make_worker = make_worker
        self.pause = pause
        self.counters = counters if counters is not None else Counters()
        self._stop = threading.Event()
        self._worker: Worker | None = None
        self._thread = threading.Thread(target=self._loop, name="slaengine-worker", daemon=True)
        self.cycles = 0
        self.failures = 0
        self.last_cycle: int | None = None

    def start(self) -> None:
        """Start the loop."""
        self._thread.start()

    def stop(self, timeout: float = 30.0, interrupt: threading.Event | None = None) -> None:
        """Ask the loop to stop after its current step and wait for it (up to ``timeout``,
        or until ``interrupt`` is set: a forced stop waits no longer)."""
        self._stop.set()
        worker = self._worker
        if worker is not None:
            worker.stop()
        if not self._thread.is_alive() or self._thread is threading.current_thread():
            return
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and not (interrupt is not None and interrupt.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._thread.join(min(left, 0.1))

    def request_stop(self) -> None:
        """Ask the loop to stop, without waiting (safe from a signal handler)."""
        self._stop.set()
        worker = self._worker
        if worker is not None:
            worker.stop()

    def health(self) -> dict[str, Any]:
        """Whether the loop runs, its cycles and failures, and its last cycle's instant."""
        now = int(time.time())
        return {
            "running": self._thread.is_alive() and not self._stop.is_set(),
            "cycles": self.cycles,
            "failures": self.failures,
            "last_cycle": iso(self.last_cycle),
            "last_cycle_age_seconds": None if self.last_cycle is None else now - self.last_cycle,
        }

    def _loop(self) -> None:
        _log.info("worker started")
        abandoned = 0
        while not self._stop.is_set():
            worker = None
            try:
                worker = self._make_worker()
                self._worker = worker
                if self._stop.is_set():  # asked to stop while it was being built
                    worker.stop()
                if worker.engine.store.dialect.name == "sqlite":
                    # One worker per SQLite file: rows a killed predecessor claimed are free.
                    worker.engine.store.release_leases()
                while not worker.stop_requested.is_set():
                    try:
                        self._count(worker.cycle())
                        self.cycles += 1
                        self.last_cycle = worker.now()
                        wait = worker.seconds_to_next()
                    except Exception as exc:
                        if not is_operational_error(exc):
                            raise
                        # The same worker goes on, so deliveries under way are recorded.
                        self.failures += 1
                        self.counters.add("worker_failures")
                        worker.recover(exc)
                        wait = self.pause
                    worker.stop_requested.wait(wait)
                # As ``slaengine run``: deliveries under way get the worker's grace.
                abandoned += worker.finish_deliveries()
            except Exception as exc:  # the API keeps serving; the worker tries again
                self.failures += 1
                self.counters.add("worker_failures")
                error = redact_url_secrets(repr(exc))  # a driver's message may quote a URL
                _log.error("worker cycle failed", error=error, retry_in=self.pause)
                self._stop.wait(self.pause)
            finally:
                self._worker = None
                if worker is not None:
                    with contextlib.suppress(Exception):
                        worker.engine.store.close()
        _log.info("worker stopped", cycles=self.cycles, deliveries_abandoned=abandoned)

    def _count(self, report: CycleReport) -> None:
        counters = self.counters
        counters.add("worker_cycles")
        for outcome, amount in (("stored", report.ingested), ("rejected", report.rejected)):
            if amount:
                counters.add("worker_events", amount, outcome=outcome)
        for result, amount in (
            ("queued", report.queued),
            ("delivered", report.delivered),
            ("failed", report.failed),
        ):
            if amount:
                counters.add("worker_notifications", amount, result=result)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening from here on, not only once uvicorn has started: "server listening"
        # is logged before that, and a client connecting at once must wait in the
        # backlog instead of being refused. (uvicorn calls listen again, same backlog.)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn, telling the worker to stop as soon as a stop signal arrives.

    A second stop signal, while the first one's graceful stop is under way,
    forces it (for SIGTERM as for Ctrl-C; uvicorn alone forces on Ctrl-C
    only): uvicorn stops waiting for open requests, their connections are
    closed, and ``forced`` tells the caller not to wait for the worker.
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self._replaying = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.forced = threading.Event()
        self.forced_by: int | None = None  # the signal that forced the stop

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, keeping its event loop for a forced stop."""
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's signal capture; the signals it raises again when done are not new."""
        with super().capture_signals():
            try:
                yield
            finally:
                self._replaying = True
        self._replaying = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop gracefully on the first signal, at once on the second."""
        if self._replaying:  # uvicorn handing back a signal it has handled already
            return
        if self.should_exit and self.forced_by is None:
            # No logging here: a signal handler may interrupt a write to stderr.
            self.forced_by = sig
            self.force_exit = True
            self.forced.set()
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._drop_connections)
        self._on_exit()
        super().handle_exit(sig, frame)

    def _drop_connections(self) -> None:
        # Their requests end as a client disconnect, instead of being waited for.
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.close()


class _UvicornLog(logging.Handler):
    """uvicorn's own warnings and errors as structlog events: one JSON line each, like the
    rest of the server's log, never a bare traceback (a request cut short by a stop ends
    in a cancellation uvicorn reports with one)."""

    def emit(self, record: logging.LogRecord) -> None:
        fields: dict[str, Any] = {"logger": record.name}
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            fields["error"] = repr(error)
            if not isinstance(error, asyncio.CancelledError):  # a bug: keep where it was
                fields["exception"] = "".join(traceback.format_exception(error)).rstrip()
        _log.log(record.levelno, record.getMessage().strip(), **fields)


@contextlib.contextmanager
def _uvicorn_logs_to_structlog() -> Iterator[None]:
    logger = logging.getLogger("uvicorn")
    handler = _UvicornLog(logging.WARNING)
    kept = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = kept


def uvicorn_config(app: Any) -> uvicorn.Config:
    """uvicorn's settings: our own access log and logging, no server header."""
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=10,
    )


@contextlib.contextmanager
def _stop_signals_to(server: _Server) -> Iterator[None]:
    # A stop signal that arrives before uvicorn installs its own handlers (we
    # are ready once the socket listens) must still stop the server, so it goes
    # to the server's exit handler; uvicorn runs no main loop once asked to
    # exit. uvicorn re-raises the signal after it has shut down; it lands here
    # again instead of killing the process, so the worker's clean stop can
    # finish.
    previous = {
        sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(api: Api, sock: socket.socket, worker: WorkerThread | None) -> int | None:
    """Serve ``api`` on ``sock`` (and run ``worker``) until SIGTERM or Ctrl-C.

    Returns ``None`` after a graceful stop, or the signal number of a second stop signal
    that forced it. ``sock`` is closed however this ends, a failed start-up too.
    """
    try:
        server = _Server(
            uvicorn_config(create_app(api)),
            on_exit=worker.request_stop if worker is not None else (lambda: None),
        )
        host, port = sock.getsockname()[:2]
        with _stop_signals_to(server), _uvicorn_logs_to_structlog():
            if worker is not None:
                worker.start()
            _log.info(
                "server listening",
                host=host,
                port=port,
                worker=worker is not None,
                max_body=api.settings.max_body,
                inboxes=sorted(api.inboxes),
            )
            try:
                server.run(sockets=[sock])
            finally:
                if worker is not None:
                    worker.stop(interrupt=server.forced)
                api.close()
                sock.close()
                if server.forced_by is not None:
                    _log.warning(
                        "stop forced by a second signal: open requests and the worker's "
                        "current step were not waited for",
                        signal=signal.Signals(server.forced_by).name,
                    )
                _log.info("server stopped")
        return server.forced_by
    finally:
        sock.close()


__all__ = ["WorkerThread", "bind", "serve", "uvicorn_config"]
