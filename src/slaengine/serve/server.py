"""Running the service: uvicorn serving the API, the live worker in a background thread.

The worker thread runs the same cycle as ``slaengine run`` (sources, advance,
dispatch) on its own database connection; a cycle that fails is logged and
the worker starts again on a fresh connection after a pause, so the API
keeps serving. SIGTERM or Ctrl-C stops both: the server finishes the
requests under way, the worker its current step.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import structlog
import uvicorn

from slaengine.errors import UserError
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

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to stop after its current step and wait for it (up to ``timeout``)."""
        self._stop.set()
        worker = self._worker
        if worker is not None:
            worker.stop()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

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
                    self._count(worker.cycle())
                    self.cycles += 1
                    self.last_cycle = worker.now()
                    worker.stop_requested.wait(worker.seconds_to_next())
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
        _log.info("worker stopped", cycles=self.cycles)

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
    """uvicorn, telling the worker to stop as soon as a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


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


def serve(api: Api, sock: socket.socket, worker: WorkerThread | None) -> None:
    """Serve ``api`` on ``sock`` (and run ``worker``) until SIGTERM or Ctrl-C."""
    server = _Server(
        uvicorn_config(create_app(api)),
        on_exit=worker.request_stop if worker is not None else (lambda: None),
    )
    host, port = sock.getsockname()[:2]
    with _stop_signals_to(server):
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
                worker.stop()
            api.close()
            sock.close()
            _log.info("server stopped")


__all__ = ["WorkerThread", "bind", "serve", "uvicorn_config"]
