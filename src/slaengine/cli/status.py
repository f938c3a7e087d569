"""``slaengine status``: what is due on a ticket, or which clocks fall due soon (live state)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from slaengine.cli._live import add_live_options, live_settings, open_engine, open_store
from slaengine.cli._options import (
    add_at,
    add_tz,
    checked_zone,
    evaluation_instant,
    load_command_policies,
)
from slaengine.durations import format_duration
from slaengine.errors import UserError
from slaengine.live import LiveEngine, Store
from slaengine.live.atrisk import parse_window, queue_document
from slaengine.metric_names import Labels, labels_of
from slaengine.report.labels import metric_label
from slaengine.report.table import cell, local_time
from slaengine.report.terminal import terminal_console


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print each ticket's status (exit 1 when one is unknown), or the at-risk queue."""
    as_json = args.json or args.format == "json"
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
    zone = ZoneInfo(checked_zone(args.tz))
    now = evaluation_instant(args.at)
    settings = live_settings(args)
    if within is not None:  # the queue is in the state: policies only name the metrics
        labels = labels_of(load_command_policies(*settings.policies)) if settings.policies else None
        store = open_store(settings, existing=True)
        try:
            _queue(store, args, now, within, zone, as_json, labels)
        finally:
            store.close()
        return 0
    engine, _ = open_engine(settings, existing=True)
    try:
        return _tickets(engine, args.tickets, now, zone, as_json)
    finally:
        engine.store.close()


def _console() -> Console:
    return terminal_console(file_width=120)


def _queue(
    store: Store,
    args: argparse.Namespace,
    now: int,
    within: int,
    zone: ZoneInfo,
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
    table = Table(
        title=f"Due within {format_duration(within)}{scope} · {len(clocks)} clock(s)",
        title_justify="left",
        header_style="bold",
    )
    for column in ("Due", "In", "Ticket", "Metric", "#", "State", "Priority", "Group", "Agent"):
        table.add_column(column)
    for clock in clocks:
        left = (clock.due or now) - now
        table.add_row(
            local_time(clock.due, zone),
            f"overdue {format_duration(-left)}" if left < 0 else format_duration(left),
            cell(clock.ticket),
            # An agreement's clock is stored as tier2-ola/first_response.
            cell(
                clock.stored_metric if labels is None else metric_label(clock.stored_metric, labels)
            ),
            str(clock.instance),
            clock.state,
            cell(clock.priority),
            cell(clock.group or "-"),
            cell(clock.assignee or "-"),
        )
    _console().print(table)


def _tickets(
    engine: LiveEngine, tickets: list[str], now: int, zone: ZoneInfo, as_json: bool
) -> int:
    missing = 0
    console = _console()
    for ticket in tickets:
        status = engine.status(ticket, now)
        if status is None:
            print(f"{ticket}: no such ticket (or not created by then)", file=sys.stderr)
            missing += 1
            continue
        if as_json:
            sys.stdout.write(json.dumps(status.to_dict()) + "\n")
            continue
        table = Table(
            title=f"{ticket} · policy {status.policy or '(none)'}",
            title_justify="left",
            header_style="bold",
        )
        for column in ("Metric", "#", "State", "Due", "Remaining", "Next alert"):
            table.add_column(column)
        for metric in status.metrics:
            alert = metric.next_alert
            # By the label the metric's definition gives, as reports name it (JSON: the name).
            name = metric.label or metric.metric
            name = name if metric.group is None else f"{name} ({metric.group})"
            table.add_row(
                cell(name if metric.agreement is None else f"{metric.agreement}: {name}"),
                str(metric.instance),
                metric.state,
                local_time(metric.due, zone),
                format_duration(metric.remaining),
                "-"
                if alert is None
                else f"{alert.kind} {alert.level} at {local_time(alert.at, zone)}",
            )
        console.print(table)
    return 1 if missing else 0
