"""The server's settings and its worker thread, without HTTP."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("starlette", reason='the API needs the serve extra: pip install ".[serve]"')

from live_support import at, created, live_policies_fixture  # noqa: F401 (fixture)
from slaengine.errors import UserError
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.worker import Worker
from slaengine.serve import WorkerThread
from slaengine.serve.settings import (
    DEFAULT_MAX_BODY,
    parse_listen,
    parse_size,
    serve_settings,
)


def settings(table=None, environ=None, **flags):
    config = {"serve": {"token": "t0k3n", **(table or {})}}
    return serve_settings(config, environ=environ or {}, **flags)


def test_defaults():
    got = settings()
    assert (got.host, got.port, got.max_body, got.worker) == (
        "127.0.0.1",
        8080,
        DEFAULT_MAX_BODY,
        True,
    )
    assert got.due_soon == (900, 3600, 14400)
    assert got.at_risk_window == 3600


def test_flags_win_over_the_file():
    got = settings(
        {"listen": "0.0.0.0:9000", "worker": True}, listen="127.0.0.1:7000", worker=False
    )
    assert (got.host, got.port, got.worker) == ("127.0.0.1", 7000, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:9000", ("::1", 9000)),
        (":8000", ("127.0.0.1", 8000)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_forms(text, expected):
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8080", "host:", "host:port", "h:70000"])
def test_bad_listen(text):
    with pytest.raises(UserError, match="expected HOST:PORT"):
        parse_listen(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1000, 1000), ("512KiB", 512 * 1024), ("2MB", 2_000_000), ("1 mib", 1024 * 1024)],
)
def test_sizes(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", [0, -1, "lots", "1TB", True])
def test_bad_sizes(value):
    with pytest.raises(UserError, match="max_body"):
        parse_size(value)


def test_token_precedence_and_absence():
    env = {"SLAENGINE_API_TOKEN": "from-env", "OTHER": "from-other"}
    assert settings({"token_env": "OTHER"}, env).token == "from-env"
    assert settings({"token_env": "OTHER"}, {"OTHER": "from-other"}).token == "from-other"
    assert settings().token == "t0k3n"
    with pytest.raises(UserError, match="no API token"):
        serve_settings({}, environ={})
    with pytest.raises(UserError, match="no API token"):
        serve_settings({"serve": {"token": "  "}}, environ={})
    assert "t0k3n" not in repr(settings())


def test_inbox_secrets():
    config = {
        "serve": {"token": "t"},
        "inbox": {
            "acme": {"secret_env": "ACME"},
            "front": {"secret": "in-file"},
            "open": {"verify": False},
            "unset": {"secret_env": "MISSING"},
        },
    }
    got = serve_settings(
        config, environ={"ACME": "from-env", "SLAENGINE_INBOX_FRONT_SECRET": "override"}
    )
    assert got.inbox_secret("acme").secret == "from-env"
    assert got.inbox_secret("front").secret == "override"
    assert got.inbox_secret("open").verify is False
    assert got.inbox_secret("unset").secret is None
    assert got.inbox_secret("nobody").secret is None
    assert "from-env" not in repr(got)
    assert "from-env" not in repr(got.inbox_secret("acme"))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"serve": {"token": "t", "port": 1}}, "unknown setting 'port'"),
        ({"serve": {"token": "t", "worker": "yes"}}, "worker: expected true or false"),
        ({"serve": {"token": "t", "due_soon": "1h"}}, "due_soon: expected a list"),
        ({"serve": {"token": "t", "due_soon": ["soon"]}}, "due_soon"),
        ({"serve": {"token": "t", "at_risk_window": 0}}, "at_risk_window"),
        ({"serve": {"token": "t"}, "inbox": {"acme": {"key": 1}}}, "unknown setting 'key'"),
        ({"serve": {"token": "t"}, "inbox": {"acme": {"verify": "no"}}}, "verify"),
        ({"serve": {"token": "t"}, "inbox": {"acme": 3}}, "expected a table"),
    ],
)
def test_bad_settings(config, message):
    with pytest.raises(UserError, match=message):
        serve_settings(config, environ={})


def test_worker_thread_survives_a_failing_cycle_and_stops(live_policies, tmp_path):
    state = tmp_path / "state.db"
    built = []
    cycled = threading.Event()

    class Flaky(Worker):
        def cycle(self):
            if len(built) == 1:
                raise RuntimeError("database went away")
            report = super().cycle()
            cycled.set()
            return report

    def make_worker():
        engine = LiveEngine(live_policies, Store.open(state))
        built.append(engine)
        return Flaky(engine, Dispatcher(engine.store, {}), {}, tick=0.05, clock=lambda: at(5))

    seed = Store.open(state)
    LiveEngine(live_policies, seed).ingest([created("T-1")], at(0))
    seed.close()
    thread = WorkerThread(make_worker, pause=0.05)
    thread.start()
    try:
        assert cycled.wait(10)
        health = thread.health()
        assert health["running"] is True
        assert health["failures"] == 1
        assert health["cycles"] >= 1
        assert len(built) == 2  # a fresh worker (and connection) after the failure
        assert thread.counters.get("worker_failures") == 1
        assert thread.counters.get("worker_cycles") >= 1
    finally:
        thread.stop(10)
    assert thread.health()["running"] is False
    check = Store.open(state)
    try:
        assert [c.ticket for c in check.at_risk(at(120))] == ["T-1"]
    finally:
        check.close()
