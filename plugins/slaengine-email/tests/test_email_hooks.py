"""The plugin through slaengine's plugin manager: configure, register, start digests."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import structlog
from slaengine_email import hooks
from slaengine_email.config import parse_server

import slaengine
from slaengine.cli import main
from slaengine.config import load_config
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.worker import Worker
from slaengine.plugins import make_plugins
from slaengine.sources import SourceBatch

SERVER = {"host": "127.0.0.1", "port": 2525, "security": "none", "from": "a@example.org"}


@pytest.fixture(autouse=True)
def _forget_notifiers():
    yield
    for notifier in hooks._current:
        notifier.close()
    hooks._current.clear()


def _plugins(table: object):
    plugins = make_plugins(entry_points=False, plugins=[("email", hooks)])
    with structlog.testing.capture_logs() as logs:
        plugins.configure({"plugins": {"email": table}})
    return plugins, logs


def test_targets_become_notifiers_with_descriptions(tmp_path: Path):
    plugins, logs = _plugins(
        {
            **SERVER,
            "digest_state": str(tmp_path / "d.db"),
            "targets": {
                "lead": {"to": ["lead@example.org", "b@example.org"]},
                "managers": {"to": "m@example.org", "digest": "15m"},
                "named": {"to": "n@example.org", "description": "Night desk"},
            },
        }
    )
    notifiers = plugins.notifiers()
    assert sorted(notifiers) == ["lead", "managers", "named"]
    assert (
        notifiers["lead"].description
        == "e-mail to lead@example.org, b@example.org (one message each)"
    )
    assert notifiers["managers"].description == "e-mail to m@example.org (digest every 900 s)"
    assert notifiers["named"].description == "Night desk"
    assert {n.plugin for n in notifiers.values()} == {"email"}
    assert all(n.deliver is not None for n in notifiers.values())
    assert logs == []
    assert (tmp_path / "d.db").stat().st_mode & 0o777 == 0o600  # the spool is private


def test_a_bad_target_is_logged_with_its_table_and_left_out():
    plugins, logs = _plugins(
        {**SERVER, "targets": {"good": {"to": "g@example.org"}, "bad": {"too": "x"}}}
    )
    assert list(plugins.notifiers()) == ["good"]
    [log] = logs
    assert log["event"] == "e-mail configuration problem"
    assert log["target"] == "bad"
    assert log["problem"].startswith(
        "[plugins.email.targets.bad] unknown setting 'too'; did you mean 'to'?"
    )


def test_a_bad_server_registers_nothing_and_says_why():
    plugins, logs = _plugins({"host": "h", "targets": {"good": {"to": "g@example.org"}}})
    assert plugins.notifiers() == {}
    assert any("from: required" in log["problem"] for log in logs)


def test_without_the_table_nothing_is_registered():
    plugins = make_plugins(entry_points=False, plugins=[("email", hooks)])
    plugins.configure({})
    assert plugins.notifiers() == {}


def _digest_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "slaengine-email-digest"]


def _digest_settings(tmp_path: Path) -> Path:
    path = tmp_path / "slaengine.toml"
    path.write_text(
        "[plugins.email]\n"
        'host = "127.0.0.1"\nport = 2525\nsecurity = "none"\nfrom = "a@example.org"\n'
        f"digest_state = {json.dumps(str(tmp_path / 'd.db'))}\n"
        "[plugins.email.targets.managers]\n"
        'to = "m@example.org"\ndigest = "1h"\n',
        encoding="utf-8",
    )
    return path


def test_listing_the_plugins_does_not_start_the_digest_thread(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SLAENGINE_PLUGINS", "email")
    assert main(["plugins", "--config", str(_digest_settings(tmp_path))]) == 0
    assert "managers" in capsys.readouterr().out  # the e-mail plugin was loaded and configured
    [notifier] = hooks._current
    assert notifier.flusher is not None
    assert _digest_threads() == []  # before: started, and a due digest could be sent


class _Watching:
    """A host's source that notes, at every read, whether the digest thread runs."""

    name = "watching"

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def read(self, cursor, limit):
        self.seen.append(bool(_digest_threads()))
        return SourceBatch((), cursor)


def test_the_digest_thread_runs_while_the_worker_does(tmp_path: Path):
    plugins, _ = _plugins(
        {
            **SERVER,
            "digest_state": str(tmp_path / "d.db"),
            "targets": {"managers": {"to": "m@example.org", "digest": "1h"}},
        }
    )
    policies = slaengine.loads_policies(
        "policies:\n  - name: all\n    calendar: 24x7\n"
        "    metrics: {first_response: {targets: 1h}}\n",
        "p.yaml",
    )
    store = Store.open(tmp_path / "state.db")
    source = _Watching()
    worker = Worker(
        LiveEngine(policies, store),
        Dispatcher(store, {}),
        {source.name: source},
        plugins=plugins,
    )
    try:
        assert _digest_threads() == []
        assert worker.run(cycles=2) == 2
    finally:
        store.close()
    assert source.seen == [True, True]  # started with the worker
    assert _digest_threads() == []  # and stopped with it
    assert plugins.failures == []
    # A worker started again (``slaengine serve`` restarts a failed one) starts it again.
    [notifier] = hooks._current
    plugins.worker_started()
    assert len(_digest_threads()) == 1
    plugins.worker_stopped()
    assert _digest_threads() == []
    assert notifier.flusher is not None


def test_an_internationalised_sender_domain_is_used_in_its_ascii_form():
    server = parse_server({**SERVER, "from": "SLA <sla@b\u00fccher.example>"}, environ={})
    assert server.domain == "xn--bcher-kva.example"


def test_problems_in_a_settings_file_name_their_line(tmp_path: Path):
    # Through the plugin manager, as `slaengine run` hands the file's settings over.
    path = tmp_path / "slaengine.toml"
    path.write_text(
        "[plugins.email]\n"
        'host = "127.0.0.1"\n'
        "port = 70000\n"
        'from = "a@example.org"\n'
        "\n"
        "[plugins.email.targets.good]\n"
        'to = "g@example.org"\n'
        "\n"
        "[plugins.email.targets.bad]\n"
        'description = "night"\n'
        '  too = "x"\n',
        encoding="utf-8",
    )
    plugins = make_plugins(entry_points=False, plugins=[("email", hooks)])
    with structlog.testing.capture_logs() as logs:
        plugins.configure(load_config(path))
    assert [log["problem"] for log in logs] == [
        f"{path}:3:1: [plugins.email] port: must be a whole number from 1 to 65535, got 70000; "
        "no e-mail target is registered",
        f"{path}:11:3: [plugins.email.targets.bad] unknown setting 'too'; did you mean 'to'? "
        "(expected to, cc, subject_prefix, digest, description); to: required: one or more "
        "e-mail addresses",
    ]
    # A required key that is missing: the place of its table.
    path.write_text('[plugins.email]\nhost = "h"\n', encoding="utf-8")
    with structlog.testing.capture_logs() as logs:
        plugins.configure(load_config(path))
    assert [log["problem"] for log in logs] == [
        f"{path}:1:1: [plugins.email] from: required: the sender address, e.g. "
        "'SLA <sla@example.com>'; no e-mail target is registered"
    ]
