"""``slaengine evaluate``: SLA clock states of every ticket in an events file."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from slaengine.batches.collector import collector_paused
from slaengine.cli._options import (
    add_at,
    add_events,
    add_jobs,
    add_policies,
    add_rejects,
    add_tz,
    checked_zone,
    evaluation_instant,
    load_command_policies,
    report_problems,
    unreadable_events,
    worker_count,
)
from slaengine.clocks import STATES
from slaengine.errors import UserError
from slaengine.logs import get_logger
from slaengine.stream import StreamOptions, StreamSummary, evaluate_stream
from slaengine.words import plural


def register(commands: Any) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = commands.add_parser(
        "evaluate",
        help="evaluate SLA clocks on ticket events",
        description="Evaluate SLA policies on a JSON Lines events file and print each ticket's "
        "clock states, tickets in the order of their first event in the file. JSON Lines and "
        "CSV are written with memory flat in the number of tickets; the table holds all it "
        "shows. Exit 1 when some events could not be used.",
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
        choices=[str(state) for state in STATES],  # plain words in argparse's error
        metavar="STATE",
        help="only tickets with a clock in this state (repeatable; "
        f"{', '.join(STATES)}); the table shows only those clocks",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="at most N tickets (after --state), in input order"
    )
    add_jobs(parser)
    add_rejects(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load, evaluate and print; returns 1 when some events were unusable."""
    log = get_logger("slaengine.evaluate")
    if args.segments and args.format != "json":
        raise UserError("--segments needs --format json")
    now = evaluation_instant(args.at)
    checked_zone(args.tz)
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be 1 or more")
    jobs = worker_count(args.jobs)
    policies = load_command_policies(*args.policies, targets=False)
    options = StreamOptions(
        now,
        format="results" if args.format == "table" else args.format,
        segments=args.segments,
        states=tuple(args.state or ()),
        limit=args.limit,
    )
    try:
        # The command owns its process: no cyclic collection while partitions run here.
        with collector_paused():
            summary = evaluate_stream(policies, args.events, options, sys.stdout, jobs=jobs)
    except BrokenPipeError:
        raise  # the reader of the output went away (head & co.): not an error
    except OSError as exc:
        if exc.filename is None or os.fspath(exc.filename) == os.fspath(args.events):
            raise unreadable_events(args.events, exc) from None
        # The temporary files (a full disk, say).
        raise UserError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None
    log.info(
        "evaluated",
        tickets=summary.tickets,
        unmatched=summary.unmatched,
        problems=len(summary.problems),
        duplicates=summary.duplicates,
    )
    if args.format == "table":
        _print_table(args, summary)
    # The table's summary line already counts duplicates.
    duplicates = summary.duplicates if args.format != "table" else 0
    report_problems(summary.problems, args.rejects, duplicates)
    return 1 if summary.problems else 0


def _print_table(args: argparse.Namespace, summary: StreamSummary) -> None:
    # Imported here: rich, which they use, is start-up time the other formats do not need.
    from slaengine.report.table import cell, results_table, selection_line
    from slaengine.report.terminal import fitted_width, terminal_console

    console = terminal_console()
    shown = summary.results
    console.print(results_table(shown, args.tz, fitted_width(console), states=args.state))
    text = plural(summary.tickets, "ticket")
    if args.state or args.limit:
        text += "; " + selection_line(len(shown), summary.matching, args.state)
    if summary.unmatched:
        text += f", {summary.unmatched} matched no policy: {', '.join(summary.unmatched_ids)}"
        text += " ..." if summary.unmatched > len(summary.unmatched_ids) else ""
    if summary.duplicates:
        text += f", {plural(summary.duplicates, 'duplicate event')} ignored"
    console.print(cell(text))
