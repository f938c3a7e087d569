"""Benchmark: every batch command against the ``json.loads`` floor, in one table.

Run from the repository root::

    python3 benchmarks/bench_pipeline.py                          # 100,000 tickets
    python3 benchmarks/bench_pipeline.py --tickets 100000 1000000  # and a million
    python3 benchmarks/bench_pipeline.py --commands audit --jobs 2 --repeat 3

For each number of tickets, event order (``grouped``: ticket by ticket, as
``slaengine generate`` writes; ``shuffled``: in random order, as a time-ordered
export is) and format (JSON Lines, Parquet), it prints the floor, ``json.loads``
of every line of the JSON Lines form of the same events in one process,
measured in the same run just before the commands, then each command's wall
time, its ratio to that floor, its CPU time (all its processes, user and
system) as a ratio to the floor's CPU time, and its peak resident memory
(``/usr/bin/time``: the largest process, a worker or the parent). Commands:
``audit --jobs N``, ``whatif --jobs N`` (the policies against themselves) and
``evaluate --format json``, their output discarded. With ``--repeat N`` each
figure, the floor's too, is the fastest of N runs. Input files are generated
once and cached (``--cache``; see ``bench_audit.py``).

On a quiet machine the wall ratio is what a user sees. On a shared one every
wall figure grows with the others' load (the 1-minute load average before each
row is printed), the floor least; the CPU ratio is the steadier figure, and
with ``--jobs 2`` the wall ratio is at best about half of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_audit import DAYS, POLICIES, START, converted, events_file, load_average, shuffled, timed

COMMANDS = ("audit", "whatif", "evaluate")


def floor(events: Path) -> tuple[float, float]:
    """Wall and CPU seconds for ``json.loads`` of every line of a JSON Lines file (read
    included)."""
    began, cpu = time.perf_counter(), time.process_time()
    with events.open(encoding="utf-8") as lines:
        for line in lines:
            json.loads(line)
    return time.perf_counter() - began, time.process_time() - cpu


def command_line(name: str, events: Path, at: str, jobs: int, policies: Path) -> list[str]:
    """The ``slaengine`` arguments of one timed command."""
    common = ["-p", str(policies), "-e", str(events), "--at", at]
    if name == "audit":
        return ["audit", *common, "--json", "--jobs", str(jobs)]
    if name == "whatif":
        return ["whatif", *common, "--against", str(policies), "--json", "--jobs", str(jobs)]
    return ["evaluate", *common, "--format", "json"]


def main() -> int:
    """Print the table; exit 1 when a command failed (exit status 2 or worse)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[100_000])
    parser.add_argument("--order", nargs="+", choices=("grouped", "shuffled"),
                        default=["grouped", "shuffled"])  # fmt: skip
    parser.add_argument("--formats", nargs="+", choices=("jsonl", "parquet"),
                        default=["jsonl", "parquet"])  # fmt: skip
    parser.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS))
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of audit and whatif")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the fastest counts")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--policies", type=Path, default=POLICIES)
    parser.add_argument(
        "--events",
        type=Path,
        help="a grouped JSON Lines file of --tickets tickets to use instead of generating one "
        "(events up to the evaluation instant, 90 days after 2025-09-01, count)",
    )
    args = parser.parse_args()
    if shutil.which("nproc"):
        cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout
        print(f"cores: {cores.strip()}; load average now: {load_average()}")
    at = (START + dt.timedelta(days=DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    header = (f"{'tickets':>9} {'order':8} {'format':7} {'floor s':>8} {'command':14} "
              f"{'s':>8} {'x floor':>8} {'cpu x':>8} {'peak MiB':>9} {'load':>5}")  # fmt: skip
    print(header)
    print("-" * len(header))
    failed = False
    for tickets in args.tickets:
        generated = args.events or events_file(tickets, args.cache)
        for order in args.order:
            lines = shuffled(generated) if order == "shuffled" else generated
            for fmt in args.formats:
                events = converted(lines, fmt)
                base, base_cpu = min(floor(lines) for _ in range(max(1, args.repeat)))
                for name in args.commands:
                    jobs = f" -j{args.jobs}" if name != "evaluate" else ""
                    before = load_average()
                    arguments = command_line(name, events, at, args.jobs, args.policies)
                    runs = [timed(arguments) for _ in range(max(1, args.repeat))]
                    seconds, rss, status, cpu = min(runs, key=lambda run: run[0])
                    failed = failed or status > 1
                    memory = f"{rss / 1024:,.0f}" if rss is not None else "?"
                    spent = f"{cpu / base_cpu:8.2f}" if cpu is not None else f"{'?':>8}"
                    print(
                        f"{tickets:>9,} {order:8} {fmt:7} {base:8.2f} {name + jobs:14} "
                        f"{seconds:8.2f} {seconds / base:8.2f} {spent} {memory:>9} {before:>5}"
                        + ("" if status <= 1 else f"  exit {status}"),
                        flush=True,
                    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
