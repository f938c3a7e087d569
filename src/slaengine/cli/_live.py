"""Settings and set-up that the live commands (run, status, outbox, ingest) share."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slaengine.cli._options import command_plugins, load_command_policies, use_config
from slaengine.config import section
from slaengine.durations import parse_duration
from slaengine.errors import PolicyError, UserError
from slaengine.live import Backoff, LiveEngine, Store
from slaengine.live.recipients import Routing, plugin_routing

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
        parser.add_argument(
            "--policies",
            "-p",
            action="append",
            metavar="PATH",
            help="policy file or directory (repeatable; default: [live] policies)",
        )


def _seconds(value: object, name: str) -> float:
    # Numbers in the settings file are seconds; texts are durations ("30s", "2m").
    if isinstance(value, bool):
        raise UserError(f"[live] {name}: expected seconds or a duration like '30s'")
    if isinstance(value, int | float):
        if value <= 0:
            raise UserError(f"[live] {name}: must be more than zero")
        return float(value)
    try:
        return parse_duration(value if str(value)[-1:].isalpha() else f"{value}s")
    except PolicyError as exc:
        raise UserError(f"[live] {name}: {exc}") from None


def live_settings(args: argparse.Namespace) -> LiveSettings:
    """Settings from the config file and the flags (flags win)."""
    config = use_config(getattr(args, "config", None))
    live = section(config, "live")
    retry = section(config, "live", "retry")
    unknown = sorted(set(live) - {"state", "policies", "tick", "read_limit", "lease", "retry"})
    if unknown:
        raise UserError(
            f"[live]: unknown setting {unknown[0]!r}; expected state, policies, tick, "
            "read_limit, lease or retry"
        )
    policies = getattr(args, "policies", None) or live.get("policies") or ()
    if isinstance(policies, str):
        policies = [policies]
    return LiveSettings(
        state=str(args.state or live.get("state") or DEFAULT_STATE),
        policies=tuple(str(p) for p in policies),
        tick=_seconds(live.get("tick", 5), "tick"),
        read_limit=int(live.get("read_limit", 1000)),
        lease=max(1, int(_seconds(live.get("lease", 60), "lease"))),
        backoff=Backoff(
            first=max(1, int(_seconds(retry.get("first", 10), "retry.first"))),
            cap=max(1, int(_seconds(retry.get("cap", 3600), "retry.cap"))),
            attempts=int(retry.get("attempts", 10)),
        ),
        config=config,
    )


def open_store(settings: LiveSettings) -> Store:
    """The state database, migrated to the current schema."""
    return Store.open(settings.state)


def open_engine(settings: LiveSettings) -> tuple[LiveEngine, Routing]:
    """The live engine on the settings' policies and state, routed through the plugins."""
    if not settings.policies:
        raise UserError("no policies: give --policies PATH or 'policies' in the [live] table")
    policies = load_command_policies(*settings.policies)
    routing = plugin_routing(command_plugins())
    return LiveEngine(policies, open_store(settings), routing.recipients), routing


__all__ = [
    "DEFAULT_STATE",
    "LiveSettings",
    "add_live_options",
    "live_settings",
    "open_engine",
    "open_store",
]
