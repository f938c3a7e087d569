"""Shared set-up for the live engine tests: policies, event builders, state databases.

``state_url`` gives each test a fresh, empty state database, once on SQLite and
once on PostgreSQL (ids ``sqlite`` and ``postgresql``). The PostgreSQL side
starts one throw-away cluster per test session from the server binaries
(``/usr/lib/postgresql/*/bin`` or ``$SLAENGINE_TEST_PG_BIN``), or uses the
server named by ``$SLAENGINE_TEST_POSTGRES_URL``; with neither, those tests skip
and say why.

Times in the tests are minutes after ``T0``, Monday 2025-12-01 10:00 UTC.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import slaengine
from slaengine.calendar import format_utc
from slaengine.event_parsing import parse_instant
from slaengine.hookspecs import hookimpl
from slaengine.live import LiveEngine
from slaengine.live.store import Store
from slaengine.notifications import Notification

T0 = parse_instant("2025-12-01T10:00:00Z")  # a Monday

LIFECYCLE_RECORD = "SLAENGINE_TEST_LIFECYCLE"


class WorkerLifecycle:
    """Worker hooks for test plugins: each appends ``start`` or ``stop`` to the file
    ``$SLAENGINE_TEST_LIFECYCLE`` names (nothing when it is unset)."""

    @hookimpl
    def slaengine_on_worker_start(self) -> None:
        self._note("start")

    @hookimpl
    def slaengine_on_worker_stop(self) -> None:
        self._note("stop")

    @staticmethod
    def _note(what: str) -> None:
        if os.environ.get(LIFECYCLE_RECORD):
            with open(os.environ[LIFECYCLE_RECORD], "a", encoding="utf-8") as out:
                out.write(what + "\n")


# ``chat`` counts round the clock; ``email`` office hours in Berlin (CET in December,
# so 09:00-17:00 local is 08:00-16:00 UTC). Both: a 1h first response, warnings at
# 50% and 80%, escalation 1 at the breach itself and escalation 2 two (business) hours
# after it.
POLICY = """
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: "09:00-17:00"}
policies:
  - name: chat
    match: {channel: chat}
    metrics:
      first_response:
        targets: 1h
        warn_at: [50%, 80%]
        escalations:
          - {after: 0m, notify: [lead]}
          - {after: 2h, notify: [manager]}
        pause_when: [on_hold]
  - name: email
    match: {channel: email}
    calendar: office
    metrics:
      first_response:
        targets: 1h
        warn_at: [50%, 80%]
        escalations:
          - {after: 0m, notify: [lead]}
          - {after: 2h, notify: [manager]}
"""


def at(minutes: float) -> int:
    """Epoch seconds ``minutes`` after T0."""
    return T0 + round(minutes * 60)


def iso_at(minutes: float) -> str:
    """``at(minutes)`` as ISO 8601 UTC text."""
    return format_utc(at(minutes))


_ids = itertools.count(1)


def created(ticket: str, minute: float = 0, channel: str = "chat", **fields: Any) -> dict[str, Any]:
    """A ``created`` event dict (priority normal unless given)."""
    return {
        "id": f"e{next(_ids)}",
        "ticket": ticket,
        "at": iso_at(minute),
        "type": "created",
        "channel": channel,
        "priority": fields.pop("priority", "normal"),
        **fields,
    }


def event(ticket: str, minute: float, kind: str, **fields: Any) -> dict[str, Any]:
    """Any other event dict."""
    return {"id": f"e{next(_ids)}", "ticket": ticket, "at": iso_at(minute), "type": kind, **fields}


def reply(ticket: str, minute: float) -> dict[str, Any]:
    """A public agent reply."""
    return event(ticket, minute, "message", author="agent")


def key(ticket: str, kind: str, level: int = 0, metric: str = "first_response") -> str:
    """The idempotency key of a first-instance notification."""
    return f"{ticket}/{metric}/1/{kind}/{level}"


def logged_events(stderr: str) -> list[str]:
    """The ``event`` of each JSON log line a command wrote to ``stderr``, in order."""
    return [json.loads(line)["event"] for line in stderr.splitlines() if line[:1] == "{"]


def route_all(notification: Notification) -> tuple[str, ...]:
    """Recipients: ``ops`` receives every notification, besides the policy's targets."""
    return ("ops", *notification.notify)


EXAMPLE_EVENTS = Path(__file__).resolve().parents[1] / "examples" / "tickets.jsonl"
EXAMPLE_POLICIES = Path(__file__).resolve().parents[1] / "policies"
EXAMPLE_AT = "2025-12-03T16:00:00Z"


@pytest.fixture(name="example_state")
def example_state_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example events stored in a live state, as ``slaengine serve`` stores them
    (the working directory is ``tmp_path``; no settings file, no plugins)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    lines = EXAMPLE_EVENTS.read_text(encoding="utf-8").splitlines()
    store = Store.open(tmp_path / "state.db")
    engine = LiveEngine(slaengine.load_policies(EXAMPLE_POLICIES), store)
    engine.ingest([json.loads(line) for line in lines if line.strip()], 1764777600)
    store.close()
    return tmp_path / "state.db"


@pytest.fixture(scope="session", name="live_policies")
def live_policies_fixture() -> slaengine.PolicySet:
    """The chat (24x7) and email (office hours) policies above."""
    return slaengine.loads_policies(POLICY, "live.yaml")


# -- PostgreSQL -------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A PostgreSQL server with one database for the tests, emptied before each of them."""

    admin_url: str  # connects to the maintenance database as a superuser
    url: str  # the tests' database

    def reset(self) -> None:
        """Drop every table of the tests' database (much faster than a new database)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")


@contextlib.contextmanager
def _test_database(admin_url: str, url_for: Any) -> Iterator[PostgresServer]:
    import psycopg

    name = f"slaengine_test_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PostgresServer(admin_url, url_for(name))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_bin() -> Path | None:
    explicit = os.environ.get("SLAENGINE_TEST_PG_BIN")
    candidates = [explicit] if explicit else sorted(glob.glob("/usr/lib/postgresql/*/bin"))[::-1]
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    return None


def _as_server_user(command: list[str]) -> list[str]:
    # The server refuses to run as root: run it as the ``postgres`` account then.
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("PostgreSQL tests: running as root and runuser is missing")
        return [runuser, "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def _temporary_cluster(bin_dir: Path) -> Iterator[tuple[str, Any]]:
    # A short path: the unix socket path must stay under ~100 characters.
    base = Path(tempfile.mkdtemp(prefix="slapg"))
    data = base / "data"
    try:
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")

        def run(*command: str) -> None:
            subprocess.run(
                _as_server_user(list(command)),
                check=True,
                capture_output=True,
                text=True,
                timeout=300,  # initdb and a start on a loaded machine; quick otherwise
            )

        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
        run(*initdb, "--no-sync", "-E", "UTF8", "--locale", "C")
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{base}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "240"]
        run(*pg_ctl, "-o", options, "-l", str(base / "server.log"), "start")
        try:
            yield (
                f"postgresql://postgres@/postgres?host={base}",
                (lambda name: f"postgresql://postgres@/{name}?host={base}"),
            )
        finally:
            run(*pg_ctl, "-m", "immediate", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session", name="postgres_server")
def postgres_server_fixture() -> Iterator[PostgresServer]:
    """A PostgreSQL server and database for the session, or a skip saying why there is none."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip('PostgreSQL tests need psycopg: pip install "slaengine[postgres]"')
    with contextlib.ExitStack() as stack:
        url = os.environ.get("SLAENGINE_TEST_POSTGRES_URL")
        if url:
            base = url.rsplit("/", 1)[0]
            admin_url, url_for = url, (lambda name: f"{base}/{name}")
        else:
            bin_dir = _pg_bin()
            if bin_dir is None:
                pytest.skip(
                    "PostgreSQL tests need the server binaries (apt-get install postgresql, "
                    "or set SLAENGINE_TEST_PG_BIN or SLAENGINE_TEST_POSTGRES_URL)"
                )
            try:
                admin_url, url_for = stack.enter_context(_temporary_cluster(bin_dir))
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
                detail = getattr(exc, "stderr", "") or exc
                pytest.skip(f"PostgreSQL tests: could not start a temporary cluster: {detail}")
        yield stack.enter_context(_test_database(admin_url, url_for))


@pytest.fixture(name="state_url", params=["sqlite", "postgresql"])
def state_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty state database: a SQLite file, or the emptied PostgreSQL test database."""
    if request.param == "sqlite":
        yield str(tmp_path / "state.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    server.reset()
    yield server.url


@pytest.fixture(name="store")
def store_fixture(state_url: str) -> Iterator[Store]:
    """A migrated store on ``state_url``, closed after the test."""
    opened = Store.open(state_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(name="restored_logging")
def restored_logging_fixture() -> Iterator[None]:
    """structlog's configuration as it was before the test (``main`` and servers change it)."""
    import structlog

    saved = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**saved)


@pytest.fixture(name="info_logs")
def info_logs_fixture() -> Iterator[None]:
    """Info records reach ``capture_logs`` whatever level an earlier CLI test configured."""
    import logging

    import structlog

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield
    finally:
        structlog.configure(**saved)


__all__ = [
    "POLICY",
    "T0",
    "PostgresServer",
    "at",
    "created",
    "event",
    "info_logs_fixture",
    "iso_at",
    "key",
    "live_policies_fixture",
    "postgres_server_fixture",
    "reply",
    "restored_logging_fixture",
    "route_all",
    "state_url_fixture",
    "store_fixture",
]
