"""Fault-injection benchmark: the live worker under SIGKILL, slow, trickling and hung receivers.

Run from the repository root (PostgreSQL server binaries needed for ``kills``:
``apt-get install postgresql``, or ``--postgres-url``)::

    python3 benchmarks/bench_faults.py                 # >= 100 SIGKILLs, about 4 minutes
    python3 benchmarks/bench_faults.py --small         # the CI size, under a minute

Real ``slaengine run`` processes read a JSON Lines directory (the bundled jsonl
source, with poison lines among the events) and post to HTTP receivers in this
process (the bundled webhook notifier). Each receiver counts every request by
idempotency key, on arrival, as a receiver that acts on a request would.

Scenarios:

``kills``    two workers on one PostgreSQL state, a fast and a slow receiver
             (1.5 s per request), a lease of 5 s; a worker is SIGKILLed at a
             random point every 0.3-1.5 s and restarted. Then no more kills,
             until everything is delivered.
``hostile``  one worker on SQLite; a fast receiver, one that trickles its answer
             (a byte every 1.5 s against a 2 s timeout), one that never answers.
             Then SIGTERM while those deliveries hang.

Figures per scenario: notifications expected and received, ``lost`` (never
received), ``dup keys`` (received more than once) and how many of those no
kill explains (a repeat needs the sending worker killed between its request
and its recording, at most ``HANDLER_LAG`` seconds before the receiver stamped
that request: ``unexplained`` must be 0), lateness of the healthy
receiver (arrival minus the notification's instant), rejected lines against
poison lines written, worker starts, and how long SIGTERM took.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOW_SECONDS = 1.5
HANDLER_LAG = 2.0  # seconds a kill may precede the receiver's stamp of the request it cut off
TRICKLE_SECONDS = 1.5

KILL_POLICY = """\
version: 1
policies:
  - name: faults
    calendar: 24x7
    metrics:
      first_response:
        targets: 4s
        warn_at: [{at: 50%, notify: [fast]}]
        escalations:
          - {after: 0s, notify: [fast]}
          - {after: 2s, notify: [fast, slow]}
"""
HOSTILE_POLICY = """\
version: 1
policies:
  - name: hostile
    calendar: 24x7
    metrics:
      first_response:
        targets: 4s
        warn_at: [{at: 50%, notify: [fast]}]
        escalations:
          - {after: 0s, notify: [fast, trickle, hung]}
"""
# Lines that once crashed the worker or stalled its source for good.
POISON: tuple[bytes, ...] = (
    b'{"id": "p1", "ticket": "T-\\ud800", "type": "created", "at": "2025-12-01T10:00:00Z"}',
    b'{"id": "p2", "ticket": "T-\\u0000", "type": "created", "at": "2025-12-01T10:00:00Z",'
    b' "channel": "chat", "priority": "high"}',
    b'{"id": "p3", "n": ' + b"9" * 5000 + b"}",
    b'{"id": "p4", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"id": "p5", "ticket": "caf\xe9"}',
    b"{not json",
)


def iso(instant: float) -> str:
    """``instant`` as ISO 8601 UTC text, whole seconds."""
    return dt.datetime.fromtimestamp(int(instant), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str) -> float:
    """ISO 8601 text to epoch seconds."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (``nan`` when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


# -- receivers --------------------------------------------------------------------------


class Receivers:
    """HTTP receivers on 127.0.0.1, one per path: ``fast``, ``slow``, ``trickle``, ``hung``."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.due: dict[str, float] = {}  # key -> the notification's instant
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, target: str) -> str:
        """Where ``target`` listens."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/{target}"

    def close(self) -> None:
        """Stop answering (hung and trickling requests end too)."""
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                arrived = time.time()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                target = self.path.strip("/")
                notification = body["notification"]
                with receivers.lock:
                    receivers.arrivals[(target, notification["key"])].append(arrived)
                    receivers.due[notification["key"]] = epoch(notification["at"])
                if target == "hung":
                    receivers.closing.wait(600)
                    return
                if target == "slow":
                    time.sleep(SLOW_SECONDS)
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                if target != "trickle":
                    self.wfile.write(answer)
                    return
                for byte in answer:
                    if receivers.closing.wait(TRICKLE_SECONDS):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def log_message(self, *args: object) -> None:
                pass

        return Handler


# -- workers ----------------------------------------------------------------------------


def start_worker(config: Path, log: Path, tick: float) -> subprocess.Popen[bytes]:
    """A ``slaengine run`` process with the webhook and jsonl plugins, logging to ``log``."""
    env = {**os.environ, "SLAENGINE_PLUGINS": "webhook,jsonl", "PYTHONUNBUFFERED": "1"}
    env.pop("SLAENGINE_CONFIG", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "slaengine",
                "run",
                "--config",
                str(config),
                "--tick",
                f"{tick}",
            ],
            stdout=out,
            stderr=out,
            env=env,
            cwd=config.parent,
        )


def starts(log: Path) -> int:
    """How many times the workers logging to ``log`` got as far as ``worker started``."""
    return log.read_text(encoding="utf-8", errors="replace").count('"worker started"')


def wait_started(log: Path, count: int, seconds: float = 30) -> None:
    """Wait until ``log`` shows ``count`` starts (a kill then hits a working worker)."""
    deadline = time.monotonic() + seconds
    while starts(log) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_worker(worker: subprocess.Popen[bytes]) -> float:
    """SIGTERM ``worker``; seconds until it exited (it is killed after 60)."""
    sent = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    return time.monotonic() - sent


def write_source(
    inbox: Path, tickets: dict[str, int], chunks: int
) -> list[tuple[float, Path, bytes]]:
    """The source's files: when each is due to appear, where, and its bytes (poison included)."""
    names = sorted(tickets, key=tickets.__getitem__)
    plan = []
    for number in range(chunks):
        part = names[number::chunks]
        lines = [
            json.dumps(
                {
                    "id": f"c-{name}",
                    "ticket": name,
                    "type": "created",
                    "at": iso(tickets[name]),
                    "channel": "chat",
                    "priority": "high",
                }
            ).encode()
            for name in part
        ]
        # The poison lines go between the events, so the events after them are at stake.
        for index, poison in enumerate(POISON[number::chunks]):
            lines.insert(min(len(lines), 1 + 2 * index), poison)
        first = min((tickets[n] for n in part), default=time.time()) - 2
        plan.append((first, inbox / f"events-{number:03d}.jsonl", b"\n".join(lines) + b"\n"))
    return plan


@dataclass
class Outcome:
    """The figures of one scenario."""

    name: str
    kills: int = 0
    expected: set[tuple[str, str]] = field(default_factory=set)
    received: set[tuple[str, str]] = field(default_factory=set)
    duplicated: list[tuple[str, str]] = field(default_factory=list)
    unexplained: list[tuple[str, str]] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)
    poison: int = 0
    rejects: int = 0
    events: int = 0
    tickets: int = 0
    starts: int = 0
    stop_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        """Expected notifications never received."""
        return len(self.expected - self.received)

    def line(self) -> str:
        """One table row."""
        late = self.lateness
        return (
            f"{self.name:<8} {self.kills:>5} {len(self.expected):>8} "
            f"{len(self.received & self.expected):>8} {self.lost:>5} {len(self.duplicated):>8} "
            f"{len(self.unexplained):>11}   {percentile(late, 0.5):6.2f} "
            f"{percentile(late, 0.95):6.2f} {max(late, default=float('nan')):6.2f}   "
            f"{self.rejects:>3}/{self.poison:<3} {self.events:>4}/{self.tickets:<4} "
            f"{self.starts:>6} {self.stop_seconds:7.2f} {self.seconds:7.1f}"
        )


HEADER = (
    "scenario kills expected received  lost dup keys unexplained   late p50    p95    max   "
    "rejects  events starts stop(s)  wall(s)"
)


def _settle(
    outcome: Outcome,
    receivers: Receivers,
    kill_times: list[float],
    healthy: str,
    state: str,
    started: int,
) -> None:
    """Fill ``outcome`` from what the receivers saw and what the state holds."""
    from slaengine.live import Store

    with receivers.lock:
        arrivals = {pair: list(times) for pair, times in receivers.arrivals.items()}
        due = dict(receivers.due)
    outcome.received = set(arrivals)
    for pair, times in arrivals.items():
        if len(times) > 1:
            outcome.duplicated.append(pair)
            # The receiver stamps a request when its handler runs, which on a busy
            # machine can be after the sender was killed with the request on its way.
            first, last = min(times) - HANDLER_LAG, max(times)
            if not any(first <= kill <= last for kill in kill_times):
                outcome.unexplained.append(pair)
        if pair[0] == healthy and pair in outcome.expected:
            outcome.lateness.append(min(times) - due[pair[1]])
    store = Store.open(state)
    try:
        counts = store.counts()
    finally:
        store.close()
    outcome.rejects, outcome.events = counts["rejects"], counts["events"]
    outcome.starts = started


def _expected(tickets: dict[str, int], kinds: dict[str, tuple[str, ...]]) -> set[tuple[str, str]]:
    return {
        (target, f"{ticket}/first_response/1/{kind}")
        for ticket in tickets
        for kind, targets in kinds.items()
        for target in targets
    }


def _wait_for(receivers: Receivers, expected: set[tuple[str, str]], seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with receivers.lock:
            if expected <= set(receivers.arrivals):
                return
        time.sleep(0.2)


def _writer(plan: list[tuple[float, Path, bytes]]) -> threading.Thread:
    """Write each source file when it is due (as an exporter would), on a thread."""

    def write() -> None:
        for when, path, data in sorted(plan):
            time.sleep(max(0.0, when - time.time()))
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.rename(path)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _config(workdir: Path, state: str, policy: str, targets: dict[str, tuple[str, float]]) -> Path:
    """The policy, an empty inbox and the settings; ``targets``: name -> (url, timeout)."""
    (workdir / "policy.yaml").write_text(policy, encoding="utf-8")
    (workdir / "inbox").mkdir()
    text = [
        f'[live]\npolicies = ["policy.yaml"]\nstate = "{state}"\nlease = "5s"\n',
        "[live.retry]\nfirst = 1\ncap = 2\n",
        '[plugins.jsonl.sources.inbox]\npath = "inbox"\n',
    ]
    for target, (url, timeout) in targets.items():
        text.append(f'[plugins.webhook.targets.{target}]\nurl = "{url}"\n')
        text.append(f"timeout = {timeout}\nretries = 0\n")
    config = workdir / "slaengine.toml"
    config.write_text("".join(text), encoding="utf-8")
    return config


def run_kills(workdir: Path, state: str, kills: int, tickets: int, seed: int) -> Outcome:
    """Two workers on one PostgreSQL state, SIGKILLed ``kills`` times in all."""
    outcome = Outcome("kills")
    receivers = Receivers()
    began = time.monotonic()
    try:
        targets = {"fast": (receivers.url("fast"), 5.0), "slow": (receivers.url("slow"), 10.0)}
        config = _config(workdir, state, KILL_POLICY, targets)
        rng = random.Random(seed)
        window = kills * 0.9
        start = time.time() + 3
        created = {
            f"K-{n}": int(start + n * max(1.0, window * 0.7) / tickets) for n in range(tickets)
        }
        outcome.expected = _expected(
            created,
            {"warning/1": ("fast",), "escalation/1": ("fast",), "escalation/2": ("fast", "slow")},
        )
        plan = write_source(workdir / "inbox", created, 3)
        outcome.poison, outcome.tickets = len(POISON), tickets
        writer = _writer(plan)
        logs = [workdir / "worker-a.log", workdir / "worker-b.log"]
        workers = [start_worker(config, log, 0.5) for log in logs]
        kill_times: list[float] = []
        try:
            for number in range(kills):
                which = number % 2
                # Kill at a random point of a worker's work, not while it imports.
                wait_started(logs[which], number // 2 + 1)
                time.sleep(rng.uniform(0.1, 1.2))
                workers[which].send_signal(signal.SIGKILL)
                kill_times.append(time.time())
                workers[which].wait(10)
                workers[which] = start_worker(config, logs[which], 0.5)
            outcome.kills = len(kill_times)
            writer.join(window + 30)
            _wait_for(receivers, outcome.expected, 120)
            time.sleep(1)  # repeats arrive after the first copy, if at all
            outcome.stop_seconds = max(stop_worker(w) for w in workers)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
        _settle(outcome, receivers, kill_times, "fast", state, sum(starts(log) for log in logs))
    finally:
        receivers.close()
    outcome.seconds = time.monotonic() - began
    return outcome


def run_hostile(workdir: Path, tickets: int) -> Outcome:
    """One worker on SQLite with a fast, a trickling and a hung receiver; then SIGTERM."""
    outcome = Outcome("hostile")
    receivers = Receivers()
    began = time.monotonic()
    state = str(workdir / "state.db")
    try:
        targets = {
            "fast": (receivers.url("fast"), 5.0),
            "trickle": (receivers.url("trickle"), 2.0),
            "hung": (receivers.url("hung"), 10.0),
        }
        config = _config(workdir, state, HOSTILE_POLICY, targets)
        start = time.time() + 3
        spread = min(12, tickets)  # seconds over which the tickets are created
        created = {f"H-{n}": int(start + n * spread / tickets) for n in range(tickets)}
        outcome.expected = _expected(created, {"warning/1": ("fast",), "escalation/1": ("fast",)})
        outcome.poison, outcome.tickets = len(POISON), tickets
        writer = _writer(write_source(workdir / "inbox", created, 2))
        log = workdir / "worker.log"
        worker = start_worker(config, log, 0.5)
        try:
            writer.join(60)
            _wait_for(receivers, outcome.expected, 60)
            outcome.stop_seconds = stop_worker(worker)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        _settle(outcome, receivers, [], "fast", state, starts(log))
    finally:
        receivers.close()
    outcome.seconds = time.monotonic() - began
    return outcome


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """The PostgreSQL URL to use: ``url``, else a throw-away cluster's (as the tests start)."""
    if url:
        yield url
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from live_support import _pg_bin, _temporary_cluster  # the tests' cluster starter

    bin_dir = _pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries not found: apt-get install postgresql")
    with _temporary_cluster(bin_dir) as (admin_url, _):
        yield admin_url


def run(
    postgres_url: str,
    kills: int = 100,
    tickets: int = 40,
    hostile_tickets: int = 20,
    seed: int = 20261203,
) -> list[Outcome]:
    """Both scenarios in fresh directories; their outcomes."""
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as top:
        (Path(top) / "kills").mkdir()
        (Path(top) / "hostile").mkdir()
        return [
            run_kills(Path(top) / "kills", postgres_url, kills, tickets, seed),
            run_hostile(Path(top) / "hostile", hostile_tickets),
        ]


def main() -> None:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="the CI size: 8 kills, few tickets")
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--tickets", type=int, default=40)
    parser.add_argument("--hostile-tickets", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--postgres-url", help="an empty database (default: a throw-away cluster)")
    args = parser.parse_args()
    if args.small:
        args.kills, args.tickets, args.hostile_tickets = 8, 6, 4
    with postgres(args.postgres_url) as url:
        outcomes = run(url, args.kills, args.tickets, args.hostile_tickets, args.seed)
    print(HEADER)
    for outcome in outcomes:
        print(outcome.line())


if __name__ == "__main__":
    main()
