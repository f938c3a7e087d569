"""The server's settings and its worker thread, without HTTP."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("starlette", reason='the API needs the serve extra: pip install ".[serve]"')

from live_support import at, created, live_policies_fixture  # noqa: F401 (fixture)
from slaengine.config import load_config
from slaengine.errors import UserError
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.worker import Worker
from slaengine.serve import WorkerThread
from slaengine.serve.settings import (
    DEFAULT_MAX_BODY,
    parse_listen,
    parse_size,
    serve_settings,
    unknown_inboxes,
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
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_listen(text)
    with pytest.raises(UserError, match=r"^--listen: expected HOST:PORT"):
        settings(listen=text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1000, 1000), ("512KiB", 512 * 1024), ("2MB", 2_000_000), ("1 mib", 1024 * 1024)],
)
def test_sizes(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", [0, -1, "lots", "1TB", True])
def test_bad_sizes(value):
    with pytest.raises(ValueError, match=r"expected bytes|more than zero"):
        parse_size(value)
    with pytest.raises(UserError, match=r"^settings: \[serve\] max_body: "):
        settings({"max_body": value})


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
        ({"serve": {"token": "t", "port": 1}}, r"\[serve\] port: unknown setting; expected listen"),
        ({"serve": {"token": "t", "listn": 1}}, "listn: unknown setting; .* did you mean 'listen'"),
        ({"serve": {"token": "t", "worker": "yes"}}, "worker: expected true or false"),
        ({"serve": {"token": "t", "due_soon": "1h"}}, "due_soon: expected a list"),
        ({"serve": {"token": "t", "due_soon": ["soon"]}}, "due_soon"),
        ({"serve": {"token": "t", "at_risk_window": 0}}, "at_risk_window"),
        ({"serve": {"token": "t"}, "inbox": {"acme": {"key": 1}}}, "acme. key: unknown setting"),
        ({"serve": {"token": "t"}, "inbox": {"acme": {"secrt": 1}}}, "did you mean 'secret'"),
        ({"serve": {"token": "t"}, "inbox": {"acme": {"secret": 1}}}, "secret: expected text"),
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
        assert cycled.wait(60)
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


SERVE_TOML = """\
[live]
state = "state.db"

[serve]
token = "t"
{serve_line}

[inbox.acme]
{inbox_line}
"""


@pytest.mark.parametrize(
    ("serve_line", "inbox_line", "message"),
    [
        ('listn = "0.0.0.0:1"', "", "{f}:6:1: [serve] listn: unknown setting; expected listen, "),
        ('listen = "nowhere"', "", "{f}:6:1: [serve] listen: expected HOST:PORT"),
        ('max_body = "lots"', "", "{f}:6:1: [serve] max_body: expected bytes"),
        ("  worker = 1", "", "{f}:6:3: [serve] worker: expected true or false, got 1"),
        ('due_soon = ["soon"]', "", "{f}:6:1: [serve] due_soon: "),
        ("at_risk_window = 0", "", "{f}:6:1: [serve] at_risk_window: "),
        ("", "verify = 'no'", "{f}:9:1: [inbox.acme] verify: expected true or false"),
        ("", "secert = 'x'", "{f}:9:1: [inbox.acme] secert: unknown setting;"),
        ("", "secret_env = 3", "{f}:9:1: [inbox.acme] secret_env: expected text"),
    ],
)
def test_settings_file_mistakes_name_file_line_and_column(
    tmp_path, serve_line, inbox_line, message
):
    path = tmp_path / "slaengine.toml"
    path.write_text(SERVE_TOML.format(serve_line=serve_line, inbox_line=inbox_line))
    with pytest.raises(UserError) as caught:
        serve_settings(load_config(path), environ={})
    assert str(caught.value).startswith(message.format(f=path)), str(caught.value)


def test_an_inbox_table_no_plugin_answers_to_is_warned_with_its_place(tmp_path):
    path = tmp_path / "slaengine.toml"
    path.write_text(
        '[serve]\ntoken = "t"\n\n[inbox.zendsk]\nsecret = "s"\n\n[inbox."front"]\nverify = false\n'
        "[inbox.acme]\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert unknown_inboxes(config, {"zendesk", "front", "intercom"}) == [
        f"{path}:4:1: [inbox.zendsk]: no installed inbox is called 'zendsk'; its settings are "
        "not used; did you mean 'zendesk'?",
        f"{path}:9:1: [inbox.acme]: no installed inbox is called 'acme'; its settings are not "
        "used (installed: front, intercom, zendesk)",
    ]
    assert unknown_inboxes({"inbox": {"x": {}}}, set()) == [
        "settings: [inbox.x]: no installed inbox is called 'x'; its settings are not used "
        "(installed: none)"
    ]
