"""``slaengine whatif``: backtest a policy change over historical tickets."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from typing import Any

import structlog
from rich.console import Console

from slaengine.cli.evaluate import report_problems
from slaengine.errors import EventError, UserError
from slaengine.eventlog import read_events
from slaengine.policy import PolicySet, load_policies
from slaengine.report.whatif import backtest_renderable, backtest_to_dict, flips_csv
from slaengine.timeline import Timeline, parse_instant
from slaengine.whatif import Backtest, backtest

# Set in each worker process before it runs: the parent's data, inherited by fork.
_SHARED: dict[str, Any] = {}


def register(commands: Any) -> None:
    """Add the ``whatif`` subcommand."""
    parser = commands.add_parser(
        "whatif",
        help="backtest a policy change over history",
        description="Evaluate historical tickets under the current policies and under changed "
        "ones, and compare: compliance before/after per metric, channel and priority, "
        "tickets whose outcome flips, and breaches per week.",
    )
    parser.add_argument(
        "--policies",
        "-p",
        action="append",
        required=True,
        metavar="OLD",
        help="the policies in force (file or directory; repeatable)",
    )
    parser.add_argument(
        "--against",
        "-a",
        action="append",
        required=True,
        metavar="NEW",
        help="the changed policies to compare with (repeatable)",
    )
    parser.add_argument(
        "--events",
        "-e",
        required=True,
        metavar="FILE",
        help="historical events, JSON Lines (.gz too); '-' reads stdin",
    )
    parser.add_argument(
        "--at", metavar="ISO", help="evaluation instant (default: now); later events are ignored"
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default 1; 0 = one per core)",
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--flips", metavar="FILE", help="write every flipped outcome as CSV")
    parser.add_argument("--rejects", metavar="FILE", help="write every unusable event's problem")
    parser.set_defaults(run=run)


def _part(bounds: tuple[int, int]) -> Backtest:
    timelines: list[Timeline] = _SHARED["timelines"]
    old: PolicySet = _SHARED["old"]
    new: PolicySet = _SHARED["new"]
    return backtest(old, new, timelines[bounds[0] : bounds[1]], _SHARED["now"])


def run_backtest(
    old: PolicySet, new: PolicySet, timelines: list[Timeline], now: int, jobs: int
) -> Backtest:
    """Backtest in ``jobs`` processes; the merged result equals a single-process run."""
    if jobs <= 1 or len(timelines) < 2 * jobs:
        return backtest(old, new, timelines, now)
    _SHARED.update(old=old, new=new, timelines=timelines, now=now)
    step = -(-len(timelines) // (jobs * 4))  # a few parts per worker evens out the load
    parts = [(i, min(i + step, len(timelines))) for i in range(0, len(timelines), step)]
    # fork shares the parsed timelines with the workers instead of pickling them.
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(jobs) as pool:
            results = pool.map(_part, parts)
    finally:
        _SHARED.clear()
    merged = Backtest()
    for result in results:
        merged.merge(result)
    return merged


def run(args: argparse.Namespace) -> int:
    """Load both policy sets and the history, backtest, print; 1 when events were unusable."""
    log = structlog.get_logger("slaengine.whatif")
    try:
        now = int(time.time()) if args.at is None else parse_instant(args.at)
    except EventError as exc:
        raise UserError(f"--at: {exc.reason}") from None
    if args.jobs < 0:
        raise UserError("--jobs must be 0 (one per core) or more")
    jobs = args.jobs or os.cpu_count() or 1
    old = load_policies(*args.policies)
    new = load_policies(*args.against)
    status_map = {**old.status_map, **new.status_map}
    try:
        history = read_events(args.events, status_map)
    except OSError as exc:
        raise UserError(f"--events: cannot read {args.events}: {exc.strerror or exc}") from None
    started = time.perf_counter()
    result = run_backtest(old, new, list(history.timelines.values()), now, jobs)
    log.info(
        "backtested",
        tickets=result.tickets,
        jobs=jobs,
        seconds=round(time.perf_counter() - started, 3),
    )
    if args.flips:
        with open(args.flips, "w", encoding="utf-8", newline="") as out:
            out.write(flips_csv(result))
    if args.json:
        sys.stdout.write(json.dumps(backtest_to_dict(result), indent=2) + "\n")
    else:
        console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 120)
        names = (", ".join(args.policies), ", ".join(args.against))
        console.print(backtest_renderable(result, *names))
    report_problems(history.problems, args.rejects)
    return 1 if history.problems else 0
