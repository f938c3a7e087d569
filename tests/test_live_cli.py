"""The live commands: ingest, status, run, outbox, through ``slaengine.cli.main``.

Plugins come from entry points in the CLI, so a test plugin (``livetest``) is
installed as a distribution on ``sys.path``: it registers the notify targets
``lead`` and ``manager`` and implements ``slaengine_on_breach``; every delivery is
a line in the file named by ``$SLAENGINE_LIVETEST_RECORD``. The allow-list keeps
other installed plugins out.

The commands run on the wall clock, long after the 2025 events, so everything
the ticket can reach has fallen due: for T-1 (chat, never answered) the breach
(to plugin:livetest), escalation 1 (to lead) and escalation 2 (to manager).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from live_support import POLICY, created, key, logged_events
from slaengine.cli import main
from slaengine.live import Store

PLUGIN = """
import json, os
from slaengine.hookspecs import hookimpl
from live_support import WorkerLifecycle

def _record(to, notification):
    with open(os.environ["SLAENGINE_LIVETEST_RECORD"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"to": to, "key": notification.key}) + "\\n")

@hookimpl
def slaengine_register_notifiers(register):
    register("lead", "test lead", lambda n: _record("lead", n))
    register("manager", "test manager", lambda n: _record("manager", n))

@hookimpl
def slaengine_on_breach(notification):
    if os.environ.get("SLAENGINE_LIVETEST_FAIL"):
        raise RuntimeError("breach hook down")
    _record("breach-hook", notification)

_lifecycle = WorkerLifecycle()
slaengine_on_worker_start = _lifecycle.slaengine_on_worker_start
slaengine_on_worker_stop = _lifecycle.slaengine_on_worker_stop
"""
TESTS = str(Path(__file__).parent)  # the plugin imports live_support, also in a subprocess


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plugin")
    (path / "livetest_plugin.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = path / "livetest-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: livetest\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[slaengine]\nlivetest = livetest_plugin\n")
    return path


@pytest.fixture
def live(tmp_path, plugin_dir, monkeypatch):
    """A policy file, a settings file naming it and a state file, and the test plugin."""
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setenv("SLAENGINE_PLUGINS", "livetest")
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.delenv("SLAENGINE_LIVETEST_FAIL", raising=False)
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("SLAENGINE_LIVETEST_RECORD", str(record))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies.yaml").write_text(POLICY, encoding="utf-8")
    config = tmp_path / "slaengine.toml"
    config.write_text(
        f'[live]\nstate = "{tmp_path / "state.db"}"\npolicies = ["{tmp_path / "policies.yaml"}"]\n'
        "[live.retry]\nfirst = 10\nattempts = 1\n",
        encoding="utf-8",
    )
    yield tmp_path
    sys.modules.pop("livetest_plugin", None)


def recorded(path: Path) -> list[dict]:
    record = path / "record.jsonl"
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def write_events(path: Path, *lines: str) -> Path:
    events = path / "events.jsonl"
    events.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return events


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_ingest_then_status_json(live, capsys):
    events = write_events(
        live,
        json.dumps(created("T-1")),
        "{not json",
        json.dumps(created("T-2", 5, priority="high")),
    )
    assert main(["ingest", "--config", "slaengine.toml", str(events)]) == 1
    out, err = capsys.readouterr()
    assert out == "2 events stored, 1 rejected\n"
    assert f"{events}:2:2: E401 not valid JSON:" in err

    args = ["status", "--config", "slaengine.toml", "T-1", "--at", "2025-12-01T10:20:00Z"]
    assert main([*args, "--json"]) == 0
    (status,) = json_lines(capsys.readouterr().out)
    assert status["ticket"] == "T-1"
    assert status["policy"] == "chat"
    assert status["at"] == "2025-12-01T10:20:00Z"
    (metric,) = status["metrics"]
    assert (metric["metric"], metric["state"], metric["due"], metric["remaining_seconds"]) == (
        "first_response",
        "active",
        "2025-12-01T11:00:00Z",
        2400,
    )
    assert (metric["next_alert"]["key"], metric["next_alert"]["at"]) == (
        key("T-1", "warning", 1),
        "2025-12-01T10:30:00Z",
    )
    # The table form names the same next alert; an unknown ticket makes exit 1.
    assert main([*args, "--tz", "Europe/Berlin"]) == 0
    table = capsys.readouterr().out
    assert "warning 1 at 2025-12-01 11:30" in table
    assert main(["status", "--config", "slaengine.toml", "T-404"]) == 1
    assert "T-404: no such ticket" in capsys.readouterr().err


def test_ingest_from_stdin_with_state_flag(live, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(created("T-1")) + "\n"))
    state = live / "other.db"
    assert main(["ingest", "-p", "policies.yaml", "--state", str(state), "-"]) == 0
    assert capsys.readouterr().out == "1 event stored, 0 rejected\n"
    assert state.is_file()


def test_ingest_reads_a_gzip_file_and_names_a_damaged_one(live, capsys):
    import gzip

    packed = live / "events.jsonl.gz"
    lines = [json.dumps(created("T-1")), json.dumps(created("T-2", 5))]
    packed.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert main(["ingest", "--config", "slaengine.toml", str(packed)]) == 0
    assert capsys.readouterr().out == "2 events stored, 0 rejected\n"
    # Events carry ids: ingesting the file again stores nothing twice.
    assert main(["ingest", "--config", "slaengine.toml", str(packed)]) == 0
    assert capsys.readouterr().out == "0 events stored, 2 already stored, 0 rejected\n"
    damaged = live / "cut.jsonl.gz"
    damaged.write_bytes(packed.read_bytes()[:-12])
    assert main(["ingest", "--config", "slaengine.toml", str(damaged)]) == 2
    assert f"{damaged}: the gzip data is damaged" in capsys.readouterr().err


def test_ingest_rejects_poison_lines_with_their_line_and_stores_the_rest(live, capsys):
    events = live / "poison.jsonl"
    good = [json.dumps(created(f"T-{n}")) for n in range(3)]
    events.write_bytes(
        "\n".join(
            [
                good[0],
                '{"id": "x1", "ticket": "T-\\ud800", "type": "created", '
                '"at": "2025-12-01T10:00:00Z", "channel": "chat", "priority": "high"}',
                '{"n": ' + "9" * 5000 + "}",
                good[1],
                "[" * 100_000,
                '{"id": "x2", "ticket": "T-\\u0000", "type": "created", '
                '"at": "2025-12-01T10:00:00Z", "channel": "chat", "priority": "high"}',
            ]
        ).encode()
        + b'\n{"id": "x3", "ticket": "caf\xe9"}\n'
        + good[2].encode()
        + b"\n"
    )
    assert main(["ingest", "--config", "slaengine.toml", str(events)]) == 1
    out, err = capsys.readouterr()
    assert out == "3 events stored, 5 rejected\n"
    assert "Traceback" not in err
    # The same form and words as evaluate: file:line[:column]: CODE reason.
    assert err.splitlines() == [
        f"{events}:2:27: E401 a lone surrogate escape is not text "
        "(a \\uD800-\\uDFFF escape must be a pair)",
        f"{events}:3:7: E401 a number has too many digits to be read",
        f"{events}:5: E401 nested more than 64 levels deep",
        f"{events}:6: E400 ticket id contains a NUL character",
        f"{events}:7:28: E401 not UTF-8 text: byte 0xE9 cannot be read",
    ]
    store = Store.open(live / "state.db")
    try:
        assert store.counts()["rejects"] == 5
    finally:
        store.close()


def test_run_once_delivers_each_notification_once(live, capsys, monkeypatch):
    monkeypatch.setenv("SLAENGINE_TEST_LIFECYCLE", str(live / "lifecycle"))
    events = write_events(live, json.dumps(created("T-1")))
    assert main(["ingest", "--config", "slaengine.toml", str(events)]) == 0
    assert not (live / "lifecycle").exists()  # loading plugins is no worker start
    assert main(["run", "--config", "slaengine.toml", "--once"]) == 0
    assert (live / "lifecycle").read_text() == "start\nstop\n"  # the worker told the plugin
    assert main(["outbox", "--config", "slaengine.toml", "--all", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out.split("0 rejected\n", 1)[1])
    assert {(r["key"], r["recipient"], r["status"], r["attempts"]) for r in rows} == {
        (key("T-1", "breach"), "plugin:livetest", "delivered", 1),
        (key("T-1", "escalation", 1), "lead", "delivered", 1),
        (key("T-1", "escalation", 2), "manager", "delivered", 1),
    }
    assert {r["at"] for r in rows if r["kind"] == "breach"} == {"2025-12-01T11:00:00Z"}
    # A second run sends nothing again.
    assert main(["run", "--config", "slaengine.toml", "--once"]) == 0
    assert sorted((r["to"], r["key"]) for r in recorded(live)) == [
        ("breach-hook", key("T-1", "breach")),
        ("lead", key("T-1", "escalation", 1)),
        ("manager", key("T-1", "escalation", 2)),
    ]
    # By default outbox lists only failed and dead rows: none.
    capsys.readouterr()
    assert main(["outbox", "--config", "slaengine.toml", "--json"]) == 0
    assert capsys.readouterr().out == ""
    # The table says so in words rather than with a header over nothing.
    assert main(["outbox", "--config", "slaengine.toml"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "No failed or dead notifications (--all lists every row)."
    assert not any(line.startswith("Id ") for line in lines)
    assert lines[1].startswith("outbox: 0 pending, 0 failed, 3 delivered")
    assert main(["outbox", "--config", "slaengine.toml", "--status", "pending"]) == 0
    assert capsys.readouterr().out.startswith("No pending notifications (--all lists every row).")
    assert main(["outbox", "--config", "slaengine.toml", "--all", "--ticket", "T-9"]) == 0
    assert capsys.readouterr().out.startswith("No notifications of ticket T-9.")


def test_ingest_quiet_history_sends_nothing_from_the_past(live, capsys):
    # The run is long after 2025: every point of the history is in the past.
    events = write_events(live, json.dumps(created("T-1")))
    args = ["ingest", "--config", "slaengine.toml", "--quiet-history", "--advance", str(events)]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 event stored, 0 rejected"
    assert out[1].startswith("their notifications before 20")
    assert out[2] == "1 ticket evaluated, 0 notifications queued, 3 skipped"
    assert main(["run", "--config", "slaengine.toml", "--once"]) == 0
    assert recorded(live) == []
    assert main(["outbox", "--config", "slaengine.toml", "--status", "skipped", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert sorted((r["key"], r["recipient"], r["attempts"]) for r in rows) == [
        (key("T-1", "breach"), "plugin:livetest", 0),
        (key("T-1", "escalation", 1), "lead", 0),
        (key("T-1", "escalation", 2), "manager", 0),
    ]


def test_ingest_quiet_before_an_instant_sends_what_came_after(live, capsys):
    # The breach (11:00) and escalation 1 are before the cut-off; escalation 2 (13:00) is not.
    events = write_events(live, json.dumps(created("T-1")))
    cut = ["--quiet-before", "2025-12-01T12:00:00Z"]
    assert main(["ingest", "--config", "slaengine.toml", *cut, str(events)]) == 0
    assert main(["run", "--config", "slaengine.toml", "--once"]) == 0
    assert [(r["to"], r["key"]) for r in recorded(live)] == [
        ("manager", key("T-1", "escalation", 2))
    ]
    capsys.readouterr()
    bad = ["ingest", "--config", "slaengine.toml", "--quiet-before", "soon", str(events)]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "--quiet-before is not an ISO 8601 timestamp: 'soon'" in err
    assert "'at'" not in err  # the option, not the event field, is named


def test_a_go_live_setting_quiets_every_ingest(live, capsys):
    # [live] quiet_before as a TOML date-time: the cut-off for every ticket stored.
    text = (live / "slaengine.toml").read_text(encoding="utf-8")
    (live / "slaengine.toml").write_text(
        text.replace("[live]\n", "[live]\nquiet_before = 2025-12-01T12:00:00Z\n", 1),
        encoding="utf-8",
    )
    events = write_events(live, json.dumps(created("T-1")))
    assert main(["ingest", "--config", "slaengine.toml", str(events)]) == 0
    assert main(["run", "--config", "slaengine.toml", "--once"]) == 0
    assert [(r["to"], r["key"]) for r in recorded(live)] == [
        ("manager", key("T-1", "escalation", 2))
    ]
    capsys.readouterr()
    (live / "bad.toml").write_text('[live]\nquiet_before = "soon"\n', encoding="utf-8")
    assert main(["outbox", "--config", "bad.toml"]) == 2
    assert "bad.toml:2:1: [live] quiet_before: expected an instant" in capsys.readouterr().err


def test_failing_hook_shows_in_outbox_and_retry_revives_it(live, capsys, monkeypatch):
    events = write_events(live, json.dumps(created("T-1")))
    assert main(["ingest", "--config", "slaengine.toml", str(events)]) == 0
    monkeypatch.setenv("SLAENGINE_LIVETEST_FAIL", "1")
    assert main(["run", "--config", "slaengine.toml", "--once"]) == 0
    capsys.readouterr()
    # attempts = 1: the failed breach delivery is dead at once; dead rows make exit 1.
    assert main(["outbox", "--config", "slaengine.toml", "--json"]) == 1
    (row,) = json_lines(capsys.readouterr().out)
    assert (row["recipient"], row["status"], row["attempts"], row["last_error"]) == (
        "plugin:livetest",
        "dead",
        1,
        "RuntimeError: breach hook down",
    )
    assert main(["outbox", "--config", "slaengine.toml"]) == 1
    table = capsys.readouterr().out
    assert "0 failed, 2 delivered, 1 dead, 0 cancelled, 0 skipped; 1 event, 1 ticket" in table

    assert main(["outbox", "--config", "slaengine.toml", "--retry"]) == 0
    assert capsys.readouterr().out == "1 notification queued again\n"
    monkeypatch.delenv("SLAENGINE_LIVETEST_FAIL")
    assert main(["run", "--config", "slaengine.toml", "--once"]) == 0
    capsys.readouterr()
    assert main(["outbox", "--config", "slaengine.toml", "--status", "delivered", "--json"]) == 0
    assert len(json_lines(capsys.readouterr().out)) == 3
    assert [r["to"] for r in recorded(live)].count("breach-hook") == 1


def test_bad_config_toml_is_located(live, capsys):
    (live / "bad.toml").write_text("[live]\nstate = \n", encoding="utf-8")
    assert main(["outbox", "--config", "bad.toml"]) == 2
    assert capsys.readouterr().err == "slaengine: bad.toml:2:9: Invalid value\n"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[live]\nstat = "x.db"\n',
            "bad.toml:2:1: [live] stat: unknown setting; expected state, policies, tick, "
            "read_limit, lease, quiet_before, rejects_keep_days, delivered_keep_days or retry; "
            "did you mean 'state'?",
        ),
        ("[live]\ntick = 0\n", "bad.toml:2:1: [live] tick: must be more than zero"),
    ],
    ids=["unknown-key", "zero-tick"],
)
def test_bad_live_settings_are_usage_errors(live, capsys, toml, message):
    (live / "bad.toml").write_text(toml, encoding="utf-8")
    assert main(["outbox", "--config", "bad.toml"]) == 2
    assert message in capsys.readouterr().err


def test_run_needs_policies(live, capsys):
    (live / "empty.toml").write_text(f'[live]\nstate = "{live / "s.db"}"\n', encoding="utf-8")
    assert main(["run", "--config", "empty.toml", "--once"]) == 2
    assert "no policies" in capsys.readouterr().err


def test_run_stops_cleanly_on_sigterm(live, plugin_dir):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(plugin_dir), TESTS, os.environ.get("PYTHONPATH")])
        ),
    }
    stderr = live / "worker.log"
    with stderr.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "slaengine",
                "run",
                "--config",
                "slaengine.toml",
                "--tick",
                "60",
            ],
            cwd=live,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 120  # a loaded machine starts slowly
            while b"worker started" not in stderr.read_bytes():
                assert process.poll() is None, stderr.read_text()
                assert time.monotonic() < deadline, "worker did not start"
                time.sleep(0.05)
            time.sleep(0.2)  # now sleeping in the 60-second tick
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
            took = time.monotonic() - sent
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code == 0
    assert took < 20  # not the 60-second tick (a loaded machine needs a few seconds to exit)
    entries = [json.loads(line) for line in stderr.read_text().splitlines() if line.startswith("{")]
    stopped = [e for e in entries if e.get("event") == "worker stopped"]
    assert len(stopped) == 1
    # One cycle, then the tick's sleep, which the signal ended (none, if the signal came
    # before the first cycle began: a machine that stalled the worker for 0.2 s).
    assert stopped[0]["cycles"] <= 1
    assert stopped[0]["level"] == "info"
    assert "timestamp" in stopped[0]


# Runs ``slaengine`` with the stop signal arriving while the main thread holds the
# lock of the worker's stop event, as ``Event.wait`` does for a few instructions
# around every sleep between two cycles (a signal landing there must still stop it).
SIGNAL_IN_WAIT = """
import signal, sys, threading
from slaengine.cli import main
from slaengine.live import worker

class StopEvent(threading.Event):
    def wait(self, timeout=None):
        with self._cond:  # held by Event.wait itself while it looks at the flag
            signal.raise_signal(signal.SIGTERM)
        return super().wait(timeout)

worker_init = worker.Worker.__init__

def init_with_stop_event(self, *args, **kwargs):
    worker_init(self, *args, **kwargs)
    self.stop_requested = StopEvent()

worker.Worker.__init__ = init_with_stop_event
sys.exit(main(sys.argv[1:]))
"""


def test_a_stop_signal_while_the_worker_sits_in_its_wait_stops_it(live, plugin_dir):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(plugin_dir), TESTS, os.environ.get("PYTHONPATH")])
        ),
    }
    command = [sys.executable, "-c", SIGNAL_IN_WAIT, "run", "--config", "slaengine.toml"]
    # A handler that sets the event itself waits forever for the lock its own thread holds.
    done = subprocess.run(
        [*command, "--tick", "60"],
        cwd=live,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = logged_events(done.stderr)
    assert events[-1] == "worker stopped"


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "slaengine", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("slaengine ")
