"""``slaengine evaluate``: SLA clock states of every ticket in an events file."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import structlog
from rich.console import Console

from slaengine.engine import iter_evaluate
from slaengine.errors import EventError, Problem, UserError
from slaengine.eventlog import read_events
from slaengine.policy import load_policies
from slaengine.report.csv import csv_lines
from slaengine.report.json import json_lines
from slaengine.report.table import results_table
from slaengine.timeline import parse_instant

SHOWN_PROBLEMS = 20


def register(commands: Any) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = commands.add_parser(
        "evaluate",
        help="evaluate SLA clocks on ticket events",
        description="Evaluate SLA policies on a JSON Lines events file and print each ticket's "
        "clock states. Exit 1 when some events could not be used.",
    )
    parser.add_argument(
        "--policies",
        "-p",
        action="append",
        required=True,
        metavar="PATH",
        help="policy file or directory (repeatable)",
    )
    parser.add_argument(
        "--events",
        "-e",
        required=True,
        metavar="FILE",
        help="JSON Lines events (.gz too); '-' reads stdin",
    )
    parser.add_argument(
        "--at",
        metavar="ISO",
        help="evaluation instant with a UTC offset (default: now); later events are ignored",
    )
    parser.add_argument(
        "--format",
        "-f",
        choices=("table", "json", "csv"),
        default="table",
        help="table for people (default), JSON Lines or CSV for machines",
    )
    parser.add_argument(
        "--tz",
        default="UTC",
        metavar="ZONE",
        help="time zone of the times in the table (default UTC)",
    )
    parser.add_argument(
        "--rejects", metavar="FILE", help="write every unusable event's problem to FILE"
    )
    parser.set_defaults(run=run)


def _now(text: str | None) -> int:
    if text is None:
        return int(time.time())
    try:
        return parse_instant(text)
    except EventError as exc:
        raise UserError(f"--at: {exc.reason}") from None


def report_problems(problems: list[Problem], rejects: str | None) -> None:
    """Print the first problems on stderr; write them all to ``rejects`` when given."""
    for problem in problems[:SHOWN_PROBLEMS]:
        print(problem, file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        more = len(problems) - SHOWN_PROBLEMS
        print(
            f"... and {more} more problem(s)"
            + (f"; all in {rejects}" if rejects else "; use --rejects FILE to keep them all"),
            file=sys.stderr,
        )
    if rejects:
        with open(rejects, "w", encoding="utf-8") as out:
            out.writelines(f"{problem}\n" for problem in problems)


def run(args: argparse.Namespace) -> int:
    """Load, evaluate and print; returns 1 when some events were unusable."""
    log = structlog.get_logger("slaengine.evaluate")
    now = _now(args.at)
    if args.format == "table":
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(args.tz)
        except (KeyError, ValueError):
            raise UserError(f"--tz: unknown time zone {args.tz!r}") from None
    policies = load_policies(*args.policies)
    try:
        timelines = read_events(args.events, policies.status_map)
    except OSError as exc:
        raise UserError(f"--events: cannot read {args.events}: {exc.strerror or exc}") from None
    results = list(iter_evaluate(policies, timelines, now))
    unmatched = [r.ticket for r in results if not r.matched]
    log.info(
        "evaluated",
        tickets=len(results),
        unmatched=len(unmatched),
        problems=len(timelines.problems),
        duplicates=timelines.duplicates,
    )
    if args.format == "json":
        for line in json_lines(results):
            sys.stdout.write(line + "\n")
    elif args.format == "csv":
        for chunk in csv_lines(results):
            sys.stdout.write(chunk)
    else:
        console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
        console.print(results_table(results, args.tz))
        summary = f"{len(results)} tickets"
        if unmatched:
            summary += f", {len(unmatched)} matched no policy: {', '.join(unmatched[:10])}"
            summary += " ..." if len(unmatched) > 10 else ""
        if timelines.duplicates:
            summary += f", {timelines.duplicates} duplicate event(s) ignored"
        console.print(summary)
    if timelines.duplicates and args.format != "table":
        print(f"{timelines.duplicates} duplicate event(s) ignored (repeated id)", file=sys.stderr)
    report_problems(timelines.problems, args.rejects)
    return 1 if timelines.problems else 0
