"""``slaengine serve``: the HTTP API, with the live worker in the same process."""

from __future__ import annotations

import argparse
import contextlib
import socket
from typing import TYPE_CHECKING, Any

import structlog

from slaengine.cli._live import (
    LiveSettings,
    add_live_options,
    live_settings,
    open_engine,
    open_store,
)
from slaengine.cli._options import command_plugins
from slaengine.errors import UserError
from slaengine.live import Dispatcher, LiveEngine, Routing
from slaengine.live.worker import Worker
from slaengine.live.workerlock import worker_lock
from slaengine.logs import configure_logging

_log = structlog.get_logger("slaengine.serve")

if TYPE_CHECKING:
    from slaengine.serve.settings import ServeSettings


def register(commands: Any) -> None:
    """Add the ``serve`` subcommand."""
    parser = commands.add_parser(
        "serve",
        help="serve the HTTP API (events and inbox webhooks in, status and at-risk out)",
        description="Serve the live engine over HTTP: POST /events and /inbox/VENDOR, "
        "GET /tickets/ID, /at-risk, /healthz and /metrics (see docs/api.md). Unless "
        "--no-worker is given, the live worker (sources, advance, dispatch) runs in the "
        "same process. SIGTERM or Ctrl-C stops both cleanly (open requests get 10 seconds, "
        "the worker's current step 30); a second one stops at once, with exit status 128 + "
        "the signal (130 for Ctrl-C, 143 for SIGTERM). Needs the serve extra: "
        'python3 -m pip install "slaengine[serve]".',
    )
    add_live_options(parser)
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address to listen on (default: [serve] listen, else 127.0.0.1:8080)",
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="serve only; a separate 'slaengine run' advances the clock and delivers",
    )
    parser.add_argument(
        "--tick",
        type=float,
        metavar="SECONDS",
        help="seconds between worker cycles (default: [live] tick, else 5)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until stopped; exit 0 after a clean stop, 128 + the signal's number after a
    stop forced by a second signal (130 for Ctrl-C, 143 for SIGTERM)."""
    configure_logging(max(1, args.verbose))  # a server's log is its output
    try:
        from slaengine.serve import bind, serve_settings
    except ImportError as exc:
        raise UserError(
            f"slaengine serve needs Starlette and uvicorn ({exc.name} is missing): "
            'python3 -m pip install "slaengine[serve]"'
        ) from None
    if args.tick is not None and args.tick <= 0:
        raise UserError("--tick must be more than zero seconds")
    settings = live_settings(args)
    serving = serve_settings(settings.config, args.listen, False if args.no_worker else None)
    engine, routing = open_engine(settings)
    with contextlib.ExitStack() as held:
        # Whatever stops the start-up (a plugin, Ctrl-C while they load) closes the state
        # and the socket; the API closes them too once it serves, and closing twice is safe.
        held.callback(engine.store.close)
        if serving.worker:
            # One worker per SQLite file, for as long as the server runs.
            held.enter_context(worker_lock(engine.store))
        sock = bind(serving.host, serving.port)
        held.callback(sock.close)
        forced_by = _serve(args, settings, serving, engine, routing, sock)
    return 0 if forced_by is None else 128 + forced_by


def _serve(
    args: argparse.Namespace,
    settings: LiveSettings,
    serving: ServeSettings,
    engine: LiveEngine,
    routing: Routing,
    sock: socket.socket,
) -> int | None:
    """Wire the API and (unless ``--no-worker``) the worker thread; serve until stopped.

    Returns the signal that forced the stop, or ``None`` after a graceful one.
    """
    from slaengine.serve import Api, WorkerThread, serve
    from slaengine.serve.metrics import Counters
    from slaengine.serve.settings import unknown_inboxes

    policies = engine.policies
    plugins = command_plugins()
    opened = [engine]

    def open_api_engine() -> LiveEngine:
        # The engine opened above first; a fresh connection after a database error.
        if opened:
            return opened.pop()
        return LiveEngine(
            policies, open_store(settings), routing.recipients, quiet_before=settings.quiet_before
        )

    inboxes = plugins.inboxes()
    for warning in unknown_inboxes(settings.config, inboxes):  # a misspelt table does nothing
        _log.warning("settings name an inbox that is not installed", problem=warning)
    counters = Counters()  # the API's and the worker thread's, for /metrics
    worker = None
    if serving.worker:
        sources = plugins.sources()

        def make_worker() -> Worker:
            live = LiveEngine(
                policies,
                open_store(settings),
                routing.recipients,
                quiet_before=settings.quiet_before,
            )
            dispatcher = Dispatcher(
                live.store, routing.deliverers, settings.backoff, settings.lease
            )
            return Worker(
                live,
                dispatcher,
                sources,
                tick=args.tick or settings.tick,
                read_limit=settings.read_limit,
                retention=settings.retention,
            )

        worker = WorkerThread(
            make_worker, pause=max(1.0, args.tick or settings.tick), counters=counters
        )
    api = Api(
        open_api_engine,
        serving,
        inboxes,
        worker_health=worker.health if worker is not None else None,
        counters=counters,
    )
    if worker is None:
        return serve(api, sock, worker)
    # Once for the worker thread's life: its restarts after an error keep what plugins run.
    plugins.worker_started()
    try:
        return serve(api, sock, worker)  # returns once the worker thread has stopped
    finally:
        plugins.worker_stopped()
