"""Options and argument checks that several commands share, written once."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from slaengine.calendar import BusinessCalendar
from slaengine.config import config_path, load_config
from slaengine.errors import EventError, Problem, UserError
from slaengine.event_parsing import parse_instant
from slaengine.inputs import read_events
from slaengine.plugins import Plugins, make_plugins
from slaengine.policy import PolicySet, load_policies, read_policies
from slaengine.policy.nodes import NotifyTargets
from slaengine.problems import did_you_mean
from slaengine.timeline import TimelineSet
from slaengine.words import plural

SHOWN_PROBLEMS = 20

EVENTS_HELP = "events: JSON Lines (.gz too), CSV or Parquet; need not be sorted; '-' reads stdin"


def add_policies(parser: argparse.ArgumentParser, help: str = "policy file or directory") -> None:
    """``--policies/-p PATH`` (repeatable), and ``--config`` for the plugins they rely on."""
    parser.add_argument(
        "--policies",
        "-p",
        action="append",
        required=True,
        metavar="PATH",
        help=f"{help} (repeatable)",
    )
    add_config(parser)


CONFIG_HELP = (
    "settings file; its plugins register the notify targets (and calendars) policies may name "
    "(default: $SLAENGINE_CONFIG, else ./slaengine.toml when present)"
)


def add_config(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``: the settings file, for commands that load policies."""
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)


def add_events(parser: argparse.ArgumentParser) -> None:
    """``--events/-e FILE``."""
    parser.add_argument("--events", "-e", required=True, metavar="FILE", help=EVENTS_HELP)


def add_at(parser: argparse.ArgumentParser) -> None:
    """``--at ISO``: the evaluation instant."""
    parser.add_argument(
        "--at",
        metavar="ISO",
        help="evaluation instant with a UTC offset (default: now); later events are ignored",
    )


def add_jobs(parser: argparse.ArgumentParser) -> None:
    """``--jobs/-j N``: worker processes."""
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default 1; 0 = one per core); results do not depend on it",
    )


def add_scheduler(parser: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS``: run on a Dask cluster (docs/distributed.md)."""
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786 "
        "(needs slaengine[dask]; the workers must read --events at the same path); "
        "the output is the local run's (docs/distributed.md)",
    )


def add_tz(parser: argparse.ArgumentParser, help: str = "time zone of the times shown") -> None:
    """``--tz ZONE`` (default UTC); ``--timezone`` is the same option, spelled out."""
    parser.add_argument(
        "--tz",
        "--timezone",
        dest="tz",
        default="UTC",
        metavar="ZONE",
        help=f"{help}: an IANA name such as Europe/Berlin (default UTC)",
    )


def add_rejects(parser: argparse.ArgumentParser) -> None:
    """``--rejects FILE``: keep every unusable event's problem."""
    parser.add_argument("--rejects", metavar="FILE",
                        help="write every unusable event's problem to FILE")  # fmt: skip


def report_problems(
    problems: Sequence[Problem], rejects: str | None = None, duplicates: int = 0
) -> None:
    """Print the first problems (and ignored duplicates) on stderr; all to ``rejects``."""
    for problem in problems[:SHOWN_PROBLEMS]:
        print(problem, file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        more = len(problems) - SHOWN_PROBLEMS
        hint = f"; all in {rejects}" if rejects else "; use --rejects FILE to keep them all"
        print(f"... and {plural(more, 'more problem')}{hint}", file=sys.stderr)
    if duplicates:
        print(f"{plural(duplicates, 'duplicate event')} ignored (repeated id)", file=sys.stderr)
    if rejects:
        with open(rejects, "w", encoding="utf-8") as out:
            out.writelines(f"{problem}\n" for problem in problems)


def unreadable_events(events: str, exc: OSError) -> UserError:
    """The user error for an ``--events`` file that could not be read."""
    return UserError(f"--events: cannot read {events}: {exc.strerror or exc}")


def writable_output(path: str, option: str) -> None:
    """Stop with a user error naming ``option`` when ``path`` cannot be written.

    Checked before the work starts, so a typo in an output path does not cost a
    whole run: the file must be writable, or its folder exist and be writable.
    """
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{option}: cannot write {path}: it is a directory")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise UserError(f"{option}: cannot write {path}: permission denied")
        return
    parent = target.parent
    if not parent.exists():
        raise UserError(f"{option}: cannot write {path}: no such directory {str(parent)!r}")
    if not parent.is_dir():
        raise UserError(f"{option}: cannot write {path}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{option}: cannot write {path}: directory {str(parent)!r} is read-only")


def read_timelines(events: str, status_map: Mapping[str, str]) -> TimelineSet:
    """``read_events`` for a command: an unreadable file is a user error naming ``--events``."""
    try:
        return read_events(events, status_map)
    except OSError as exc:
        raise unreadable_events(events, exc) from None


_config_file: list[str | None] = [None]


def select_config(path: str | None) -> None:
    """Make ``path`` (``--config``; ``None``: the default lookup) this command's settings file.

    Every command line run starts here, so a command never inherits the settings
    or plugins of an earlier one run in the same process.
    """
    _config_file[0] = path
    command_plugins.cache_clear()


def use_config(path: str | None) -> dict[str, Any]:
    """Read the settings file for this command (``--config``, $SLAENGINE_CONFIG, ./slaengine.toml).

    Call it before anything asks for :func:`command_plugins`, which hands the
    settings to the plugins.
    """
    select_config(path)
    return load_config(config_path(path))


def settings_file() -> Path | None:
    """The settings file this command reads (after the lookup), or ``None``."""
    return config_path(_config_file[0])


@functools.cache
def command_plugins() -> Plugins:
    """The plugins of this command's process, discovered once and configured."""
    plugins = make_plugins()
    plugins.configure(load_config(config_path(_config_file[0])))
    return plugins


def plugin_calendars() -> Mapping[str, BusinessCalendar]:
    """Named calendars contributed by plugins, for policies to refer to."""
    return command_plugins().calendars()


def plugin_notifiers() -> NotifyTargets:
    """Notify target names contributed by plugins; policies may name only these. Targets
    the settings file configures that are not among them carry the reason (for E305)."""
    plugins = command_plugins()
    config = load_config(config_path(_config_file[0]))
    return NotifyTargets(plugins.notifiers(), plugins.left_out_targets(config))


def load_command_policies(*paths: str, targets: bool = True) -> PolicySet:
    """``load_policies`` with what the plugins contribute (calendars, targets, conditions).

    ``targets`` False leaves ``notify`` names unchecked: for commands that send
    nothing (evaluate, explain, audit, whatif, status), which must work without
    the settings file that sets up the targets.
    """
    return load_policies(
        *paths,
        calendars=plugin_calendars(),
        notifiers=plugin_notifiers() if targets else None,
        conditions=command_plugins().conditions(),
    )


def read_command_policies(paths: Sequence[str]) -> tuple[PolicySet | None, list[Problem]]:
    """``read_policies`` with what the plugins contribute, keeping every problem."""
    return read_policies(
        paths, plugin_calendars(), plugin_notifiers(), command_plugins().conditions()
    )


def evaluation_instant(text: str | None) -> int:
    """Epoch seconds of ``--at``, or of now when it is not given."""
    if text is None:
        return int(time.time())
    return option_instant(text, "--at")


def option_instant(text: str, option: str) -> int:
    """Epoch seconds of the ISO 8601 instant given to ``option``; a user error otherwise."""
    try:
        return parse_instant(text, option)
    except EventError as exc:
        reason = exc.reason  # names the option already, or says what is wrong with the text
        raise UserError(reason if reason.startswith(option) else f"{option}: {reason}") from None


def checked_zone(name: str) -> str:
    """``name`` if it is a known IANA time zone; a user error otherwise."""
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # OSError: "Europe" is a folder of the database
        suggestion = did_you_mean(name, sorted(available_timezones()))
        raise UserError(
            f"--tz: unknown time zone {name!r} (e.g. UTC, Europe/Berlin){suggestion}"
        ) from None
    return name


def worker_count(jobs: int) -> int:
    """Processes for ``--jobs``: 0 means one per core."""
    if jobs < 0:
        raise UserError("--jobs must be 0 (one per core) or more")
    return jobs or os.cpu_count() or 1


__all__ = [
    "CONFIG_HELP",
    "EVENTS_HELP",
    "add_at",
    "add_config",
    "add_events",
    "add_jobs",
    "add_policies",
    "add_rejects",
    "add_scheduler",
    "add_tz",
    "checked_zone",
    "command_plugins",
    "evaluation_instant",
    "load_command_policies",
    "plugin_calendars",
    "plugin_notifiers",
    "read_command_policies",
    "read_timelines",
    "report_problems",
    "select_config",
    "settings_file",
    "unreadable_events",
    "use_config",
    "worker_count",
    "writable_output",
]
