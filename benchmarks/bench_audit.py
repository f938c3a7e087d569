"""Benchmark: ``slaengine audit`` end to end on synthetic tickets, one and two workers.

Run from the repository root::

    python3 benchmarks/bench_audit.py                     # 100,000 tickets
    python3 benchmarks/bench_audit.py --tickets 1000000   # a million (about 10 million events)
    python3 benchmarks/bench_audit.py --formats gz parquet --policies benchmarks/policies/bench.yaml
    python3 benchmarks/bench_audit.py --order grouped shuffled --formats gz   # chunks and spill

The events file is generated once with :func:`slaengine.inputs.synthetic.write_jsonl` and
cached in the temporary directory (``--cache DIR`` to choose), with gzip and
Parquet copies when ``--formats`` asks for them (Parquet: ``at`` a UTC timestamp
column, one string column per other key, ``tags`` a list, ``public`` a boolean,
``score`` a number, ``fields`` JSON text; it needs pyarrow). Each run is a
subprocess ``slaengine audit --json`` (output discarded), timed by wall clock and
shown as a ratio to the floor (``json.loads`` of every line of the JSON Lines form of the
same events, in this process, measured just before that input's runs),
under ``/usr/bin/time -v`` when it exists so the peak resident memory is known
(the largest process: with ``--jobs 2`` a worker or the parent, whichever peaks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import itertools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from slaengine.inputs.synthetic import write_jsonl

HERE = Path(__file__).resolve().parent
POLICIES = HERE.parent / "policies"
START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
DAYS = 90
SEED = 42
_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
_CPU = re.compile(r"(?:User|System) time \(seconds\): ([0-9.]+)")


def events_file(tickets: int, cache: Path) -> Path:
    """The cached synthetic events file for ``tickets`` tickets (generated when missing)."""
    path = cache / f"slaengine-audit-{tickets}-s{SEED}-d{DAYS}.jsonl"
    if not path.exists():
        began = time.perf_counter()
        partial = path.with_suffix(".partial")
        count = write_jsonl(partial, tickets, SEED, START, DAYS)
        partial.replace(path)
        print(f"generated {count:,} events in {time.perf_counter() - began:.1f} s -> {path}")
    return path


def shuffled(events: Path) -> Path:
    """A copy of ``events`` with its lines in random order (cached; seeded, so repeatable).

    The generator writes ticket by ticket, which ``audit`` reads without a spill;
    shuffled, the same events take the spill by ticket, as a time-ordered export would.
    Shuffled through 64 bucket files, so memory stays small.
    """
    target = events.with_name(events.stem + "-shuffled.jsonl")
    if target.exists():
        return target
    began = time.perf_counter()
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(dir=events.parent) as tmp:
        buckets = [(Path(tmp) / f"{i}.jsonl").open("w", encoding="utf-8") for i in range(64)]
        with events.open(encoding="utf-8") as source:
            for line in source:
                buckets[rng.randrange(64)].write(line)
        for bucket in buckets:
            bucket.close()
        partial = target.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as out:
            for i in range(64):
                lines = (Path(tmp) / f"{i}.jsonl").read_text(encoding="utf-8").splitlines(True)
                rng.shuffle(lines)
                out.writelines(lines)
        partial.replace(target)
    print(f"shuffled in {time.perf_counter() - began:.1f} s -> {target}")
    return target


def converted(events: Path, fmt: str) -> Path:
    """The cached ``gz`` or ``parquet`` copy of a JSON Lines file (``jsonl``: the file itself)."""
    if fmt == "jsonl":
        return events
    # "-ts": the instants are a timestamp column (files written before were text).
    target = (
        events.with_name(events.name + ".gz")
        if fmt == "gz"
        else events.with_name(events.stem + "-ts.parquet")
    )
    if target.exists():
        return target
    partial = target.with_name(target.name + ".partial")
    if fmt == "gz":
        with events.open("rb") as source, gzip.open(partial, "wb", compresslevel=6) as out:
            shutil.copyfileobj(source, out)
    else:
        _write_parquet(events, partial)
    partial.replace(target)
    return target


_STRING_KEYS = (
    "id", "ticket", "type", "channel", "priority", "status", "customer", "group",
    "assignee", "author", "agent",
)  # fmt: skip


def _write_parquet(events: Path, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("at", pa.timestamp("s", tz="UTC")),
        *((key, pa.string()) for key in _STRING_KEYS),
        ("tags", pa.list_(pa.string())),
        ("fields", pa.string()),
        ("public", pa.bool_()),
        ("score", pa.float64()),
    ])  # fmt: skip
    with events.open(encoding="utf-8") as source, pq.ParquetWriter(target, schema) as writer:
        while rows := [json.loads(line) for line in itertools.islice(source, 200_000)]:
            columns = {name: [row.get(name) for row in rows] for name in schema.names}
            columns["fields"] = [None if f is None else json.dumps(f) for f in columns["fields"]]
            columns["at"] = [dt.datetime.fromisoformat(at) for at in columns["at"]]
            writer.write_table(pa.table(columns, schema=schema))


def floor(events: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``json.loads`` of every line of a JSON Lines file, read
    included, in this process: the figure every audit is compared with."""
    began, cpu = time.perf_counter(), time.process_time()
    with events.open(encoding="utf-8") as lines:
        for line in lines:
            json.loads(line)
    return time.perf_counter() - began, time.process_time() - cpu


def audit_once(
    events: Path, jobs: int, at: str, policies: Path
) -> tuple[float, int | None, int, float | None]:
    """Wall seconds, peak RSS in KiB (``None`` when unknown), exit status and CPU seconds
    (``None`` when unknown) of one audit."""
    arguments = ["audit", "-p", str(policies), "-e", str(events), "--at", at, "--json"]
    return timed([*arguments, "--jobs", str(jobs), "--tz", "Europe/Berlin"])


def timed(arguments: list[str]) -> tuple[float, int | None, int, float | None]:
    """Wall seconds, peak RSS in KiB (``None`` when unknown), exit status and CPU seconds
    (user and system, all processes; ``None`` when unknown) of one ``slaengine`` command
    (its output discarded); the peak is the largest process's."""
    slaengine = shutil.which("slaengine")
    command = (
        [slaengine]
        if slaengine and not os.environ.get("PYTHONPATH")
        else [sys.executable, "-c", "import sys; from slaengine.cli import main; sys.exit(main())"]
    )
    command += arguments
    timer = "/usr/bin/time"
    if os.path.exists(timer):
        command = [timer, "-v", *command]
    began = time.perf_counter()
    done = subprocess.run(
        command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - began
    found = _RSS.search(done.stderr)
    cpu = [float(m.group(1)) for m in _CPU.finditer(done.stderr)]
    rss = int(found.group(1)) if found else None
    return seconds, rss, done.returncode, sum(cpu) if len(cpu) == 2 else None


def load_average() -> str:
    """The 1-minute load average before a run (other work on the machine skews figures)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def main() -> int:
    """Generate (or reuse) the events, then time the audit with one and two jobs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets (default 100,000)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="job counts to time")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per job count (best and median shown)"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--formats",
        nargs="+",
        choices=("jsonl", "gz", "parquet"),
        default=["jsonl"],
        help="input formats to time (default jsonl)",
    )
    parser.add_argument("--policies", type=Path, default=POLICIES, help="default policies/")
    parser.add_argument(
        "--order",
        nargs="+",
        choices=("grouped", "shuffled"),
        default=["grouped"],
        help="event order: as generated, ticket by ticket (read in chunks), or shuffled "
        "(spilled by ticket first); default grouped",
    )
    args = parser.parse_args()
    generated = events_file(args.tickets, args.cache)
    at = (START + dt.timedelta(days=DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for order, fmt in itertools.product(args.order, args.formats):
        events = shuffled(generated) if order == "shuffled" else generated
        source = converted(events, fmt)
        size = source.stat().st_size
        base, base_cpu = min(floor(events) for _ in range(max(1, args.repeat)))
        print(
            f"events: {source} ({size / 2**20:,.0f} MiB), {args.tickets:,} tickets, {order}, "
            f"at {at}; floor (json.loads of its lines) {base:.2f} s, {base_cpu:.2f} s CPU"
        )
        for jobs in args.jobs:
            runs = []
            for _ in range(max(1, args.repeat)):
                load = load_average()
                runs.append((*audit_once(source, jobs, at, args.policies), load))
            seconds, rss, status, cpu, load = min(runs, key=lambda run: run[0])
            median = statistics.median(run[0] for run in runs)
            memory = f"{rss / 1024:,.0f} MiB peak RSS" if rss is not None else "peak RSS unknown"
            spent = f"CPU {cpu / base_cpu:.2f}x floor" if cpu is not None else "CPU unknown"
            print(
                f"{fmt:>7} --jobs {jobs}: {seconds:7.2f} s  {seconds / base:5.2f}x floor  "
                f"{spent}  {args.tickets / seconds:>9,.0f} tickets/s  {memory}  (exit {status}; "
                f"median of {len(runs)} {median:.2f} s; load before best run {load})"
            )
            if status != 0:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
