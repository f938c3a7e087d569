"""SIGKILL the worker between deciding and sending, and between sending and recording.

A real ``slaengine run`` process reads events from a JSON Lines directory (the
bundled jsonl source) and sends e-mail through this plugin to an SMTP server in
this test process. The server kills the worker itself at the worst moments:
once when the worker has connected for a decided message but not yet sent it,
and once right after it accepted a message, before the worker could record it.
Random kills come on top. Every due notification must arrive, and each
``Message-ID`` must stand for one notification only; repeats (at most one per
kill) are the same message, which a receiver drops by its ``Message-ID``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("slaengine_jsonl", reason="the bundled jsonl source plugin is not installed")
pytest.importorskip("aiosmtpd", reason="the SMTP tests need aiosmtpd ([test] extra)")

from email_smtpd import Mailbox, SmtpServer

from slaengine.live import Store
from slaengine.live.store import DELIVERED

TICKETS = 16
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


class KillingMailbox(Mailbox):
    """Kills ``pid`` at the 3rd MAIL FROM (decided, not sent) and after the 6th accepted DATA."""

    def __init__(self) -> None:
        super().__init__()
        self.pid: int | None = None
        self.mails = 0
        self.server_kills: list[str] = []

    def _kill(self, why: str) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self.server_kills.append(why)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: Any
    ) -> str:
        self.mails += 1
        if self.mails == 3:
            self._kill("before sending")
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.received) == 6 and not any("after" in k for k in self.server_kills):
            self._kill("after accepting")  # the message is here; the worker never hears so
        return reply


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SLAENGINE_PLUGINS": "email,jsonl", "PYTHONUNBUFFERED": "1"}
    env.pop("SLAENGINE_CONFIG", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "slaengine", "run", "--config", str(config), "--tick", "0.2"],
            stdout=out,
            stderr=out,
            env=env,
            cwd=config.parent,
        )


def _all_delivered(state: Path) -> bool:
    store = Store.open(state)
    try:
        rows = store.outbox(limit=10_000)
    finally:
        store.close()
    return bool(rows) and all(row.status == DELIVERED for row in rows)


def test_sigkill_between_deciding_sending_and_recording_loses_nothing(tmp_path):
    mailbox = KillingMailbox()
    smtp = SmtpServer("none", mailbox=mailbox)
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

[plugins.email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "SLA <sla@example.org>"
timeout = 5

[plugins.email.targets.sink]
to = ["sink@example.org"]

[plugins.jsonl.sources.inbox]
path = "inbox"
""",
            encoding="utf-8",
        )
        start = int(time.time()) + 2
        created = {f"K-{i}": start + i * 5 // TICKETS for i in range(TICKETS)}
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
        (inbox / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        expected = {
            f"{ticket}/first_response/1/{kind}"
            for ticket in created
            for kind in ("warning/1", "escalation/1", "escalation/2")
        }

        rng = random.Random(20261203)
        log = tmp_path / "worker.log"
        kills = 0
        worker = _start(config, log)
        mailbox.pid = worker.pid
        last_due = max(created.values()) + 7
        next_random = time.time() + rng.uniform(1.0, 2.5)
        deadline = last_due + 40
        try:
            while time.time() < deadline:
                keys = {str(r.message["X-Slaengine-Key"]) for r in mailbox.received}
                if expected <= keys and time.time() > last_due:
                    break
                if worker.poll() is None and time.time() >= next_random < last_due:
                    worker.send_signal(signal.SIGKILL)
                    next_random = time.time() + rng.uniform(0.8, 2.0)
                if worker.poll() is not None:
                    worker.wait(10)
                    kills += 1
                    worker = _start(config, log)
                    mailbox.pid = worker.pid
                time.sleep(0.05)
            mailbox.pid = None
            # A worker killed after its last message was accepted resends it after its
            # restart: let the outbox settle before stopping the last worker.
            while time.time() < deadline and not _all_delivered(tmp_path / "state.db"):
                time.sleep(0.2)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(15) == 0
        finally:
            mailbox.pid = None
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)

        tail = log.read_text(encoding="utf-8")[-3000:]
        assert mailbox.server_kills == ["before sending", "after accepting"], tail
        assert kills >= 4, tail
        by_id = mailbox.by_message_id()
        keys_by_id = {
            mid: {str(r.message["X-Slaengine-Key"]) for r in got} for mid, got in by_id.items()
        }
        assert all(len(keys) == 1 for keys in keys_by_id.values())  # one notification per id
        delivered = {next(iter(keys)) for keys in keys_by_id.values()}
        assert delivered == expected, tail
        assert len(by_id) == len(expected)  # exactly once by Message-ID
        repeats = len(mailbox.received) - len(by_id)
        assert 1 <= repeats <= kills  # the kill after accepting caused one, at the least
        for got in by_id.values():  # a repeat is the same message
            assert len({r.message.get_body(("plain",)).get_content() for r in got}) == 1
        store = Store.open(tmp_path / "state.db")
        try:
            rows = store.outbox(limit=10_000)
            assert len(rows) == len(expected)
            assert {row.status for row in rows} == {DELIVERED}
        finally:
            store.close()
        print(f"kills={kills} repeats={repeats} messages={len(by_id)}")
    finally:
        smtp.stop()
