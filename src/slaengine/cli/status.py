"""``slaengine status``: what is due on a ticket, or which clocks fall due soon (live state)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from slaengine.cli._live import add_live_options, live_settings, open_engine, open_store
from slaengine.cli._options import (
    add_at,
    add_tz,
    checked_zone,
    evaluation_instant,
    load_command_policies,
)
from slaengine.errors import UserError
from slaengine.live import LiveEngine, Store
from slaengine.live.atrisk import parse_window, queue_document
from slaengine.metric_names import Labels, labels_of
from slaengine.report.labels import readable_duration
from slaengine.report.status import queue_table, ticket_table
from slaengine.report.terminal import fitted_width, terminal_console
from slaengine.words import plural


def register(commands: Any) -> None:
    """Add the ``status`` subcommand."""
    parser = commands.add_parser(
        "status",
        help="show a ticket's SLA status, or the clocks due soon, from the live state",
        description="Evaluate tickets from the live state at an instant and show, per metric, "
        "the state, the due instant, the business time remaining and the next warning or "
        "escalation. With --due-within instead of ticket ids: the at-risk queue, every running "
        "clock due within that window (overdue ones too), soonest first, as of the worker's "
        "last cycle.",
    )
    add_live_options(parser)
    parser.add_argument("tickets", nargs="*", metavar="TICKET", help="ticket ids")
    parser.add_argument(
        "--due-within",
        metavar="DURATION",
        help="show the at-risk queue: running clocks due within DURATION (e.g. 2h, 30m)",
    )
    parser.add_argument("--group", metavar="GROUP", help="at-risk queue of one group only")
    parser.add_argument("--agent", metavar="AGENT", help="at-risk queue of one assignee only")
    parser.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N clocks (default 100)"
    )
    add_at(parser)
    add_tz(parser)
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table (default) or json (tickets: one per line; the queue: one document)",
    )
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument(
        "--events",
        action="store_true",
        help="print the stored events instead, as JSON Lines (the input of evaluate, explain "
        "and whatif): the tickets', or without ticket ids every ticket's",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print each ticket's status (exit 1 when one is unknown), or the at-risk queue."""
    as_json = args.json or args.format == "json"
    if args.events:
        if args.due_within is not None or args.group is not None or args.agent is not None:
            raise UserError(
                "--events prints stored events; it takes no --due-within, --group or --agent"
            )
        store = open_store(live_settings(args), existing=True)
        try:
            return _events(store, args.tickets)
        finally:
            store.close()
    if args.due_within is None:
        if not args.tickets:
            raise UserError("give ticket ids, or --due-within DURATION for the at-risk queue")
        if args.group is not None or args.agent is not None:
            raise UserError("--group and --agent narrow the at-risk queue: add --due-within")
    elif args.tickets:
        raise UserError("give ticket ids or --due-within, not both")
    if args.limit < 1:
        raise UserError("--limit must be 1 or more")
    within = None
    if args.due_within is not None:
        try:
            within = parse_window(args.due_within)
        except ValueError as exc:
            raise UserError(f"--due-within: {exc}") from None
    checked_zone(args.tz)
    now = evaluation_instant(args.at)
    settings = live_settings(args)
    if within is not None:  # the queue is in the state: policies only name the metrics
        policies = settings.policies
        labels = labels_of(load_command_policies(*policies, targets=False)) if policies else None
        store = open_store(settings, existing=True)
        try:
            _queue(store, args, now, within, as_json, labels)
        finally:
            store.close()
        return 0
    engine, _ = open_engine(settings, existing=True, sends=False)
    try:
        return _tickets(engine, args.tickets, now, args.tz, as_json)
    finally:
        engine.store.close()


#: Stored events read at a time by ``--events`` without ticket ids.
EXPORT_PAGE = 10_000


def _events(store: Store, tickets: list[str]) -> int:
    """Print the stored events of ``tickets`` (every ticket's without), one JSON object a
    line as they were stored; exit 1 when a ticket has none."""
    if not tickets:
        after = 0
        while page := store.event_page(after, EXPORT_PAGE):
            sys.stdout.writelines(payload + "\n" for _, payload in page)
            after = page[-1][0]
        return 0
    missing = 0
    for ticket in tickets:
        stored = store.events_of(ticket)
        if not stored:
            print(f"{ticket}: no such ticket in the state", file=sys.stderr)
            missing += 1
        sys.stdout.writelines(payload + "\n" for _, payload, _ in stored)
    return 1 if missing else 0


def _queue(
    store: Store,
    args: argparse.Namespace,
    now: int,
    within: int,
    as_json: bool,
    labels: Labels | None,
) -> None:
    """Print the queue; with ``labels`` (the policies are known) each metric by its label
    as the reports name it, else by the name the state stores (JSON: always the name)."""
    clocks = store.at_risk(now + within, args.group, args.agent, args.limit)
    if as_json:
        document = queue_document(clocks, now, within, args.group, args.agent)
        sys.stdout.write(json.dumps(document) + "\n")
        return
    scope = "".join(
        f" · {label} {value}"
        for label, value in (("group", args.group), ("agent", args.agent))
        if value is not None
    )
    title = f"Due within {readable_duration(within)}{scope} · {plural(len(clocks), 'clock')}"
    console = terminal_console()  # into a file or a pipe: wide, every cell whole
    console.print(queue_table(clocks, now, args.tz, title, fitted_width(console), labels))
    waiting = len(store.tickets_due(now, _WAITING_SHOWN + 1))
    if waiting:
        # The queue is the worker's record: events ingested since its last cycle are not in it.
        count = f"more than {_WAITING_SHOWN:,}" if waiting > _WAITING_SHOWN else f"{waiting:,}"
        print(
            f"note: {count} {'ticket waits' if waiting == 1 else 'tickets wait'} for the "
            "worker's next cycle (new events, or a warning or breach point reached) and may be "
            "missing above; slaengine run, serve or ingest --advance evaluates them",
            file=sys.stderr,
        )


#: Tickets waiting for the worker counted at most, for the note under the queue.
_WAITING_SHOWN = 1000


def _tickets(engine: LiveEngine, tickets: list[str], now: int, tz: str, as_json: bool) -> int:
    missing = 0
    console = terminal_console()
    for ticket in tickets:
        status = engine.status(ticket, now)
        if status is None:
            print(f"{ticket}: no such ticket (or not created by then)", file=sys.stderr)
            missing += 1
            continue
        if as_json:
            sys.stdout.write(json.dumps(status.to_dict()) + "\n")
            continue
        console.print(ticket_table(status, tz, fitted_width(console)))
    return 1 if missing else 0
