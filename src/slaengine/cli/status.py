"""``slaengine status``: what is due on a ticket, from the live state."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from slaengine.cli._live import add_live_options, live_settings, open_engine
from slaengine.cli._options import add_at, add_tz, checked_zone, evaluation_instant
from slaengine.durations import format_duration
from slaengine.report.table import local_time


def register(commands: Any) -> None:
    """Add the ``status`` subcommand."""
    parser = commands.add_parser(
        "status",
        help="show a ticket's SLA status from the live state",
        description="Evaluate tickets from the live state at an instant and show, per metric, "
        "the state, the due instant, the business time remaining and the next warning or "
        "escalation.",
    )
    add_live_options(parser)
    parser.add_argument("tickets", nargs="+", metavar="TICKET", help="ticket ids")
    add_at(parser)
    add_tz(parser)
    parser.add_argument("--json", action="store_true", help="print JSON, one ticket per line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print each ticket's status; exit 1 when a ticket is unknown."""
    zone = ZoneInfo(checked_zone(args.tz))
    now = evaluation_instant(args.at)
    engine, _ = open_engine(live_settings(args))
    missing = 0
    console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 120)
    try:
        for ticket in args.tickets:
            status = engine.status(ticket, now)
            if status is None:
                print(f"{ticket}: no such ticket (or not created by then)", file=sys.stderr)
                missing += 1
                continue
            if args.json:
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
                table.add_row(
                    metric.metric,
                    str(metric.instance),
                    metric.state,
                    local_time(metric.due, zone),
                    format_duration(metric.remaining),
                    "-"
                    if alert is None
                    else f"{alert.kind} {alert.level} at {local_time(alert.at, zone)}",
                )
            console.print(table)
    finally:
        engine.store.close()
    return 1 if missing else 0
