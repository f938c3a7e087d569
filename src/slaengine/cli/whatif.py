"""``slaengine whatif``: backtest a policy change over historical tickets."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import structlog

from slaengine.batches.collector import collector_paused
from slaengine.cli._options import (
    add_at,
    add_events,
    add_jobs,
    add_policies,
    add_rejects,
    add_scheduler,
    evaluation_instant,
    load_command_policies,
    report_problems,
    unreadable_events,
    worker_count,
)
from slaengine.metric_names import labels_of
from slaengine.report.terminal import terminal_console
from slaengine.report.whatif import backtest_renderable, backtest_to_dict, flips_csv
from slaengine.whatif import backtest_file


def register(commands: Any) -> None:
    """Add the ``whatif`` subcommand."""
    parser = commands.add_parser(
        "whatif",
        help="backtest a policy change over history",
        description="Evaluate historical tickets under the current policies and under changed "
        "ones, and compare: compliance before/after per metric, channel and priority, "
        "tickets whose outcome flips, and breaches per week.",
    )
    add_policies(parser, "the policies in force: file or directory")
    parser.add_argument(
        "--against",
        "-a",
        action="append",
        required=True,
        metavar="NEW",
        help="the changed policies to compare with (repeatable)",
    )
    add_events(parser)
    add_at(parser)
    add_jobs(parser)
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--flips", metavar="FILE", help="write every flipped outcome as CSV")
    add_rejects(parser)
    add_scheduler(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load both policy sets and the history, backtest, print; 1 when events were unusable."""
    log = structlog.get_logger("slaengine.whatif")
    now = evaluation_instant(args.at)
    jobs = worker_count(args.jobs)
    old = load_command_policies(*args.policies)
    new = load_command_policies(*args.against)
    started = time.perf_counter()
    try:
        if args.scheduler:
            from slaengine.distributed.cli import backtest_on_scheduler

            result, batch = backtest_on_scheduler(args.scheduler, old, new, args.events, now)
        else:
            # The command owns its process: no cyclic collection while partitions run here.
            with collector_paused():
                result, batch = backtest_file(old, new, args.events, now, jobs)
    except OSError as exc:
        raise unreadable_events(args.events, exc) from None
    log.info(
        "backtested",
        tickets=result.tickets,
        lines=batch.lines,
        partitions=batch.partitions,
        jobs=jobs,
        seconds=round(time.perf_counter() - started, 3),
    )
    if args.flips:
        with open(args.flips, "w", encoding="utf-8", newline="") as out:
            out.write(flips_csv(result))
    if args.json:
        sys.stdout.write(json.dumps(backtest_to_dict(result), indent=2) + "\n")
    else:
        console = terminal_console(file_width=120)
        names = (", ".join(args.policies), ", ".join(args.against))
        # Metrics by their labels: the changed policies' first, then those in force.
        labels = {**labels_of(old), **labels_of(new)}
        console.print(backtest_renderable(result, *names, labels))
    report_problems(batch.problems, args.rejects, batch.duplicates)
    return 1 if batch.problems else 0
