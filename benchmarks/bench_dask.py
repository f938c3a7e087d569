"""Benchmark: ``slaengine audit`` locally and on a Dask cluster of two local workers.

Run from the repository root (needs ``python3 -m pip install ".[dask]"``)::

    python3 benchmarks/bench_dask.py                          # 100,000 tickets
    python3 benchmarks/bench_dask.py --order grouped shuffled --formats jsonl parquet

The events are generated and cached as ``bench_audit.py`` does. In one run it
prints the floor (``json.loads`` of every line of the JSON Lines input, in this
process), the local audit (``--jobs 2``) and the audit with ``--scheduler`` on a
``LocalCluster`` of two single-threaded worker processes started here, each a
subprocess timed by wall clock, and checks that both print the same JSON. The
cluster's start is not timed; connecting to it is (it is part of every run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_audit import DAYS, POLICIES, START, converted, events_file, shuffled


def floor(events: Path) -> float:
    """Seconds to decode every line of a JSON Lines file with the standard library."""
    began = time.perf_counter()
    loads = json.loads
    with events.open(encoding="utf-8") as source:
        for line in source:
            loads(line)
    return time.perf_counter() - began


def audit(events: Path, at: str, extra: list[str]) -> tuple[float, str]:
    """Wall seconds and standard output of one ``slaengine audit --json``."""
    command = [sys.executable, "-m", "slaengine", "audit", "-p", str(POLICIES),
               "-e", str(events), "--at", at, "--json", *extra]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - began, done.stdout


def main() -> int:
    """Time the floor, the local audit and the Dask audit on the same input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets (default 100,000)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--order", nargs="+", choices=("grouped", "shuffled"),
                        default=["grouped", "shuffled"])  # fmt: skip
    parser.add_argument("--formats", nargs="+", choices=("jsonl", "parquet"), default=["jsonl"])
    args = parser.parse_args()
    from distributed import LocalCluster

    generated = events_file(args.tickets, args.cache)
    at = (START + dt.timedelta(days=DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:  # fmt: skip
        for order, fmt in itertools.product(args.order, args.formats):
            events = shuffled(generated) if order == "shuffled" else generated
            source = converted(events, fmt)
            load = os.getloadavg()[0]
            floor_s = floor(events)
            local_s, local_out = audit(source, at, ["--jobs", "2"])
            dask_s, dask_out = audit(source, at, ["--scheduler", cluster.scheduler_address])
            same = "same JSON" if dask_out == local_out else "JSON DIFFERS"
            print(
                f"{args.tickets:,} tickets, {order}, {fmt} ({source.stat().st_size / 2**20:,.0f} "
                f"MiB; load before {load:.2f}): floor (json.loads) {floor_s:.2f} s; "
                f"local --jobs 2 {local_s:.2f} s ({local_s / floor_s:.1f}x floor); "
                f"Dask 2 workers {dask_s:.2f} s ({dask_s / floor_s:.1f}x floor); {same}"
            )
            if dask_out != local_out:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
