"""Benchmark: the live engine on SQLite state.

Run from the repository root::

    python3 benchmarks/bench_live.py                   # 20,000 tickets, about 200,000 events
    python3 benchmarks/bench_live.py --tickets 5000 --latency-tickets 100

Stages, each timed on its own with wall time:

1. ingest     synthetic events, in the order they happened, fed to ``LiveEngine.ingest``
              in batches of ``--batch`` (as a source read delivers them): validation,
              JSON, and one SQLite transaction per batch (WAL, synchronous=NORMAL).
2. advance    one ``advance`` at the end of the window: every ticket re-evaluated from
              its stored events, notifications written to the outbox.
3. dispatch   every outbox row handed to a no-op recipient and marked delivered.
4. latency    a real worker thread on the wall clock (``Worker.run``) while tickets'
              warnings and breaches fall due over a few seconds; for each notification,
              the delay from its instant (``at``) to the moment the recipient got it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import slaengine
from slaengine.inputs.synthetic import generate_lines
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.worker import Worker
from slaengine.logs import configure_logging
from slaengine.notifications import Notification

HERE = Path(__file__).resolve().parent
DEFAULT_POLICY = HERE / "policies" / "bench.yaml"

LATENCY_POLICY = """
version: 1
policies:
  - name: live
    calendar: 24x7
    metrics:
      first_response:
        targets: 10s
        warn_at: [{at: 50%, notify: [sink]}]
        escalations:
          - {after: 0s, notify: [sink]}
"""


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def throughput(args: argparse.Namespace, workdir: Path) -> None:
    """Ingest, advance and dispatch on a SQLite file; prints one line per stage."""
    policies = slaengine.load_policies(args.policies)
    start = dt.datetime(2025, 9, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    lines = list(generate_lines(args.tickets, args.seed, start, days=args.days))
    events = [json.loads(line) for line in lines]
    # Live, events arrive in the order they happen.
    events.sort(key=lambda e: slaengine.parse_event(e).at)
    end = start + dt.timedelta(days=args.days)
    store = Store.open(workdir / "state.db")
    engine = LiveEngine(policies, store, recipients=lambda n: ("sink",))
    began = time.perf_counter()
    for first in range(0, len(events), args.batch):
        engine.ingest(events[first : first + args.batch], end)
    seconds = time.perf_counter() - began
    print(
        f"ingest    {len(events):>9,} events   {seconds:7.2f} s  "
        f"{len(events) / seconds:>10,.0f} events/s  (batches of {args.batch})"
    )
    began = time.perf_counter()
    report = engine.advance(end)
    seconds = time.perf_counter() - began
    print(
        f"advance   {report.evaluated:>9,} tickets  {seconds:7.2f} s  "
        f"{report.evaluated / seconds:>10,.0f} tickets/s  ({report.outbox_rows:,} rows queued)"
    )
    sink = Dispatcher(store, {"sink": lambda n: None})
    began = time.perf_counter()
    sent = sink.dispatch(int(end.timestamp()))
    seconds = time.perf_counter() - began
    print(
        f"dispatch  {sent.delivered:>9,} rows     {seconds:7.2f} s  "
        f"{sent.delivered / max(seconds, 1e-9):>10,.0f} rows/s"
    )
    store.close()


def latency(args: argparse.Namespace, workdir: Path) -> None:
    """A worker on the wall clock; delay from each notification's instant to its delivery."""
    policies = slaengine.loads_policies(LATENCY_POLICY, "latency.yaml")
    store = Store.open(workdir / "latency.db")
    engine = LiveEngine(policies, store)
    received: list[tuple[Notification, float]] = []

    def sink(notification: Notification) -> None:
        received.append((notification, time.time()))

    worker = Worker(engine, Dispatcher(store, {"sink": sink}), {}, tick=args.tick)
    now = int(time.time())
    # Tickets created over the next few seconds: warnings 5 s and breaches 11 s later.
    spread = max(1, args.spread)
    tickets = [
        {
            "id": f"c{i}",
            "ticket": f"L-{i}",
            "type": "created",
            "at": dt.datetime.fromtimestamp(now + i * spread // args.latency_tickets, dt.UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "channel": "chat",
            "priority": "high",
        }
        for i in range(args.latency_tickets)
    ]
    engine.ingest(tickets, now)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    expected = 2 * args.latency_tickets  # one warning and one escalation (at the breach) each
    deadline = time.time() + spread + 30
    while len(received) < expected and time.time() < deadline:
        time.sleep(0.1)
    worker.stop()
    thread.join(10)
    store.close()
    for kind in ("warning", "escalation"):
        delays = [at - n.at for n, at in received if n.kind == kind]
        if not delays:
            print(f"latency   {kind:<10} none received")
            continue
        print(
            f"latency   {kind:<10} {len(delays):>5} notifications  "
            f"p50 {statistics.median(delays):5.2f} s  p95 {percentile(delays, 0.95):5.2f} s  "
            f"max {max(delays):5.2f} s  (tick {args.tick} s)"
        )
    print(f"received  {len(received)} of {expected} expected")


def main() -> None:
    """Parse options, run the stages, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--policies", default=str(DEFAULT_POLICY))
    parser.add_argument("--latency-tickets", type=int, default=200)
    parser.add_argument("--spread", type=int, default=5, help="seconds over which tickets start")
    parser.add_argument("--tick", type=float, default=1.0)
    args = parser.parse_args()
    configure_logging(0)  # warnings only: a log line per delivery would be timed too
    with tempfile.TemporaryDirectory() as tmp:
        throughput(args, Path(tmp))
        latency(args, Path(tmp))


if __name__ == "__main__":
    main()
