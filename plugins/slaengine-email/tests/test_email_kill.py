"""SIGKILL the worker between deciding and sending, and between sending and recording.

A real ``slaengine run`` process reads events from a JSON Lines directory (the
bundled jsonl source) and sends e-mail through this plugin to an SMTP server in
this test process. The server kills the worker itself at the worst moments:
once when the worker has connected for a decided message but not yet sent it,
and once right after it accepted a message, before the worker could record it.
Random kills come on top. Every due notification must arrive, and each
``Message-ID`` must stand for one message only; repeats (at most one per kill)
are the same message, which a receiver drops by its ``Message-ID``. The same
holds for digests: each notification is in exactly one digest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("slaengine_jsonl", reason="the bundled jsonl source plugin is not installed")
pytest.importorskip("aiosmtpd", reason="the SMTP tests need aiosmtpd ([test] extra)")

from email_smtpd import Mailbox, Received, SmtpServer

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
    """Kills ``pid`` at the ``at_mail``-th MAIL FROM and after the ``after_data``-th message."""

    def __init__(self, at_mail: int, after_data: int) -> None:
        super().__init__()
        self.at_mail, self.after_data = at_mail, after_data
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
        if self.mails == self.at_mail:
            self._kill("before sending")  # decided and connected, not sent
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.received) == self.after_data and "after accepting" not in self.server_kills:
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


def _settled(directory: Path) -> bool:
    """Every outbox row delivered, and every digest in the spool (if any) sent."""
    store = Store.open(directory / "state.db")
    try:
        rows = store.outbox(limit=10_000)
    finally:
        store.close()
    if not rows or any(row.status != DELIVERED for row in rows):
        return False
    spool = directory / "digests.db"
    if not spool.exists():
        return True
    with contextlib.closing(sqlite3.connect(spool, timeout=10)) as db:
        (loose,) = db.execute("SELECT COUNT(*) FROM items WHERE digest IS NULL").fetchone()
        (unsent,) = db.execute("SELECT COUNT(*) FROM digests WHERE sent_at IS NULL").fetchone()
    return loose == 0 and unsent == 0


_KEY_LINE = re.compile(r"^Key:[ \t]+(\S+)\r?$", re.MULTILINE)


def _keys_in(received: Received) -> list[str]:
    """The notification keys a message carries: its own, or each of a digest's."""
    return _KEY_LINE.findall(received.message.get_body(("plain",)).get_content())


def _run(
    tmp_path: Path,
    mailbox: KillingMailbox,
    target: str = "",
    email: str = "",
    kill_every: tuple[float, float] = (0.8, 2.0),
    min_kills: int = 0,
) -> dict[str, Any]:
    """Run workers, killing them at random, until every due notification arrived.

    ``kill_every`` is the range of seconds between random kills; they go on past
    the last due instant until there were ``min_kills`` kills in all (a loaded
    machine starts workers slowly, leaving fewer running to kill). Returns the
    kills, the expected keys, the outbox rows, the messages by Message-ID and
    the end of the workers' log.
    """
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
{email}

[plugins.email.targets.sink]
to = ["sink@example.org"]
{target}

[plugins.jsonl.sources.inbox]
path = "inbox"
""",
            encoding="utf-8",
        )
        log = tmp_path / "worker.log"
        worker = _start(config, log)
        mailbox.pid = worker.pid
        launched, kills = 1, 0

        def running() -> bool:
            """Whether the current worker has started its loop (start-up is slow here)."""
            return log.read_text(encoding="utf-8").count('"worker started"') >= launched

        up_by = time.time() + 120
        while not running() and time.time() < up_by:
            time.sleep(0.1)
        # The tickets come once a worker runs, so that they fall due while workers run.
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
        last_due = max(created.values()) + 7
        next_random = time.time() + rng.uniform(*kill_every)
        deadline = last_due + 180  # generous for a loaded machine; success ends it early

        def restart_if_killed() -> None:
            nonlocal worker, kills, launched
            if worker.poll() is None:
                return
            # Only our kills may end a worker; anything else is a crash to report.
            assert worker.wait(10) == -signal.SIGKILL, log.read_text(encoding="utf-8")[-3000:]
            kills += 1
            worker = _start(config, log)
            launched += 1
            mailbox.pid = worker.pid

        try:
            while time.time() < deadline:
                keys = {key for r in list(mailbox.received) for key in _keys_in(r)}
                if expected <= keys and time.time() > last_due and kills >= min_kills:
                    break
                # Random kills hit running workers only, at any point of their loop.
                due = time.time() >= next_random and (next_random < last_due or kills < min_kills)
                if due and worker.poll() is None and running():
                    worker.send_signal(signal.SIGKILL)
                    next_random = time.time() + rng.uniform(*kill_every)
                restart_if_killed()
                time.sleep(0.05)
            # A worker killed after its last message was accepted sends it again after
            # its restart: let the outbox (and the digest spool) settle before stopping.
            while time.time() < deadline and not _settled(tmp_path):
                restart_if_killed()
                time.sleep(0.2)
            mailbox.pid = None
            restart_if_killed()
            # SIGTERM stops a running worker cleanly: wait until this one runs (its
            # handler is in place once it says it started), then let it settle a moment.
            while time.time() < deadline and worker.poll() is None and not running():
                time.sleep(0.1)
            time.sleep(0.5)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(60) == 0, log.read_text(encoding="utf-8")[-3000:]
        finally:
            mailbox.pid = None
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        store = Store.open(tmp_path / "state.db")
        try:
            rows = store.outbox(limit=10_000)
        finally:
            store.close()
        return {
            "kills": kills,
            "expected": expected,
            "rows": rows,
            "by_id": mailbox.by_message_id(),
            "tail": log.read_text(encoding="utf-8")[-3000:],
        }
    finally:
        smtp.stop()


def _check_exactly_once(run: dict[str, Any], mailbox: KillingMailbox, min_kills: int) -> int:
    """Every key in exactly one Message-ID, repeats identical and no more than kills."""
    by_id: dict[str, list[Received]] = run["by_id"]
    tail = run["tail"]
    assert mailbox.server_kills == ["before sending", "after accepting"], tail
    assert run["kills"] >= min_kills, tail  # the two the server made, and random ones
    owner: dict[str, str] = {}
    for mid, got in by_id.items():
        assert len({r.message.get_body(("plain",)).get_content() for r in got}) == 1  # repeats
        for key in _keys_in(got[0]):
            assert key not in owner, f"{key} in {owner[key]} and {mid}"
            owner[key] = mid
    assert set(owner) == run["expected"], tail
    repeats = sum(len(got) - 1 for got in by_id.values())
    assert 1 <= repeats <= run["kills"]  # the kill after accepting caused one, at the least
    assert len(run["rows"]) == len(run["expected"])
    assert {row.status for row in run["rows"]} == {DELIVERED}
    return repeats


def test_sigkill_between_deciding_sending_and_recording_loses_nothing(tmp_path):
    mailbox = KillingMailbox(at_mail=3, after_data=6)
    run = _run(tmp_path, mailbox, min_kills=4)
    repeats = _check_exactly_once(run, mailbox, min_kills=4)
    assert len(run["by_id"]) == len(run["expected"])  # one message per notification
    for mid, got in run["by_id"].items():
        assert _keys_in(got[0]) == [str(got[0].message["X-Slaengine-Key"])], mid
    print(f"kills={run['kills']} repeats={repeats} messages={len(run['by_id'])}")


def test_sigkill_never_loses_or_doubles_a_notification_in_a_digest(tmp_path):
    # A digest every 2 s; a killed sender's claim on a digest runs out after 3 * timeout + 1 s.
    # Fewer random kills than above, so that workers live long enough to seal periods.
    mailbox = KillingMailbox(at_mail=1, after_data=1)  # the first digest: both kills
    run = _run(
        tmp_path,
        mailbox,
        target='digest = "2s"',
        email='timeout = 1\ndigest_state = "digests.db"',
        kill_every=(2.5, 4.0),
        min_kills=3,
    )
    repeats = _check_exactly_once(run, mailbox, min_kills=3)
    assert len(run["by_id"]) < len(run["expected"])  # notifications did share messages
    for got in run["by_id"].values():
        assert str(got[0].message["X-Slaengine-Key"]).startswith("digest/sink/")
    print(f"kills={run['kills']} repeats={repeats} digests={len(run['by_id'])}")
