"""Benchmark: the engine alone against the ``json.loads`` floor, in CPU seconds.

Run from the repository root (``PYTHONPATH`` chooses the code measured)::

    python3 benchmarks/bench_engine.py                    # 20,000 tickets, 5 rounds
    python3 benchmarks/bench_engine.py --tickets 100000 --rounds 3

The events are generated once, parsed and grouped into timelines (not timed). Then, per
round, each figure in CPU seconds of this process (``time.process_time``: steadier than
the wall time on a shared machine, where other processes take the core):

- floor: ``json.loads`` of every input line, results dropped;
- evaluate: ``slaengine.evaluate`` on the timelines, results kept, collector on (as
  ``bench_evaluate.py`` measures it), with the collector's own time in it;
- streamed: ``iter_evaluate``, each result dropped as it comes (what the commands do);
- collector off: ``evaluate`` with ``gc.disable()``: the engine's own work.

Best and median of the rounds, and each best as a ratio to the floor's best.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import slaengine
from slaengine.inputs.synthetic import generate_lines

HERE = Path(__file__).resolve().parent


def cpu(func: Callable[[], object]) -> float:
    """CPU seconds of ``func()`` after a full collection (its result dropped)."""
    gc.collect()
    began = time.process_time()
    func()
    return time.process_time() - began


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--policies", default=str(HERE / "policies" / "bench.yaml"))
    args = parser.parse_args(argv)
    start = dt.datetime.fromisoformat("2025-09-01T00:00:00+02:00")
    now = start + dt.timedelta(days=90)
    lines = list(generate_lines(args.tickets, args.seed, start, 90))
    policies = slaengine.load_policies(args.policies)
    events = list(slaengine.parse_lines(lines, "<bench>", policies.status_map))
    timelines = slaengine.build_timelines(events, "<bench>")
    del events
    slaengine.evaluate(policies, list(timelines.timelines.values())[:1000], now)  # warm-up
    print(f"slaengine from {Path(slaengine.__file__).parent}, Python {sys.version.split()[0]}")
    print(f"{len(timelines.timelines):,} tickets, {len(lines):,} events; CPU seconds")

    def floor() -> None:
        loads = json.loads
        for line in lines:
            loads(line)

    def streamed() -> None:
        for _result in slaengine.iter_evaluate(policies, timelines, now):
            pass

    def evaluate() -> None:
        slaengine.evaluate(policies, timelines, now)

    def collector_off() -> None:
        gc.disable()
        try:
            slaengine.evaluate(policies, timelines, now)
        finally:
            gc.enable()

    runs: dict[str, list[float]] = {
        "floor": [],
        "evaluate": [],
        "streamed": [],
        "collector off": [],
    }
    figures = dict(zip(runs, (floor, evaluate, streamed, collector_off), strict=True))
    for _ in range(max(1, args.rounds)):
        for name, func in figures.items():
            runs[name].append(cpu(func))
    base = min(runs["floor"])
    for name, seconds in runs.items():
        best, median = min(seconds), statistics.median(seconds)
        print(f"{name:<14} best {best:6.3f} s  median {median:6.3f} s  {best / base:5.2f}x floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
