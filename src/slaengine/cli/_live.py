"""Settings and set-up that the live commands (run, status, outbox, ingest) share."""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slaengine.cli._options import command_plugins, load_command_policies, use_config
from slaengine.config import (
    count_setting,
    seconds_setting,
    setting_error,
    setting_value,
    text_setting,
    texts_setting,
)
from slaengine.errors import EventError, UserError
from slaengine.event_parsing import parse_instant
from slaengine.live import Backoff, LiveEngine, Store
from slaengine.live.recipients import Routing, plugin_routing
from slaengine.live.retention import Retention
from slaengine.problems import did_you_mean

DEFAULT_STATE = "slaengine-state.db"


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """The live worker's settings: the ``[live]`` table, overridden by command-line flags."""

    state: str
    policies: tuple[str, ...]
    tick: float
    read_limit: int
    lease: int
    backoff: Backoff
    config: Mapping[str, Any]
    quiet_before: int | None = None  # notifications before it are skipped (history)
    retention: Retention = field(
        default_factory=Retention
    )  # days rejects and settled outbox rows are kept


def add_live_options(parser: argparse.ArgumentParser, policies: bool = True) -> None:
    """``--config``, ``--state`` and (when needed) ``--policies``."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (TOML; default: $SLAENGINE_CONFIG, else ./slaengine.toml if present)",
    )
    parser.add_argument(
        "--state",
        metavar="URL",
        help="state database: a SQLite file path or postgresql://... "
        f"(default: [live] state, else {DEFAULT_STATE})",
    )
    if policies:
        add_live_policies(parser)


def add_live_policies(parser: argparse.ArgumentParser) -> None:
    """``--policies/-p PATH`` (repeatable), defaulting to the ``[live]`` table's."""
    parser.add_argument(
        "--policies",
        "-p",
        action="append",
        metavar="PATH",
        help="policy file or directory (repeatable; default: [live] policies)",
    )


_LIVE_KEYS = (
    "state",
    "policies",
    "tick",
    "read_limit",
    "lease",
    "quiet_before",
    "rejects_keep_days",
    "delivered_keep_days",
    "retry",
)
_RETRY_KEYS = ("first", "cap", "attempts")


def live_settings(args: argparse.Namespace) -> LiveSettings:
    """Settings from the config file and the flags (flags win); a bad value is located."""
    config = use_config(getattr(args, "config", None))
    live = config.get("live", {})
    if not isinstance(live, dict):
        raise setting_error(config, ("live",), "expected a table")
    retry = live.get("retry", {})
    if not isinstance(retry, dict):
        raise setting_error(config, ("live", "retry"), "expected a table")
    for keys, allowed in (((("live",)), _LIVE_KEYS), (("live", "retry"), _RETRY_KEYS)):
        table = live if keys == ("live",) else retry
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise setting_error(
                config,
                (*keys, unknown[0]),
                f"unknown setting; expected {', '.join(allowed[:-1])} or {allowed[-1]}"
                + did_you_mean(unknown[0], allowed),
            )
    policies = getattr(args, "policies", None) or texts_setting(config, ("live", "policies"))
    return LiveSettings(
        state=str(args.state or text_setting(config, ("live", "state"), None) or DEFAULT_STATE),
        policies=tuple(str(p) for p in policies),
        tick=seconds_setting(config, ("live", "tick"), 5),
        read_limit=count_setting(config, ("live", "read_limit"), 1000, high=100_000),
        lease=max(1, int(seconds_setting(config, ("live", "lease"), 60))),
        backoff=Backoff(
            first=max(1, int(seconds_setting(config, ("live", "retry", "first"), 10))),
            cap=max(1, int(seconds_setting(config, ("live", "retry", "cap"), 3600))),
            attempts=count_setting(config, ("live", "retry", "attempts"), 10, high=1000),
        ),
        config=config,
        quiet_before=_instant_setting(config, ("live", "quiet_before")),
        retention=Retention(
            rejects_days=_days_setting(config, ("live", "rejects_keep_days")),
            delivered_days=_days_setting(config, ("live", "delivered_keep_days")),
        ),
    )


def _days_setting(config: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    """A retention period in whole days (1 to 36,500), or ``None`` (keep for ever)."""
    if setting_value(config, keys, None) is None:
        return None
    return count_setting(config, keys, 0, high=36_500)


def _instant_setting(config: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    """The instant at ``keys``: ISO 8601 text or a TOML date-time, with its UTC offset."""
    value = setting_value(config, keys, None)
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return int(value.timestamp())
    problem = f"got {value!r}"
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except EventError as exc:
            problem = exc.reason
    raise setting_error(
        config,
        keys,
        f"expected an instant with its UTC offset, e.g. 2025-12-01T00:00:00Z: {problem}",
    )


def open_store(settings: LiveSettings, *, existing: bool = False) -> Store:
    """The state database, migrated to the current schema.

    ``existing`` is for the commands that only look (``status``, ``outbox``): a
    mistyped SQLite path must not become a new, empty state that shows nothing due.
    """
    if existing:
        require_state(settings.state)
    return open_state(settings.state)


def open_state(state: str) -> Store:
    """:meth:`Store.open`, with a file SQLite cannot use (not a database, locked) as a user
    error that names it."""
    try:
        return Store.open(state)
    except sqlite3.DatabaseError as exc:
        raise UserError(
            f"state {state!r} cannot be used as a slaengine state ({exc}); give the state "
            "database slaengine ingest, run or serve keep (--state, or 'state' in the [live] "
            "table)"
        ) from None


def require_state(state: str) -> None:
    """Stop with a user error when ``state`` names a SQLite file that does not exist."""
    if state.startswith(("postgresql://", "postgres://")):
        return
    path = state.removeprefix("sqlite:///").removeprefix("sqlite://")
    if path == ":memory:" or Path(path).is_file():
        return
    raise UserError(
        f"state {state!r} does not exist; give the state database the worker uses "
        "(--state, or 'state' in the [live] table); slaengine ingest, run and serve create it"
    )


def open_engine(
    settings: LiveSettings, *, existing: bool = False, sends: bool = True
) -> tuple[LiveEngine, Routing]:
    """The live engine on the settings' policies and state, routed through the plugins.

    ``sends`` False is for the commands that only look (``status``): the policies'
    notify targets need not resolve, so they work away from the settings file.
    """
    if not settings.policies:
        raise UserError("no policies: give --policies PATH or 'policies' in the [live] table")
    policies = load_command_policies(*settings.policies, targets=sends)
    routing = plugin_routing(command_plugins())
    engine = LiveEngine(
        policies,
        open_store(settings, existing=existing),
        routing.recipients,
        quiet_before=settings.quiet_before,
    )
    return engine, routing


__all__ = [
    "DEFAULT_STATE",
    "LiveSettings",
    "add_live_options",
    "add_live_policies",
    "live_settings",
    "open_engine",
    "open_state",
    "open_store",
    "require_state",
]
