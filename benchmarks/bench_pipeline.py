"""Benchmark: every batch command against the ``json.loads`` floor, in one table.

Run from the repository root::

    python3 benchmarks/bench_pipeline.py                         # 100k and 1M tickets
    python3 benchmarks/bench_pipeline.py --sizes 100k            # a quick run
    python3 benchmarks/bench_pipeline.py --commands audit-j2 --repeat 3

For each number of tickets (``--sizes``: ``100k``, ``1M``, or a plain number),
event order (``grouped``: ticket by ticket, as ``slaengine generate`` writes;
``shuffled``: in random order, as a time-ordered export is) and format (JSON
Lines, Parquet with a timestamp ``at`` column), it prints the floor,
``json.loads`` of every line of the JSON Lines form of the same events in one
process, measured in the same run just before the commands, then each
command's wall time, its ratio to that floor, its CPU time (all its processes,
user and system) as a ratio to the floor's CPU time, and its peak resident
memory (``/usr/bin/time``: the largest process, a worker or the parent).
Commands (``--commands``): ``evaluate`` (``--format json``), ``audit`` and
``whatif`` (the policies against themselves), each on one core or with
``-jN`` workers (``audit-j2``); by default ``evaluate``, ``audit`` and
``audit-j2``. Output is discarded. With ``evaluate`` among them, the fixed cost
comes first: ``evaluate`` of a file of one ticket (start-up, plugins,
policies), which every run pays whatever its size. With ``--repeat N`` each figure, the
floor's too, is the fastest of N runs. Input files are generated once and
cached (``--cache``; see ``bench_audit.py``).

On a quiet machine the wall ratio is what a user sees. On a shared one every
wall figure grows with the others' load (the 1-minute load average before each
row is printed), the floor least; the CPU ratio is the steadier figure, and
with ``-j2`` the wall ratio is at best about half of it.
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

COMMANDS = ("evaluate", "audit", "whatif")
DEFAULT_COMMANDS = ("evaluate", "audit", "audit-j2")


def floor(events: Path) -> tuple[float, float]:
    """Wall and CPU seconds for ``json.loads`` of every line of a JSON Lines file (read
    included)."""
    began, cpu = time.perf_counter(), time.process_time()
    with events.open(encoding="utf-8") as lines:
        for line in lines:
            json.loads(line)
    return time.perf_counter() - began, time.process_time() - cpu


def fixed_cost(events: Path, at: str, policies: Path) -> tuple[float, float | None]:
    """Wall and CPU seconds (the fastest of three runs) of ``evaluate`` on a file of the first
    ticket of ``events``: start-up (imports, plugins, policies) and the stream's set-up,
    with next to no events: what every run pays whatever its size."""
    with events.open(encoding="utf-8") as source:
        lines = [next(source)]
        ticket = json.loads(lines[0])["ticket"]
        for line in source:
            if json.loads(line)["ticket"] != ticket:
                break
            lines.append(line)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        one = Path(tmp) / "one-ticket.jsonl"
        one.write_text("".join(lines), encoding="utf-8")
        runs = [timed(command_line("evaluate", one, at, 1, policies)) for _ in range(3)]
    seconds, _, _, cpu = min(runs, key=lambda run: run[3] if run[3] is not None else run[0])
    return seconds, cpu


def command(spec: str) -> tuple[str, int]:
    """A ``--commands`` entry (``audit``, ``audit-j2`` ...) as a command name and its jobs."""
    name, _, jobs = spec.partition("-j")
    if name not in COMMANDS or not (jobs == "" or jobs.isdigit()):
        raise argparse.ArgumentTypeError(f"{spec!r}: one of {', '.join(COMMANDS)}, then -jN")
    return name, int(jobs or 1)


def size(text: str) -> int:
    """A ``--sizes`` entry: ``100k``, ``1M`` or a number of tickets."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: a number of tickets such as 100k or 1M")
    return int(digits) * scale


def command_line(name: str, events: Path, at: str, jobs: int, policies: Path) -> list[str]:
    """The ``slaengine`` arguments of one timed command."""
    common = ["-p", str(policies), "-e", str(events), "--at", at, "--jobs", str(jobs)]
    if name == "audit":
        return ["audit", *common, "--json"]
    if name == "whatif":
        return ["whatif", *common, "--against", str(policies), "--json"]
    return ["evaluate", *common, "--format", "json"]


def main() -> int:
    """Print the table; exit 1 when a command failed (exit status 2 or worse)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        "--tickets",
        dest="sizes",
        type=size,
        nargs="+",
        default=[100_000, 1_000_000],
        help="tickets: 100k, 1M ... (default both)",
    )
    parser.add_argument(
        "--order", nargs="+", choices=("grouped", "shuffled"), default=["grouped", "shuffled"]
    )
    parser.add_argument(
        "--formats", nargs="+", choices=("jsonl", "parquet"), default=["jsonl", "parquet"]
    )
    parser.add_argument(
        "--commands",
        nargs="+",
        type=command,
        default=[command(c) for c in DEFAULT_COMMANDS],
        help="evaluate, audit, whatif, each optionally -jN (audit-j2)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the fastest counts")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--policies", type=Path, default=POLICIES)
    parser.add_argument(
        "--events",
        type=Path,
        help="a grouped JSON Lines file of --sizes tickets to use instead of generating one "
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
    for number, tickets in enumerate(args.sizes):
        generated = args.events or events_file(tickets, args.cache)
        if number == 0 and any(name == "evaluate" for name, _ in args.commands):
            seconds, cpu = fixed_cost(generated, at, args.policies)
            spent = f"{cpu:.2f} s CPU, " if cpu is not None else ""
            print(f"fixed cost, evaluate of one ticket: {spent}{seconds:.2f} s wall", flush=True)
        for order in args.order:
            lines = shuffled(generated) if order == "shuffled" else generated
            for fmt in args.formats:
                events = converted(lines, fmt)
                base, base_cpu = min(floor(lines) for _ in range(max(1, args.repeat)))
                for name, jobs in args.commands:
                    label = name if jobs == 1 else f"{name} -j{jobs}"
                    before = load_average()
                    arguments = command_line(name, events, at, jobs, args.policies)
                    runs = [timed(arguments) for _ in range(max(1, args.repeat))]
                    seconds, rss, status, cpu = min(runs, key=lambda run: run[0])
                    failed = failed or status > 1
                    memory = f"{rss / 1024:,.0f}" if rss is not None else "?"
                    spent = f"{cpu / base_cpu:8.2f}" if cpu is not None else f"{'?':>8}"
                    print(
                        f"{tickets:>9,} {order:8} {fmt:7} {base:8.2f} {label:14} "
                        f"{seconds:8.2f} {seconds / base:8.2f} {spent} {memory:>9} {before:>5}"
                        + ("" if status <= 1 else f"  exit {status}"),
                        flush=True,
                    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
