"""Benchmark: parse, group and evaluate synthetic ticket timelines on one core.

Run from the repository root::

    python3 benchmarks/bench_evaluate.py                  # 100,000 tickets
    python3 benchmarks/bench_evaluate.py --tickets 20000 --repeat 5
    python3 benchmarks/bench_evaluate.py --profile 25     # cProfile of one evaluation
    python3 benchmarks/bench_evaluate.py --command        # the command, against the floor

With ``--command`` the benchmark times ``slaengine evaluate --format json`` end to end
instead (see :func:`command_benchmark`): the floor, then the command on a file grouped by
ticket and on the same lines shuffled, with one and two jobs, each as a ratio to the floor.

Each stage is timed on its own, so a figure never hides another stage's work:

1. generate   synthetic events as JSON Lines text (setup, shown for information)
2. parse      JSON Lines text -> Event objects (json.loads + parse_event, via parse_lines)
3. group      Event objects -> timelines (build_timelines: de-duplicate, sort, check)
4. evaluate   slaengine.evaluate(policies, timelines, now) on pre-built timelines,
              after a warm-up that compiles the calendar tables; best and median of
              ``--repeat`` runs, garbage collector enabled as in real use.

The process is pinned to one CPU where the OS allows it.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import datetime as dt
import gc
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import slaengine
from slaengine.compiled import describe
from slaengine.inputs.synthetic import generate_lines, write_jsonl

HERE = Path(__file__).resolve().parent
DEFAULT_POLICY = HERE / "policies" / "bench.yaml"
T = TypeVar("T")


def timed(func: Callable[..., T], *args: object) -> tuple[T, float]:
    """Run ``func(*args)`` once after a full collection; return its result and wall seconds."""
    gc.collect()
    began = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - began


def drain(items: Iterable[object]) -> int:
    """Consume ``items`` without keeping them; return how many there were."""
    count = 0
    for _ in items:
        count += 1
    return count


def pin_one_cpu() -> str:
    """Pin this process to a single CPU when the OS supports it; describe what happened."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    return f"pinned to CPU {cpus[0]}"


def rate(count: int, seconds: float) -> str:
    """``count`` per second, human-readable."""
    return f"{count / seconds:>12,.0f}/s" if seconds > 0 else "         inf/s"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--start", default="2025-09-01T00:00:00+02:00", help="window start, ISO 8601 with offset"
    )
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--policies",
        default=str(DEFAULT_POLICY),
        help="policy file or directory (default: benchmarks/policies/bench.yaml)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="evaluation runs (best and median)")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also cProfile one evaluation and print the top N functions",
    )
    parser.add_argument(
        "--command",
        action="store_true",
        help="time `slaengine evaluate --format json` end to end against the json.loads floor",
    )
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="with --command")
    parser.add_argument(
        "--cache", type=Path, help="with --command: directory for the events files (default: temp)"
    )
    args = parser.parse_args(argv)
    if args.command:
        return command_benchmark(args)

    start = dt.datetime.fromisoformat(args.start)
    now = start + dt.timedelta(days=args.days)
    print(
        f"slaengine {slaengine.__version__} ({describe()}), Python {sys.version.split()[0]}, "
        f"{pin_one_cpu()}"
    )
    print(
        f"{args.tickets:,} tickets, seed {args.seed}, {args.days} days from {start.isoformat()}, "
        f"evaluated at {now.isoformat()}"
    )
    policies = slaengine.load_policies(args.policies)
    print(
        f"policies: {args.policies} ({len(policies.policies)} policies, "
        f"calendars {', '.join(policies.calendars)})\n"
    )

    lines: list[str]
    lines, gen_s = timed(list, generate_lines(args.tickets, args.seed, start, args.days))
    n_events = len(lines)
    print(
        f"generate  {n_events:>10,} events  {gen_s:7.2f} s {rate(n_events, gen_s)} events "
        f"({n_events / max(args.tickets, 1):.1f} per ticket; setup, not part of any figure below)"
    )

    _, decode_s = timed(list, map(json.loads, lines))
    problems: list[slaengine.Problem] = []
    events: list[slaengine.Event]
    events, parse_s = timed(
        list, slaengine.parse_lines(lines, "<bench>", policies.status_map, problems)
    )
    if problems:
        print(f"unexpected: {len(problems)} problems, first: {problems[0]}", file=sys.stderr)
        return 1
    print(
        f"parse     {n_events:>10,} events  {parse_s:7.2f} s {rate(n_events, parse_s)} events "
        f"(JSON text -> Event; json.loads alone: {rate(n_events, decode_s).strip()})"
    )
    gc.disable()
    try:
        _, parse_nogc_s = timed(drain, slaengine.parse_lines(lines, "<bench>", policies.status_map))
    finally:
        gc.enable()
    print(
        f"  no GC     parse, events dropped, gc.disable(): {rate(n_events, parse_nogc_s).strip()} "
        "events (the GC's share grows with the number of live events)"
    )
    del lines

    timelines, group_s = timed(slaengine.build_timelines, events, "<bench>")
    n_tickets = len(timelines.timelines)
    print(
        f"group     {n_events:>10,} events  {group_s:7.2f} s {rate(n_events, group_s)} events "
        f"-> {n_tickets:,} timelines ({rate(n_tickets, group_s).strip()} tickets)"
    )
    if timelines.problems or timelines.duplicates:
        print(
            f"unexpected: {len(timelines.problems)} problems, {timelines.duplicates} duplicates",
            file=sys.stderr,
        )
        return 1
    del events

    warm = list(timelines.timelines.values())[:1000]
    _, warm_s = timed(slaengine.evaluate, policies, warm, now)
    print(
        f"warm-up   {len(warm):>10,} tickets {warm_s:7.2f} s (compiles calendar tables; excluded)"
    )

    times: list[float] = []
    results: list[slaengine.TicketResult] = []
    for _ in range(max(1, args.repeat)):
        results, seconds = timed(slaengine.evaluate, policies, timelines, now)
        times.append(seconds)
    best, median = min(times), statistics.median(times)
    n_clocks = sum(len(r.clocks) for r in results)
    print(
        f"evaluate  {n_tickets:>10,} tickets {best:7.2f} s {rate(n_tickets, best)} tickets "
        f"(best of {len(times)}; median {rate(n_tickets, median).strip()}; "
        f"{rate(n_clocks, best).strip()} clocks)"
    )

    # Where the time goes besides the engine's own work (information, not the headline):
    # streaming results instead of keeping 100,000 of them alive, and the cyclic GC's share.
    _, stream_s = timed(drain, slaengine.iter_evaluate(policies, timelines, now))
    print(
        f"  streamed  iter_evaluate, results dropped:   {rate(n_tickets, stream_s).strip()} tickets"
    )
    gc.disable()
    try:
        _, nogc_s = timed(slaengine.evaluate, policies, timelines, now)
    finally:
        gc.enable()
    print(
        f"  no GC     evaluate with gc.disable():       {rate(n_tickets, nogc_s).strip()} tickets "
        f"(cyclic GC costs {max(0.0, 1 - nogc_s / best):.0%} of the evaluate figure)"
    )

    total = parse_s + group_s + best
    print(
        f"\nend to end (parse + group + evaluate): {rate(n_tickets, total).strip()} tickets, "
        f"{rate(n_events, total).strip()} events"
    )
    goal = 20_000
    verdict = "meets" if n_tickets / best >= goal else "MISSES"
    print(f"evaluation {verdict} the goal of {goal:,} tickets/s on one core")

    states = collections.Counter(c.state for r in results for c in r.clocks)
    per_policy = collections.Counter(r.policy.name if r.policy else "(unmatched)" for r in results)
    print(f"\n{n_clocks:,} clocks: " + ", ".join(f"{k} {v:,}" for k, v in sorted(states.items())))
    print("policies: " + ", ".join(f"{k} {v:,}" for k, v in sorted(per_policy.items())))

    if args.profile:
        print(f"\ncProfile of one evaluation (top {args.profile} by own time):")
        profiler = cProfile.Profile()
        profiler.enable()
        slaengine.evaluate(policies, timelines, now)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.profile)
    return 0


# -- the command end to end -----------------------------------------------------------------

# Run in a child process: the json.loads floor over the lines of a file, on one core.
_FLOOR = """
import json, os, sys, time
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
loads = json.loads
with open(sys.argv[1], encoding="utf-8") as stream:
    lines = stream.readlines()
began = time.perf_counter()
for line in lines:
    loads(line)
print(time.perf_counter() - began)
"""
# Run in a child process: a command's wall time and the peak RSS (KiB) of the largest of its
# processes (getrusage of the children it waited for: the command and its workers).
_MEASURE = """
import resource, subprocess, sys, time
began = time.perf_counter()
status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
took = time.perf_counter() - began
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print(took, used.ru_maxrss, status, used.ru_utime + used.ru_stime)
"""


def measured(command: list[str]) -> tuple[float, int, int, float]:
    """Wall seconds, peak RSS in KiB, exit status and CPU seconds (all its processes) of
    ``command``, run by a fresh child."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]), float(out[3])


def command_events(tickets: int, seed: int, start: dt.datetime, days: int, cache: Path) -> Path:
    """The cached generated events file (grouped by ticket, as generated)."""
    path = cache / f"slaengine-evaluate-{tickets}-s{seed}-d{days}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_jsonl(partial, tickets, seed, start, days)
        partial.replace(path)
    return path


def shuffled_copy(path: Path, seed: int) -> Path:
    """The lines of ``path`` in random order (cached): they go through the spill."""
    target = path.with_name(path.stem + "-shuffled.jsonl")
    if not target.exists():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        random.Random(seed).shuffle(lines)
        partial = target.with_suffix(".partial")
        partial.write_text("".join(lines), encoding="utf-8")
        del lines
        partial.replace(target)
    return target


def command_benchmark(args: argparse.Namespace) -> int:
    """``slaengine evaluate --format json`` end to end, as ratios to the ``json.loads`` floor.

    The floor is a loop of ``json.loads`` over the file's lines in a child process pinned to
    one core, measured in the same run; each command runs in a fresh child, its wall time
    including interpreter start-up, its peak RSS that of its largest process.
    """
    start = dt.datetime.fromisoformat(args.start)
    now = start + dt.timedelta(days=args.days)
    cache = args.cache or Path(tempfile.gettempdir())
    cache.mkdir(parents=True, exist_ok=True)
    print(f"slaengine {slaengine.__version__} ({describe()}), Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    grouped = command_events(args.tickets, args.seed, start, args.days, cache)
    files = {"grouped": grouped, "shuffled": shuffled_copy(grouped, args.seed)}
    lines = sum(1 for _ in grouped.open(encoding="utf-8"))
    print(f"{args.tickets:,} tickets, {lines:,} events, {grouped.stat().st_size / 2**20:,.0f} MiB; "
          f"policies {args.policies}; at {now.isoformat()}")  # fmt: skip
    floor_out = subprocess.run(
        [sys.executable, "-c", _FLOOR, str(grouped)], capture_output=True, text=True, check=True
    )
    floor = float(floor_out.stdout)
    print(f"\nfloor     json.loads of every line, one core: {floor:7.2f} s  1.00x")
    base = [sys.executable, "-m", "slaengine", "evaluate", "-p", args.policies, "--at",
            now.isoformat(), "--format", "json"]  # fmt: skip
    startup, _, _, _ = measured([sys.executable, "-m", "slaengine", "--help"])
    print(f"start-up  python3 -m slaengine --help:          {startup:7.2f} s  "
          f"{startup / floor:.2f}x (included below)")  # fmt: skip
    failed = 0
    for order, path in files.items():
        for jobs in args.jobs:
            seconds, rss, status, cpu = measured([*base, "-e", str(path), "-j", str(jobs)])
            failed += status not in (0, 1)
            # CPU seconds too: on a shared machine they vary less than the wall time.
            print(f"evaluate  -f json -j {jobs} {order:<9}              {seconds:7.2f} s  "
                  f"{seconds / floor:.2f}x  peak {rss / 1024:,.0f} MiB  cpu {cpu:.2f} s"
                  f"{'' if status in (0, 1) else f'  (exit {status})'}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
