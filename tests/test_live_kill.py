"""Kill the worker with SIGKILL at random points; every due notification still arrives once.

A real ``slaengine run`` process reads events from a JSON Lines directory (the
bundled jsonl source) and posts notifications to an HTTP server in this test
process (the bundled webhook notifier). The server accepts each idempotency key
once, as a receiver should; it also counts raw repeats, which can only come from
a kill between a POST and its recording, so there are at most as many as kills.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("slaengine_webhook", reason="the bundled webhook plugin is not installed")
pytest.importorskip("slaengine_jsonl", reason="the bundled jsonl source plugin is not installed")

from slaengine.live import Store
from slaengine.live.store import DELIVERED

TICKETS = 24
POLICY = """\
version: 1
policies:
  - name: kill-test
    calendar: 24x7
    metrics:
      first_response:
        targets: 4s
        warn_at: [{at: 50%, notify: [sink]}]
        escalations:
          - {after: 0s, notify: [sink]}
          - {after: 2s, notify: [sink]}
"""


class Receiver:
    """What the test server accepted, by idempotency key, and how many repeats it saw."""

    def __init__(self) -> None:
        self.accepted: dict[str, dict[str, object]] = {}
        self.repeats: list[str] = []
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers["Idempotency-Key"]
                with receiver.lock:
                    if key in receiver.accepted:
                        # A repeat must be the same notification, not another one.
                        same = receiver.accepted[key]["notification"] == body["notification"]
                        receiver.repeats.append(key if same else f"DIFFERENT {key}")
                    else:
                        receiver.accepted[key] = body
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _started(log: Path) -> int:
    return log.read_text(encoding="utf-8").count('"worker started"')


def _start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SLAENGINE_PLUGINS": "webhook,jsonl", "PYTHONUNBUFFERED": "1"}
    env.pop("SLAENGINE_CONFIG", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "slaengine", "run", "--config", str(config), "--tick", "0.2"],
            stdout=out,
            stderr=out,
            env=env,
            cwd=config.parent,
        )


def test_sigkill_at_random_points_loses_and_repeats_nothing(tmp_path):
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        config = tmp_path / "slaengine.toml"
        config.write_text(
            f"""
[live]
policies = ["policy.yaml"]
state = "state.db"

[live.retry]
first = 1
cap = 2

[plugins.webhook.targets.sink]
url = "http://127.0.0.1:{server.server_address[1]}/sla"
timeout = 5

[plugins.jsonl.sources.inbox]
path = "inbox"
""",
            encoding="utf-8",
        )
        # Tickets created over the next seconds: each reaches its warning 2 s,
        # its breach (escalation 1) 5 s and escalation 2 7 s after creation
        # (a breach needs one second more than the 4 s target).
        start = int(time.time()) + 2
        created = {f"K-{i}": start + i * 6 // TICKETS for i in range(TICKETS)}
        half = TICKETS // 2
        lines = [
            json.dumps(
                {
                    "id": f"c-{ticket}",
                    "ticket": ticket,
                    "type": "created",
                    "at": _iso(at),
                    "channel": "chat",
                    "priority": "high",
                }
            )
            for ticket, at in created.items()
        ]
        (inbox / "a.jsonl").write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
        expected = {
            f"{ticket}/first_response/1/{kind}"
            for ticket in created
            for kind in ("warning/1", "escalation/1", "escalation/2")
        }

        rng = random.Random(20261123)
        log = tmp_path / "worker.log"
        kills = 0
        last_due = max(created.values()) + 7
        worker = _start_worker(config, log)
        try:
            while time.time() < last_due + 1:
                time.sleep(rng.uniform(0.3, 1.6))
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
                kills += 1
                if kills == 2:  # the second half of the tickets arrives while it is down
                    (inbox / "b.jsonl").write_text("\n".join(lines[half:]) + "\n", "utf-8")
                worker = _start_worker(config, log)
            # Generous deadlines for a loaded machine: each ends as soon as its condition holds.
            deadline = time.time() + 120
            while time.time() < deadline and not expected <= set(receiver.accepted):
                time.sleep(0.2)
            # SIGTERM stops a running worker cleanly; wait until this one runs (its handler
            # is in place once it says it started).
            deadline = time.time() + 120
            while time.time() < deadline and _started(log) < kills + 1:
                time.sleep(0.1)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(60) == 0, log.read_text(encoding="utf-8")[-3000:]
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)

        assert kills >= 5
        assert set(receiver.accepted) == expected, log.read_text(encoding="utf-8")[-3000:]
        # A repeat needs a kill between a POST and its recording; deliveries are one
        # at a time, so each kill can cause at most one.
        assert len(receiver.repeats) <= kills
        assert not [key for key in receiver.repeats if key.startswith("DIFFERENT")]
        for key, body in receiver.accepted.items():
            assert body["notification"]["key"] == key
        store = Store.open(tmp_path / "state.db")
        try:
            rows = store.outbox(limit=10_000)
            assert len(rows) == len(expected)
            assert {row.status for row in rows} == {DELIVERED}
            assert store.counts()["events"] == TICKETS  # the source's cursor repeated nothing
        finally:
            store.close()
        print(f"kills={kills} repeats={len(receiver.repeats)} delivered={len(receiver.accepted)}")
    finally:
        server.shutdown()
        server.server_close()
