"""``slaengine evaluate``: SLA clock states of every ticket in an events file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import structlog

from slaengine.cli._options import (
    add_at,
    add_events,
    add_policies,
    add_rejects,
    add_tz,
    checked_zone,
    evaluation_instant,
    load_command_policies,
    read_timelines,
    report_problems,
)
from slaengine.clocks import STATES
from slaengine.engine import iter_evaluate
from slaengine.errors import UserError
from slaengine.report.csv import csv_lines
from slaengine.report.json import json_lines
from slaengine.report.table import cell, results_table, select_tickets, selection_line
from slaengine.report.terminal import fitted_width, terminal_console
from slaengine.words import plural


def register(commands: Any) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = commands.add_parser(
        "evaluate",
        help="evaluate SLA clocks on ticket events",
        description="Evaluate SLA policies on a JSON Lines events file and print each ticket's "
        "clock states. Exit 1 when some events could not be used.",
    )
    add_policies(parser)
    add_events(parser)
    add_at(parser)
    parser.add_argument(
        "--format",
        "-f",
        choices=("table", "json", "csv"),
        default="table",
        help="table for people (default), JSON Lines or CSV for machines",
    )
    parser.add_argument(
        "--segments",
        action="store_true",
        help="with --format json: each clock's segments (counted or not, and why) and the "
        "adjustments its rules made",
    )
    add_tz(parser, "time zone of the times in the table")
    parser.add_argument(
        "--state",
        action="append",
        choices=STATES,
        metavar="STATE",
        help="only tickets with a clock in this state (repeatable; "
        f"{', '.join(STATES)}); the table shows only those clocks",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="at most N tickets (after --state), in input order"
    )
    add_rejects(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load, evaluate and print; returns 1 when some events were unusable."""
    log = structlog.get_logger("slaengine.evaluate")
    if args.segments and args.format != "json":
        raise UserError("--segments needs --format json")
    now = evaluation_instant(args.at)
    checked_zone(args.tz)
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be 1 or more")
    policies = load_command_policies(*args.policies)
    timelines = read_timelines(args.events, policies.status_map)
    results = list(iter_evaluate(policies, timelines, now, segments=args.segments))
    unmatched = [r.ticket for r in results if not r.matched]
    log.info(
        "evaluated",
        tickets=len(results),
        unmatched=len(unmatched),
        problems=len(timelines.problems),
        duplicates=timelines.duplicates,
    )
    shown, matching = select_tickets(results, args.state, args.limit)
    if args.format == "json":
        for line in json_lines(shown):
            sys.stdout.write(line + "\n")
    elif args.format == "csv":
        for chunk in csv_lines(shown):
            sys.stdout.write(chunk)
    else:
        console = terminal_console()
        console.print(results_table(shown, args.tz, fitted_width(console), states=args.state))
        summary = plural(len(results), "ticket")
        if args.state or args.limit:
            summary += "; " + selection_line(len(shown), matching, args.state)
        if unmatched:
            summary += f", {len(unmatched)} matched no policy: {', '.join(unmatched[:10])}"
            summary += " ..." if len(unmatched) > 10 else ""
        if timelines.duplicates:
            summary += f", {plural(timelines.duplicates, 'duplicate event')} ignored"
        console.print(cell(summary))
    # The table's summary line already counts duplicates.
    duplicates = timelines.duplicates if args.format != "table" else 0
    report_problems(timelines.problems, args.rejects, duplicates)
    return 1 if timelines.problems else 0
