"""``slaengine serve`` as a process: HTTP in, the worker thread out, a clean stop on signals.

A test plugin (``servetest``), installed as a distribution on the path,
registers the notify targets ``lead`` and ``manager`` (each delivery is a line
in ``$SLAENGINE_SERVETEST_RECORD``) and the signed ``acme`` inbox of
``serve_support``. The server runs on the wall clock, long after the 2025
events, so a ticket that was never answered has reached everything.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from live_support import (  # noqa: F401 (fixture)
    POLICY,
    at,
    created,
    info_logs_fixture,
    iso_at,
    live_policies_fixture,
    logged_events,
    restored_logging_fixture,
)
from serve_support import ACME_SECRET, TOKEN, acme_signature, client
from slaengine.cli import main
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.outbox import DELIVERED, Decision
from slaengine.live.store import Reject
from slaengine.live.worker import Worker
from slaengine.serve import WorkerThread

PLUGIN = """
import json, os
from slaengine.hookspecs import hookimpl
from live_support import WorkerLifecycle
from serve_support import InboxPlugin

def _record(to, notification):
    with open(os.environ["SLAENGINE_SERVETEST_RECORD"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"to": to, "key": notification.key}) + "\\n")

@hookimpl
def slaengine_register_notifiers(register):
    register("lead", "test lead", lambda n: _record("lead", n))
    register("manager", "test manager", lambda n: _record("manager", n))

slaengine_register_inboxes = InboxPlugin().slaengine_register_inboxes

_lifecycle = WorkerLifecycle()
slaengine_on_worker_start = _lifecycle.slaengine_on_worker_start
slaengine_on_worker_stop = _lifecycle.slaengine_on_worker_stop
"""
SRC = Path(__file__).resolve().parents[1] / "src"

pytestmark = pytest.mark.usefixtures("restored_logging")


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("serveplugin")
    (path / "servetest_plugin.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = path / "servetest-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: servetest\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[slaengine]\nservetest = servetest_plugin\n")
    return path


@pytest.fixture
def site(tmp_path, plugin_dir):
    """Policy, settings file and environment for a server process."""
    (tmp_path / "policies.yaml").write_text(POLICY, encoding="utf-8")
    config = tmp_path / "slaengine.toml"
    config.write_text(
        f'[live]\nstate = "{tmp_path / "state.db"}"\npolicies = ["{tmp_path / "policies.yaml"}"]\n'
        'tick = 0.2\n[serve]\nlisten = "127.0.0.1:0"\ntoken_env = "TEST_API_TOKEN"\n'
        '[inbox.acme]\nsecret_env = "TEST_ACME_SECRET"\n',
        encoding="utf-8",
    )
    tests = Path(__file__).parent
    paths = [str(plugin_dir), str(SRC), str(tests), os.environ.get("PYTHONPATH", "")]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "SLAENGINE_PLUGINS": "servetest",
        "SLAENGINE_SERVETEST_RECORD": str(tmp_path / "record.jsonl"),
        "TEST_API_TOKEN": TOKEN,
        "TEST_ACME_SECRET": ACME_SECRET,
    }
    env.pop("SLAENGINE_CONFIG", None)
    env.pop("SLAENGINE_API_TOKEN", None)
    return tmp_path, config, env


class Server:
    """A ``slaengine serve`` process, its port (read from its log) and its log lines."""

    def __init__(self, args, env, cwd, script=None):
        # ``script``: Python code running the CLI in place of ``-m slaengine``.
        launcher = ["-c", script] if script else ["-m", "slaengine"]
        self.process = subprocess.Popen(
            [sys.executable, *launcher, *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.port = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # A loaded machine starts slowly; success is quick.
        if not self._ready.wait(120) or self.port is None:
            self.process.kill()
            self.process.wait(10)
            self._close()
            raise AssertionError("server did not start:\n" + "".join(self.lines))
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self):
        for line in self.process.stderr:
            self.lines.append(line)
            if '"server listening"' in line:
                self.port = json.loads(line)["port"]
                self._ready.set()
        self._ready.set()

    def events(self):
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        try:
            return self.process.wait(60)
        finally:
            self._close()

    def _close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._reader.join(10)  # it reads the last lines, up to the end of the pipe
        self.process.stderr.close()


def wait_for(check, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def recorded(path: Path) -> list[dict]:
    record = path / "record.jsonl"
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def test_serve_with_worker_ingests_advances_delivers_and_stops_on_sigterm(site):
    tmp_path, config, env = site
    env = {**env, "SLAENGINE_TEST_LIFECYCLE": str(tmp_path / "lifecycle")}
    server = Server(["serve", "--config", str(config)], env, tmp_path)
    try:
        with client(server.url) as http:
            answer = http.post("/events", json=[created("T-1")])
            assert answer.json()["accepted"] == 1
            body = json.dumps(
                {"type": "ticket.created", "data": {"id": 9, "ticket": 7, "at": iso_at(0)}}
            ).encode()
            inbox = http.post(
                "/inbox/acme",
                content=body,
                headers={"X-Acme-Signature": acme_signature(body)},
            )
            assert inbox.status_code == 200, inbox.text
            # The worker thread advances: both tickets breached long ago, escalated twice.
            delivered = wait_for(
                lambda: (
                    {(r["to"], r["key"].split("/")[0]) for r in recorded(tmp_path)}
                    >= {("lead", "T-1"), ("manager", "T-1"), ("lead", "A-7"), ("manager", "A-7")}
                )
            )
            assert delivered
            queue = http.get("/at-risk", params={"within": "1m"}).json()
            assert {c["ticket"] for c in queue["clocks"]} == {"T-1", "A-7"}
            assert all(c["overdue"] for c in queue["clocks"])
            health = http.get("/healthz").json()
            assert health["worker"]["running"] is True
            assert health["worker"]["cycles"] >= 1
            metrics = http.get("/metrics").text
            delivered = [
                line
                for line in metrics.splitlines()
                if line.startswith('slaengine_worker_notifications_total{result="delivered"}')
            ]
            assert len(delivered) == 1
            assert float(delivered[0].split()[-1]) >= 4
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0
    names = [line.get("event") for line in server.events()]
    assert "worker stopped" in names
    assert names[-1] == "server stopped"
    assert (tmp_path / "lifecycle").read_text() == "start\nstop\n"  # once for the worker
    assert TOKEN not in "".join(server.lines)
    assert ACME_SECRET not in "".join(server.lines)
    # Exactly once per (key, recipient).
    rows = [(r["to"], r["key"]) for r in recorded(tmp_path)]
    assert len(rows) == len(set(rows))


def test_serve_without_worker_only_serves_and_stops_on_sigint(site):
    tmp_path, config, env = site
    with config.open("a", encoding="utf-8") as more:
        more.write('[inbox.acmee]\nsecret = "typo"\n')  # no such inbox: warned at start
    env = {**env, "SLAENGINE_TEST_LIFECYCLE": str(tmp_path / "lifecycle")}
    server = Server(
        ["serve", "--config", str(config), "--no-worker", "--listen", "127.0.0.1:0"], env, tmp_path
    )
    try:
        with client(server.url) as http:
            assert http.post("/events", json=[created("T-1")]).json()["accepted"] == 1
            time.sleep(0.5)  # a worker would have advanced by now
            assert http.get("/at-risk", params={"within": "1m"}).json()["clocks"] == []
            assert http.get("/healthz").json()["worker"] == {"running": False}
    finally:
        code = server.stop(signal.SIGINT)
    assert code == 0
    assert recorded(tmp_path) == []
    assert not (tmp_path / "lifecycle").exists()  # no worker: no worker hooks
    assert "worker started" not in [line.get("event") for line in server.events()]
    (warning,) = [
        e
        for e in server.events()
        if e.get("event") == "settings name an inbox that is not installed"
    ]
    assert warning["level"] == "warning"
    assert warning["problem"].startswith(f"{config}:10:1: [inbox.acmee]: no installed inbox")
    assert warning["problem"].endswith("did you mean 'acme'?")


# Runs ``slaengine`` with the stop signal arriving after the server said it
# listens but before uvicorn has installed its own signal handlers.
EARLY_STOP = """
import signal, sys
import uvicorn
from slaengine.cli import main

uvicorn_capture = uvicorn.Server.capture_signals

def capture_after_a_stop(self):
    signal.raise_signal(signal.SIGTERM)
    return uvicorn_capture(self)

uvicorn.Server.capture_signals = capture_after_a_stop
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("worker", [[], ["--no-worker"]])
def test_a_stop_signal_before_uvicorn_takes_over_still_stops_the_server(site, worker):
    tmp_path, config, env = site
    done = subprocess.run(
        [sys.executable, "-c", EARLY_STOP, "serve", "--config", str(config), *worker],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = logged_events(done.stderr)
    assert events.index("server listening") < events.index("server stopped")
    if not worker:
        assert "worker stopped" in events


# Runs ``slaengine`` with uvicorn slow to start: a second passes between "server
# listening" and uvicorn's own start-up (a loaded machine, a slow import).
SLOW_START = """
import sys, time
import uvicorn
from slaengine.cli import main

uvicorn_startup = uvicorn.Server.startup

async def startup_a_second_late(self, sockets=None):
    time.sleep(1)
    return await uvicorn_startup(self, sockets=sockets)

uvicorn.Server.startup = startup_a_second_late
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("worker", [[], ["--no-worker"]])
def test_a_client_connecting_as_soon_as_the_server_says_it_listens_is_served(site, worker):
    tmp_path, config, env = site
    server = Server(["serve", "--config", str(config), *worker], env, tmp_path, SLOW_START)
    try:
        # At once, while uvicorn is still starting: the connection waits, it is not refused.
        with client(server.url) as http:
            assert http.get("/healthz").status_code == 200
    finally:
        assert server.stop(signal.SIGTERM) == 0


def test_start_up_errors_are_user_errors(site, capsys, monkeypatch):
    tmp_path, config, _ = site
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    monkeypatch.delenv("TEST_API_TOKEN", raising=False)
    monkeypatch.delenv("SLAENGINE_API_TOKEN", raising=False)
    (tmp_path / "policies.yaml").write_text(
        POLICY.replace("notify: [lead]", "notify: []").replace("notify: [manager]", "notify: []"),
        encoding="utf-8",
    )
    assert main(["serve", "--config", str(config)]) == 2
    assert "no API token: set SLAENGINE_API_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("SLAENGINE_API_TOKEN", TOKEN)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["serve", "--config", str(config), "--listen", "nowhere"]) == 2
    assert "expected HOST:PORT" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "slaengine.serve", None)
    assert main(["serve", "--config", str(config)]) == 2
    assert 'pip install "slaengine[serve]"' in capsys.readouterr().err


def test_base_import_does_not_load_the_server():
    code = (
        "import sys, slaengine, slaengine.live, slaengine.cli; slaengine.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def test_the_serve_worker_prunes_old_rejects_and_serves_the_rest(site):
    tmp_path, config, env = site
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "tick = 0.2\n", "tick = 0.2\nrejects_keep_days = 30\n"
        ),
        encoding="utf-8",
    )
    store = Store.open(tmp_path / "state.db")
    try:
        store.add_events([], at(0), [Reject("old:1", "bad", None)])  # December 2025
        store.add_events([], int(time.time()), [Reject("new:1", "bad", None)])
    finally:
        store.close()
    server = Server(["serve", "--config", str(config)], env, tmp_path)
    try:
        with client(server.url) as http:
            left = wait_for(
                lambda: [r["origin"] for r in http.get("/rejects").json()["rejects"]] == ["new:1"]
            )
            assert left
    finally:
        assert server.stop(signal.SIGTERM) == 0
    pruned = [e for e in server.events() if e.get("event") == "pruned"]
    assert [(e["rejects"], e["outbox_rows"]) for e in pruned] == [(1, 0)]


# -- stopping: a failed start-up, and a second stop signal ------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ctrl_c(*_args, **_kwargs):
    raise KeyboardInterrupt  # Ctrl-C while the server is being set up


@pytest.mark.parametrize(
    "where", ["slaengine.serve.Api", "slaengine.serve.server.create_app"], ids=["api", "app"]
)
def test_a_start_up_failing_after_the_bind_closes_the_socket_and_the_lock(
    site, capsys, monkeypatch, where
):
    tmp_path, config, _ = site
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    monkeypatch.setenv("TEST_API_TOKEN", TOKEN)
    (tmp_path / "policies.yaml").write_text(
        POLICY.replace("notify: [lead]", "notify: []").replace("notify: [manager]", "notify: []"),
        encoding="utf-8",
    )
    port = _free_port()
    argv = ["serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"]
    with monkeypatch.context() as failing:
        failing.setattr(where, _ctrl_c)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main(argv) == 130
            gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    # Nothing listens any more: a client is refused, not left waiting in a backlog.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    # The worker lock is free: the next server starts on the same state and port.
    server = Server(argv, {**os.environ, "SLAENGINE_PLUGINS": ""}, tmp_path)
    assert server.port == port
    assert server.stop(signal.SIGTERM) == 0


def _open_request(port: int) -> socket.socket:
    """A POST /events whose body never finishes, under way in the server once this returns:
    the graceful stop waits for it."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    connection.sendall(
        b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        + TOKEN.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
        + b"Expect: 100-continue\r\n\r\n"
    )
    # The server says "continue" once the API reads the body: the request is under way.
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = connection.recv(1024)
        assert chunk, answer
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 100 "), answer
    connection.sendall(b"[")
    return connection


def _no_traceback(server: Server) -> None:
    # Every line of the log is one JSON object: no bare traceback, no plain-text line.
    assert server.lines
    assert [line for line in server.lines if not line.startswith("{")] == []
    assert "Traceback" not in "".join(server.lines)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (signal.SIGTERM, signal.SIGTERM),
        (signal.SIGINT, signal.SIGINT),
        (signal.SIGTERM, signal.SIGINT),
    ],
    ids=["term-term", "int-int", "term-int"],
)
def test_a_second_stop_signal_forces_the_stop(site, first, second):
    tmp_path, config, env = site
    server = Server(["serve", "--config", str(config)], env, tmp_path)
    connection = _open_request(server.port)
    try:
        server.process.send_signal(first)
        # The graceful stop is under way: the worker has stopped, the request is awaited.
        wait_for(lambda: "worker stopped" in [e.get("event") for e in server.events()])
        assert server.process.poll() is None
        code = server.stop(second)
    finally:
        connection.close()
    assert code == 128 + second
    _no_traceback(server)
    events = server.events()
    (forced,) = [e for e in events if e["event"].startswith("stop forced by a second signal")]
    assert forced["signal"] == signal.Signals(second).name
    assert events[-1]["event"] == "server stopped"
    # Not waited for: the graceful stop's 10 seconds for open requests never ran out.
    assert not any("timeout graceful shutdown exceeded" in e["event"] for e in events)


def test_one_stop_signal_waits_for_an_open_request_and_logs_no_traceback(site):
    tmp_path, config, env = site
    server = Server(["serve", "--config", str(config), "--no-worker"], env, tmp_path)
    connection = _open_request(server.port)
    try:
        code = server.stop(signal.SIGTERM)
    finally:
        connection.close()
    assert code == 0
    _no_traceback(server)
    events = server.events()
    # uvicorn's own messages come as JSON lines too, the cut request without a traceback.
    cut = [e for e in events if e.get("logger", "").startswith("uvicorn")]
    assert cut
    assert all("exception" not in e for e in cut)
    assert events[-1]["event"] == "server stopped"


def test_stopping_the_worker_thread_waits_no_longer_once_interrupted():
    started, release = threading.Event(), threading.Event()

    def stuck_worker():  # a worker whose set-up hangs (a database that does not answer)
        started.set()
        release.wait(60)
        raise RuntimeError("released")

    thread = WorkerThread(stuck_worker, pause=0.01)
    thread.start()
    try:
        assert started.wait(30)
        forced = threading.Event()
        forced.set()
        thread.stop(timeout=60, interrupt=forced)
        assert thread.health()["running"] is False
        assert release.is_set() is False  # it returned while the worker was still stuck
    finally:
        release.set()
        thread.stop(timeout=30)


def test_stopping_the_worker_thread_gives_a_delivery_under_way_its_grace(
    tmp_path, live_policies, info_logs
):
    # A delivery still running when the stop arrives is waited for (the worker's two
    # seconds) and recorded, as ``slaengine run`` does, not left claimed until a restart.
    state = str(tmp_path / "state.db")
    now = int(time.time())
    store = Store.open(state)
    key = "T-1/first_response/1/breach/0"
    payload = {"key": key, "kind": "breach", "ticket": "T-1", "metric": "first_response"}
    payload.update(instance=1, level=0, at=iso_at(60), policy="chat", notify=[])
    decision = Decision(key, "T-1", "breach", now, json.dumps(payload), ("slow",))
    store.save_evaluations([("T-1", None, "chat", [decision])], now)
    store.close()
    started, sent = threading.Event(), []

    def slow(notification):
        started.set()
        time.sleep(0.5)
        sent.append(notification.key)

    def make_worker():
        store = Store.open(state)
        engine = LiveEngine(live_policies, store, lambda n: ("slow",))
        return Worker(engine, Dispatcher(store, {"slow": slow}), {}, tick=0.05)

    thread = WorkerThread(make_worker, pause=0.01)
    with capture_logs() as logs:
        thread.start()
        try:
            assert started.wait(60)
        finally:
            thread.stop(timeout=60)
    assert sent == [key]
    store = Store.open(state)
    try:
        assert [row.status for row in store.outbox()] == [DELIVERED]
    finally:
        store.close()
    stopped = [e for e in logs if e["event"] == "worker stopped"]
    assert stopped[-1]["deliveries_abandoned"] == 0
