"""Benchmark: the stages of ``slaengine evaluate`` in one process, as CPU ratios to the floor.

    python3 benchmarks/bench_stages.py                         # 20,000 tickets, 9 rounds
    python3 benchmarks/bench_stages.py --tickets 5000 --rounds 3

One process, pinned to one core, the cyclic garbage collector off (as the commands
run). Each round times every stage once, in CPU seconds (``time.process_time``); a
stage's figure is its best round, printed as a ratio to the floor's best:

- ``floor``: ``json.loads`` of every line (in memory);
- ``parse``: the lines into events (``parse_block``, as the commands read a chunk);
- ``group``: the events into timelines (``build_timelines``);
- ``read``: the JSON Lines file into timelines as the commands read a chunk of it
  (``read_chunk`` of the whole file as one byte range: reading, decoding, parsing and
  grouping);
- ``engine``: the timelines evaluated (``iter_evaluate``, results kept);
- ``json out`` / ``csv out``: the results rendered as ``evaluate`` writes them (lines with
  their line breaks);
- ``parquet``: the same events from a Parquet file with a timestamp ``at`` column into
  timelines (``read_rows`` of every row: reading, events, grouping).

To compare two versions of the code, run it with each one's ``PYTHONPATH`` in turn,
in the same minute: the ratios are steadier than the seconds on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import slaengine
from slaengine.batches.chunks import Chunk, read_chunk
from slaengine.engine import iter_evaluate
from slaengine.inputs.jsonl import parse_block
from slaengine.inputs.parquet_parts import RowRange, read_rows
from slaengine.inputs.synthetic import generate_lines
from slaengine.report.csv import csv_renderer
from slaengine.report.json import ticket_json_line
from slaengine.timeline import build_timelines

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_audit import _write_parquet  # noqa: E402 - a sibling script

START = dt.datetime(2025, 9, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
DAYS = 90


def cpu(work: Callable[[], object]) -> tuple[object, float]:
    """``work()`` and the CPU seconds it took."""
    began = time.process_time()
    value = work()
    return value, time.process_time() - began


def main() -> int:
    """Print each stage's best CPU time and its ratio to the floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--policies", type=Path, default=HERE / "policies" / "bench.yaml")
    parser.add_argument("--stages", nargs="+", help="only these stages (floor always)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    policies = slaengine.load_policies(args.policies)
    now = int((START + dt.timedelta(days=DAYS)).timestamp())
    lines = [line.rstrip("\n") for line in generate_lines(args.tickets, 42, START, DAYS)]
    tmp = tempfile.TemporaryDirectory(prefix="bench-stages-")
    jsonl = Path(tmp.name) / "events.jsonl"
    jsonl.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    parquet = Path(tmp.name) / "events.parquet"
    _write_parquet(jsonl, parquet)
    rows = RowRange(str(parquet), 0, len(lines))
    whole = Chunk(jsonl, 1, 0, jsonl.stat().st_size)
    loads = json.loads
    source = "<bench>"

    def floor() -> None:
        for line in lines:
            loads(line)

    def parse() -> list[slaengine.Event]:
        events: list[slaengine.Event] = []
        parse_block(lines, 1, source, policies.status_map, [], events)
        return events

    events = parse()
    timelines = build_timelines(events, source, [])
    results = list(iter_evaluate(policies, timelines, now))  # also compiles the calendars

    def json_out() -> None:
        for result in results:
            ticket_json_line(result)

    def csv_out() -> None:
        render = csv_renderer()
        for result in results:
            render(result)

    stages: dict[str, Callable[[], object]] = {
        "floor": floor,
        "parse": parse,
        "group": lambda: build_timelines(events, source, []),
        "read": lambda: read_chunk(whole, source, policies.status_map),
        "engine": lambda: list(iter_evaluate(policies, timelines, now)),
        "json out": json_out,
        "csv out": csv_out,
        "parquet": lambda: read_rows(rows, source, policies.status_map),
    }
    if args.stages:
        stages = {k: v for k, v in stages.items() if k == "floor" or k in args.stages}
    best = dict.fromkeys(stages, float("inf"))
    gc.collect()
    gc.disable()
    for _ in range(args.rounds):
        for name, work in stages.items():
            value, seconds = cpu(work)
            del value
            best[name] = min(best[name], seconds)
    gc.enable()
    print(f"{len(lines):,} events, {len(results):,} tickets, best of {args.rounds} rounds, GC off")
    for name, seconds in best.items():
        print(f"{name:9} {seconds:7.3f} s  {seconds / best['floor']:5.2f}x")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
