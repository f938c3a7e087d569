"""Through the live engine: outbox rows become e-mails on a real SMTP server, once per key.

The plugin is loaded into slaengine's plugin manager from a configuration, the
engine decides what falls due, and the dispatcher delivers the outbox through
the plugin's notify targets, as ``slaengine run`` does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from slaengine_email import hooks
from slaengine_email.message import build_digest

import slaengine
from slaengine.live import Backoff, Dispatcher, LiveEngine, Store
from slaengine.live.recipients import plugin_routing
from slaengine.live.store import DELIVERED, FAILED
from slaengine.notifications import Notification
from slaengine.plugins import Plugins, make_plugins

pytest.importorskip("aiosmtpd", reason="the SMTP tests need aiosmtpd ([test] extra)")

from email_smtpd import SmtpServer, free_port

T0 = 1764583200  # 2025-12-01T10:00:00Z
POLICY = """
policies:
  - name: chat
    calendar: 24x7
    metrics:
      first_response:
        targets: 1h
        warn_at: [{at: 50%, notify: [lead]}]
        escalations:
          - {after: 0m, notify: [lead, managers]}
"""


def _config(port: int, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "plugins": {
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "from": "SLA <sla@example.org>",
                "ticket_url": "https://helpdesk.example.org/t/{ticket}",
                "timeout": 3,
                "digest_state": str(tmp_path / "digests.db"),
                **extra,
                "targets": {
                    "lead": {"to": ["lead@example.org"]},
                    "managers": {"to": ["boss@example.org"], "cc": ["ops@example.org"]},
                },
            }
        }
    }


def _plugins(config: dict[str, Any]) -> Plugins:
    plugins = make_plugins(entry_points=False, plugins=[("email", hooks)])
    plugins.configure(config)
    return plugins


def _engine(tmp_path: Path, plugins: Plugins) -> tuple[LiveEngine, Dispatcher]:
    policies = slaengine.loads_policies(POLICY, "p.yaml", notifiers=frozenset(plugins.notifiers()))
    store = Store.open(tmp_path / "state.db")
    routing = plugin_routing(plugins)
    engine = LiveEngine(policies, store, routing.recipients)
    return engine, Dispatcher(store, routing.deliverers, Backoff(first=10, cap=40, attempts=5))


def _created(ticket: str, minute: int = 0) -> dict[str, Any]:
    return {
        "id": f"c-{ticket}",
        "ticket": ticket,
        "type": "created",
        "at": slaengine.calendar.format_utc(T0 + minute * 60),
        "channel": "chat",
        "priority": "high",
    }


def test_each_due_notification_arrives_once_with_its_message_id(smtp_server, tmp_path):
    smtp = smtp_server("none")
    plugins = _plugins(_config(smtp.port, tmp_path))
    engine, dispatcher = _engine(tmp_path, plugins)
    engine.ingest([_created("T-1"), _created("T-2", 20)], T0)
    engine.advance(T0 + 65 * 60)  # T-1: warning and escalation; T-2: its warning only

    report = dispatcher.dispatch(T0 + 65 * 60)
    assert (report.delivered, report.failed) == (4, 0)
    assert dispatcher.dispatch(T0 + 66 * 60).delivered == 0  # nothing is sent twice

    got = {
        (r.message["X-Slaengine-Target"], r.message["X-Slaengine-Key"]): r
        for r in smtp.mailbox.received
    }
    assert set(got) == {
        ("lead", "T-1/first_response/1/warning/1"),
        ("lead", "T-2/first_response/1/warning/1"),
        ("lead", "T-1/first_response/1/escalation/1"),
        ("managers", "T-1/first_response/1/escalation/1"),
    }
    boss = got[("managers", "T-1/first_response/1/escalation/1")]
    assert boss.recipients == ["boss@example.org", "ops@example.org"]
    text = boss.message.get_body(("plain",)).get_content()
    assert "Link:       https://helpdesk.example.org/t/T-1" in text
    assert "Priority:   high" in text
    assert all(len(v) == 1 for v in smtp.mailbox.by_message_id().values())
    assert len(smtp.mailbox.by_message_id()) == 4
    assert {row.status for row in engine.store.outbox(limit=100)} == {DELIVERED}


def test_a_refusing_server_is_retried_with_backoff_by_the_outbox_not_lost(smtp_server, tmp_path):
    smtp = smtp_server("none")
    smtp.mailbox.answers += ["451 4.3.0 try again later", "421 4.3.2 shutting down"]
    plugins = _plugins(_config(smtp.port, tmp_path))
    engine, dispatcher = _engine(tmp_path, plugins)
    engine.ingest([_created("T-1")], T0)
    now = T0 + 31 * 60
    engine.advance(now)  # the warning, for lead

    assert dispatcher.dispatch(now).failed == 1
    [row] = engine.store.outbox(limit=10)
    assert (row.status, row.attempts, row.next_attempt) == (FAILED, 1, now + 10)
    assert "451 4.3.0 try again later" in (row.last_error or "")
    assert dispatcher.dispatch(now + 9).failed == 0  # not before its time
    assert dispatcher.dispatch(now + 10).failed == 1  # the 421
    [row] = engine.store.outbox(limit=10)
    assert (row.attempts, row.next_attempt) == (2, now + 10 + 20)
    assert dispatcher.dispatch(now + 30).delivered == 1

    assert smtp.mailbox.attempts == 3
    [got] = smtp.mailbox.received
    assert got.message["X-Slaengine-Key"] == "T-1/first_response/1/warning/1"
    [row] = engine.store.outbox(limit=10)
    assert row.status == DELIVERED


def test_a_server_that_is_down_is_retried_until_it_is_back(tmp_path):
    port = free_port()
    plugins = _plugins(_config(port, tmp_path))
    engine, dispatcher = _engine(tmp_path, plugins)
    engine.ingest([_created("T-1")], T0)
    now = T0 + 31 * 60
    engine.advance(now)
    assert dispatcher.dispatch(now).failed == 1
    [row] = engine.store.outbox(limit=10)
    assert "ConnectionRefusedError" in (row.last_error or "")
    smtp = SmtpServer("none", port=port)
    try:
        assert dispatcher.dispatch(now + 10).delivered == 1
        assert len(smtp.mailbox.received) == 1
    finally:
        smtp.stop()


def test_starttls_and_login_through_the_outbox(smtp_server, cert, tmp_path, monkeypatch):
    smtp = smtp_server("starttls", cert)
    monkeypatch.setenv("SLA_SMTP_PASSWORD", "s3cret-pw")
    config = _config(
        smtp.port,
        tmp_path,
        security="starttls",
        username="sla-bot",
        password_env="SLA_SMTP_PASSWORD",
        ca_file=str(cert.ca_file),
    )
    engine, dispatcher = _engine(tmp_path, _plugins(config))
    engine.ingest([_created("T-1")], T0)
    engine.advance(T0 + 31 * 60)
    assert dispatcher.dispatch(T0 + 31 * 60).delivered == 1
    assert len(smtp.mailbox.received) == 1
    assert smtp.mailbox.logins


def _wait_for(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _digest_plugins(port: int, tmp_path: Path, clock: FakeClock) -> Plugins:
    config = _config(port, tmp_path)
    config["plugins"]["email"]["targets"]["lead"]["digest"] = "10m"
    plugins = _plugins(config)
    [notifier] = hooks._current
    notifier.clock = clock  # the digest period follows the test's instants
    assert notifier.flusher is not None
    notifier.flusher.clock = clock
    notifier.flusher.interval = 0.1  # production: a quarter of the period, 0.5 s to 30 s
    return plugins


@pytest.fixture
def closing_notifiers():
    yield
    for notifier in hooks._current:
        notifier.close()
    hooks._current.clear()


def test_a_digest_collects_a_period_and_is_sent_once_it_ended(
    smtp_server, tmp_path, closing_notifiers
):
    smtp = smtp_server("none")
    clock = FakeClock(T0 + 61 * 60)  # 11:01; the period is 11:00-11:10
    engine, dispatcher = _engine(tmp_path, _digest_plugins(smtp.port, tmp_path, clock))
    engine.ingest([_created("T-1"), _created("T-2", 20)], T0)
    engine.advance(int(clock.now))

    report = dispatcher.dispatch(int(clock.now))
    assert (report.delivered, report.failed) == (4, 0)  # the outbox handed all four over
    # managers (no digest) got its escalation at once; lead's three wait for the period's end.
    [single] = smtp.mailbox.received
    assert single.message["X-Slaengine-Target"] == "managers"
    time.sleep(0.5)  # the digest thread looks every 0.1 s
    assert len(smtp.mailbox.received) == 1

    clock.now = T0 + 70 * 60
    assert _wait_for(lambda: len(smtp.mailbox.received) == 2)
    digest = smtp.mailbox.received[1]
    assert digest.message["Subject"] == "[SLA] SLA digest: 3 notifications"
    assert digest.recipients == ["lead@example.org"]
    text = digest.message.get_body(("plain",)).get_content()
    for key in (
        "T-1/first_response/1/warning/1",
        "T-2/first_response/1/warning/1",
        "T-1/first_response/1/escalation/1",
    ):
        assert f"Key:        {key}" in text
    time.sleep(0.5)
    assert len(smtp.mailbox.received) == 2  # sent once


def test_a_repeated_hand_over_adds_nothing_and_a_resent_digest_keeps_its_message_id(
    smtp_server, tmp_path, closing_notifiers
):
    smtp = smtp_server("none")
    clock = FakeClock(T0 + 31 * 60)
    plugins = _digest_plugins(smtp.port, tmp_path, clock)
    [notifier] = hooks._current
    assert notifier.flusher is not None
    assert notifier.spool is not None
    notifier.flusher.stopped.set()  # this test drives the spool by hand
    deliver = plugins.notifiers()["lead"].deliver
    warning = Notification(
        "warning", "T-1", "chat", "first_response", 1, 1, T0 + 1800, T0 + 3600, "high"
    )

    deliver(warning)
    deliver(warning)  # the outbox repeats a hand-over after a crash: nothing is added
    clock.now = T0 + 40 * 60
    spool, targets = notifier.spool, notifier.flusher.targets
    assert spool.seal(targets, int(clock.now)) == 1
    [(digest, _, _)] = spool.pending()
    assert [n.key for n in spool.members(digest)] == [warning.key]

    # A crash after the server accepted the digest, before it was recorded: sent again.
    first = build_digest(spool.members(digest), targets["lead"], notifier.server, digest, 0)
    notifier.client.send(first, ("lead@example.org",))
    smtp.mailbox.answers.append("451 4.3.0 later")
    assert spool.flush(targets, notifier.client, int(clock.now)) == 0  # refused: kept
    [(_, attempts, error)] = spool.pending()
    assert attempts == 1
    assert "451 4.3.0 later" in (error or "")
    assert spool.flush(targets, notifier.client, int(clock.now) + 9) == 0  # backoff: 10 s
    assert spool.flush(targets, notifier.client, int(clock.now) + 10) == 1
    assert spool.pending() == []
    assert spool.flush(targets, notifier.client, int(clock.now) + 60) == 0

    ids = [r.message["Message-ID"] for r in smtp.mailbox.received]
    assert len(ids) == 2
    assert ids[0] == ids[1]  # the receiver can drop the repeat
