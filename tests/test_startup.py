"""Start-up work is deferred without changing what the command line does.

A command's module is imported when that command runs, yet ``--help`` lists every
command with the help line its module gives; the holidays package's country modules
are imported only when a calendar names a subdivision (or when holidays are counted).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import slaengine
from slaengine.cli import COMMANDS, build_parser, command_modules
from slaengine.errors import PolicyError

SRC = str(Path(slaengine.__file__).resolve().parent.parent)


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _registered() -> dict[str, str]:
    """Every command and its help line, from the modules' own ``register`` functions."""
    parser = argparse.ArgumentParser(prog="slaengine")
    commands = parser.add_subparsers(dest="command")
    for name in command_modules():
        importlib.import_module(f"slaengine.cli.{name}").register(commands)
    return {action.dest: str(action.help) for action in commands._choices_actions}


def test_the_help_table_is_what_the_modules_register() -> None:
    assert sorted(COMMANDS) == command_modules()
    assert dict(COMMANDS.values()) == _registered()


def test_help_lists_every_command_with_its_help_line() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, *sys.path]), "COLUMNS": "300"}
    done = subprocess.run(
        [sys.executable, "-m", "slaengine", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = dict(re.findall(r"^    (\S+)\s{2,}(.+)$", done.stdout, re.MULTILINE))
    assert listed == _registered()


def test_building_the_parser_imports_no_command_module() -> None:
    out = _python(
        "import sys\n"
        "from slaengine.cli import build_parser\n"
        "parser = build_parser()\n"
        "def loaded():\n"
        "    return sorted(m for m in sys.modules if m.startswith('slaengine.cli.')\n"
        "                  and not m.startswith('slaengine.cli._'))\n"
        "print(loaded())\n"
        "parser.parse_args(['check', 'policies'])\n"
        "print(loaded())\n"
    )
    assert out.splitlines() == ["[]", "['slaengine.cli.check']"]


def test_a_command_parses_its_own_options_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    args = parser.parse_args(["import", "--list"])
    assert (args.command, args.list) == ("import", True)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["whatif", "--help"])
    assert "--against NEW" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        build_parser().parse_args(["nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


CALENDAR = """\
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours: {{mon-fri: ["09:00-17:00"]}}
    holidays:
      - {holiday}
policies:
  - name: desk
    calendar: office
    metrics:
      first_response: {{targets: 4h}}
"""


@pytest.mark.parametrize(
    ("holiday", "expected"),
    [
        (
            "{country: XX}",
            "7:19: E205 unknown country 'XX'; expected an ISO 3166 code such as DE, US, GB",
        ),
        ("{country: Germany}", "7:19: E205 unknown country 'Germany'"),
        (
            "{country: DE, subdivision: ZZ}",
            "7:36: E205 unknown subdivision 'ZZ' of DE; expected one of BB, BE, BW, BY",
        ),
    ],
    ids=["unknown", "a-name", "subdivision"],
)
def test_an_unknown_holiday_country_is_reported_at_its_line_and_column(
    holiday: str, expected: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        slaengine.loads_policies(CALENDAR.format(holiday=holiday), "p.yaml")
    [problem] = raised.value.problems
    found = f"{problem.line}:{problem.column}: {problem.code} {problem.message}"
    assert found.startswith(expected)


@pytest.mark.parametrize("code", ["US", "us", "UK", "GBR", "DEU"])
def test_known_country_codes_and_aliases_load(code: str) -> None:
    policies = slaengine.loads_policies(CALENDAR.format(holiday=f"{{country: {code}}}"), "p.yaml")
    assert policies.calendars["office"].name == "office"


def test_a_country_without_subdivision_is_checked_without_its_holiday_modules() -> None:
    text = CALENDAR.format(holiday="{country: US}")
    out = _python(
        "import sys, slaengine\n"
        f"policies = slaengine.loads_policies({text!r}, 'p.yaml')\n"
        "print(sum(m.startswith('holidays.countries') for m in sys.modules))\n"
        "calendar = policies.calendars['office']\n"
        "print(calendar.is_open(1767225600 + 10 * 3600))\n"  # 1 January 2026, a holiday
    )
    assert out.splitlines() == ["0", "False"]


def test_the_engine_starts_without_the_audit_and_numpy() -> None:
    # The audit's compiled classes register for pickling when the audit is imported:
    # before, none is registered (and numpy is not loaded); after, every class of every
    # compiled module is, whichever audit module was imported first.
    out = _python(
        "import copyreg, dataclasses, sys\n"
        "import slaengine\n"
        "from slaengine.compiled import MODULES\n"
        "def registered(prefix):\n"
        "    return sorted(c.__name__ for c in copyreg.dispatch_table\n"
        "                  if getattr(c, '__module__', '').startswith(prefix))\n"
        "print(sorted(m for m in ('numpy', 'slaengine.audit') if m in sys.modules))\n"
        "print(registered('slaengine.audit'))\n"
        "print(len(registered('slaengine.')) > 0)\n"
        "import slaengine.audit.facts\n"
        "classes = [v for name in MODULES for v in vars(sys.modules[name]).values()\n"
        "           if isinstance(v, type) and v.__module__ == name\n"
        "           and dataclasses.is_dataclass(v)]\n"
        "print([c.__qualname__ for c in classes if c not in copyreg.dispatch_table])\n"
        "print(len(registered('slaengine.audit')) > 0)\n"
    )
    assert out.splitlines() == ["[]", "[]", "True", "[]", "True"]


def test_the_collector_is_tuned_from_the_start_of_a_command(monkeypatch, capsys) -> None:
    # Importing the command's module and loading its plugins and policies allocate as
    # much as a small run: the command line collects less often from the start, and
    # leaves the thresholds as they were.
    import gc

    import slaengine.cli

    seen: list[tuple[int, int, int]] = []
    real = slaengine.cli.configure_logging

    def configure(verbosity: int = 0, json: bool | None = None) -> None:
        seen.append(gc.get_threshold())
        real(verbosity, json)

    monkeypatch.setattr(slaengine.cli, "configure_logging", configure)
    before = gc.get_threshold()
    policies = str(Path(__file__).resolve().parents[1] / "policies")
    assert slaengine.cli.main(["check", policies]) == 0
    assert capsys.readouterr().err.startswith("ok: ")
    assert len(seen) == 1
    assert seen[0][0] > before[0]
    assert gc.get_threshold() == before


_SAME_HOLIDAYS = (
    "import sys\n"
    "from slaengine.holiday_countries import (\n"
    "    country_class, country_holidays, country_subdivisions)\n"
    "years = range(2024, 2028)\n"
    "mine = [(country_holidays(c, s, years), country_subdivisions(c)) for c, s in cases]\n"
    "print([country_class(c) is not None for c, _ in cases])\n"
    "import holidays\n"
    "theirs = [(set(holidays.country_holidays(c, subdiv=s, years=years).keys()),\n"
    "           tuple(getattr(holidays, c).subdivisions)) for c, s in cases]\n"
    "print(mine == theirs, all(dates for dates, _ in mine))\n"
)


@pytest.mark.parametrize(
    ("cases", "alone"),
    [
        ([("DE", "BE"), ("US", "CA"), ("UK", None), ("FRA", None)], [True] * 4),
        # The Isle of Man's module imports the United Kingdom's, and so every country: the
        # package's own way (then every country is the package's).
        ([("IM", None), ("DE", None)], [False, False]),
    ],
    ids=["alone", "package"],
)
def test_a_countrys_holidays_come_from_its_module_alone_with_the_packages_dates(
    cases: list[tuple[str, str | None]], alone: list[bool]
) -> None:
    # In a fresh process, the dates and subdivisions the package gives, either way.
    out = _python(f"cases = {cases!r}\n" + _SAME_HOLIDAYS)
    assert out.splitlines() == [str(alone), "True True"]


def test_evaluate_loads_the_holidays_of_the_countries_its_policies_name_only(tmp_path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(CALENDAR.format(holiday="{country: DE, subdivision: BE}"), "utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text(
        '{"ticket": "T-1", "at": "2025-12-24T09:00:00Z", "type": "created", '
        '"channel": "email", "priority": "high"}\n',
        "utf-8",
    )
    out = _python(
        "import io, sys, contextlib\n"
        "from slaengine.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as text:\n"
        f"    main(['evaluate', '-p', {str(policy)!r}, '-e', {str(events)!r},\n"
        "          '--at', '2025-12-29T12:00:00Z', '-f', 'json'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('holidays.countries')))\n"
        "print(text.getvalue().count('T-1'))\n"
    )
    assert out.splitlines() == ["['holidays.countries.germany']", "1"]


_ONE_TICKET = (
    '{"ticket": "T-1", "at": "2025-12-01T09:00:00Z", "type": "created", '
    '"channel": "email", "priority": "high"}\n'
)


_HEAVY = ("structlog", "rich", "asyncio", "holidays.countries", "numpy")


def _evaluate(
    tmp_path: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    heavy: tuple[str, ...] = _HEAVY,
) -> tuple[str, str]:
    # ``slaengine evaluate -f json`` of one ticket in a fresh process, the bundled plugins
    # installed: its output, and its log on stderr followed by the ``heavy`` modules it
    # imported.
    events = tmp_path / "one.jsonl"
    events.write_text(_ONE_TICKET, "utf-8")
    policies = str(Path(__file__).resolve().parents[1] / "policies")
    argv = [*extra, "evaluate", "-p", policies, "-e", str(events), "--at",
            "2025-12-02T00:00:00Z", "-f", "json"]  # fmt: skip
    code = (
        "import sys\n"
        "from slaengine.cli import main\n"
        f"status = main({argv!r})\n"
        f"heavy = {heavy!r}\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([SRC, *sys.path]), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def test_evaluate_imports_no_logging_or_terminal_modules_it_does_not_use(tmp_path) -> None:
    out, err = _evaluate(tmp_path)
    assert json.loads(out)["ticket"] == "T-1"
    assert err == "[]\n"


def test_evaluate_loads_the_plugins_without_their_importers_inboxes_or_mail(tmp_path) -> None:
    # The bundled plugins are loaded (their hooks modules imported); the importers, inbox
    # webhooks and the e-mail plugin's sender (smtplib, ssl, sqlite3) wait until used.
    hooks = ("slaengine.builtin_plugins", "slaengine_email.hooks", "slaengine_webhook.hooks")
    deferred = ("slaengine.importers.zendesk", "slaengine.inbox.chatwoot", "smtplib", "ssl",
                "sqlite3", "slaengine_email.notifier")  # fmt: skip
    _, err = _evaluate(tmp_path, heavy=hooks + deferred)
    assert err == f"{sorted(hooks)}\n"


def test_evaluate_logs_what_is_shown_as_before(tmp_path) -> None:
    # -v shows the info event: structlog is imported for it, and configured as the
    # command line asked (JSON lines, stderr not being a terminal).
    _, err = _evaluate(tmp_path, "-v")
    event = json.loads(err.splitlines()[0])
    assert (event["event"], event["level"], event["tickets"]) == ("evaluated", "info", 1)
    assert err.splitlines()[1].startswith("['asyncio', 'rich', 'structlog'")
    # A warning with no -v: the plugins' own.
    _, err = _evaluate(tmp_path, env={"SLAENGINE_PLUGINS": "nope"})
    event = json.loads(err.splitlines()[0])
    assert event["level"] == "warning"
    assert event["plugin"] == "nope"


def test_settings_apply_to_structlog_imported_later_by_anyone() -> None:
    # Kept by configure_logging while structlog is not imported, applied as its import
    # ends: a module that imports it itself logs as configured (JSON, warnings and up).
    code = (
        "import sys\n"
        "from slaengine.logs import configure_logging, get_logger\n"
        "configure_logging(0, json=True)\n"
        "get_logger('t').info('dropped', n=1)\n"
        "print('structlog' in sys.modules)\n"
        "import structlog\n"
        "print(structlog.__loader__ is structlog.__spec__.loader, type(structlog.__loader__))\n"
        "structlog.get_logger().info('dropped too', n=2)\n"
        "structlog.get_logger().warning('shown', n=3)\n"
        "get_logger('t').error('shown too', n=4)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([SRC, *sys.path])},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # Imported through the settings' hook, then as if imported the usual way.
    assert done.stdout.splitlines() == [
        "False",
        "True <class '_frozen_importlib_external.SourceFileLoader'>",
    ]
    events = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["event"], e["level"], e["n"]) for e in events] == [
        ("shown", "warning", 3),
        ("shown too", "error", 4),
    ]
    assert all(e["timestamp"].endswith("Z") for e in events)
