"""``slaengine run``: the live worker (sources in, notifications out) until SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from slaengine.cli._live import LiveSettings, add_live_options, live_settings, open_engine
from slaengine.cli._options import command_plugins
from slaengine.errors import UserError
from slaengine.live import Dispatcher, LiveEngine, Routing
from slaengine.live.worker import Worker
from slaengine.live.workerlock import worker_lock
from slaengine.logs import configure_logging


def register(commands: Any) -> None:
    """Add the ``run`` subcommand."""
    parser = commands.add_parser(
        "run",
        help="run the live worker",
        description="Pull events from the plugins' sources into the state database, "
        "re-evaluate tickets as their clocks reach warnings, breaches and escalations, and "
        "deliver each notification once to every recipient through the outbox. Stops "
        "cleanly on SIGTERM or Ctrl-C after the current step.",
    )
    add_live_options(parser)
    parser.add_argument(
        "--tick",
        type=float,
        metavar="SECONDS",
        help="seconds between cycles (default: [live] tick, else 5)",
    )
    parser.add_argument(
        "--once", action="store_true", help="run one cycle (pull, advance, dispatch) and exit"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run cycles until stopped; exit 0 after a clean stop."""
    configure_logging(max(1, args.verbose))  # a worker's log is its output
    settings = live_settings(args)
    if args.tick is not None and args.tick <= 0:
        raise UserError("--tick must be more than zero seconds")
    engine, routing = open_engine(settings)
    try:
        # One worker per SQLite file: a second one would free and send the first one's rows.
        with worker_lock(engine.store):
            _run_worker(args, settings, engine, routing)
    finally:
        engine.store.close()
    return 0


def _run_worker(
    args: argparse.Namespace, settings: LiveSettings, engine: LiveEngine, routing: Routing
) -> None:
    plugins = command_plugins()
    sources = plugins.sources()
    if not sources and not args.once:
        print("note: no event sources are configured; only the clock advances", file=sys.stderr)
    # Rows a killed predecessor had claimed are free now (on PostgreSQL, those no live
    # worker holds: another worker's claims stay its own).
    engine.store.release_leases()
    worker = Worker(
        engine,
        Dispatcher(engine.store, routing.deliverers, settings.backoff, settings.lease),
        sources,
        tick=args.tick or settings.tick,
        read_limit=settings.read_limit,
        retention=settings.retention,
        plugins=plugins,
    )

    with _stop_signals_to(worker):
        worker.run(cycles=1 if args.once else None)


@contextlib.contextmanager
def _stop_signals_to(worker: Worker) -> Iterator[None]:
    # The handler runs in the main thread, which runs the loop and may hold the
    # lock of the worker's stop event (``Event.wait`` does, around each sleep):
    # setting the event there would wait for that lock forever. So the handler
    # only writes a byte to a pipe (no lock), and a thread stops the worker.
    read_end, write_end = os.pipe()

    def relay() -> None:
        while os.read(read_end, 1):  # b"" once the write end is closed: done
            worker.stop()

    def stop(signum: int, _frame: FrameType | None) -> None:
        os.write(write_end, b"\0")

    relaying = threading.Thread(target=relay, name="slaengine-stop-signals", daemon=True)
    relaying.start()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(write_end)
        relaying.join()
        os.close(read_end)
