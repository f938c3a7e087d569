"""JSON Lines sources from the run's configuration, validated.

The plugin's table is ``config["plugins"]["jsonl"]``; each
``[plugins.jsonl.sources.NAME]`` table describes one source named ``NAME``. A
source with a mistake is reported (every problem of it at once) and left out;
the others still load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from slaengine.problems import did_you_mean, placed

PLUGIN: Final = "jsonl"
DEFAULT_PATTERN: Final = "*.jsonl"
SOURCE_KEYS: Final = ("path", "pattern")
PLUGIN_KEYS: Final = ("sources",)


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """One source: a file, or a directory whose files matching ``pattern`` are read by name."""

    name: str
    path: Path
    pattern: str = DEFAULT_PATTERN


class ConfigError(ValueError):
    """A source's table is not usable; the message lists every problem found."""


def parse_source(name: str, table: Any) -> SourceSettings:
    """The source ``[plugins.jsonl.sources.NAME]`` describes.

    :raises ConfigError: listing every problem of the table, separated by ``; ``.
    """
    if not isinstance(table, Mapping):
        raise ConfigError(f"expected a table of settings, got {type(table).__name__}")
    problems = [
        f"unknown setting {key!r}{did_you_mean(str(key), SOURCE_KEYS)} "
        f"(expected {', '.join(SOURCE_KEYS)})"
        for key in table
        if key not in SOURCE_KEYS
    ]
    path = table.get("path")
    if not isinstance(path, str) or not path:
        problems.append("'path' is required: a .jsonl file or a directory of them")
    pattern = table.get("pattern", DEFAULT_PATTERN)
    if not isinstance(pattern, str) or not pattern or "/" in pattern or "\\" in pattern:
        problems.append(f"'pattern' must be a file name pattern such as '*.jsonl', got {pattern!r}")
    if problems:
        raise ConfigError("; ".join(problems))
    return SourceSettings(name, Path(str(path)).expanduser(), str(pattern))


@dataclass(frozen=True, slots=True)
class Loaded:
    """The usable sources, and ``(source or None, problem)`` for what was left out."""

    sources: list[SourceSettings]
    problems: list[tuple[str | None, str]]


def load_sources(config: Mapping[str, Any]) -> Loaded:
    """Every valid source of ``config["plugins"]["jsonl"]``; none when the table is absent."""
    plugins = config.get("plugins")
    table = plugins.get(PLUGIN) if isinstance(plugins, Mapping) else None
    if table is None:
        return Loaded([], [])
    keys = ("plugins", PLUGIN)
    if not isinstance(table, Mapping):
        problem = placed(config, keys, f"[plugins.{PLUGIN}] must be a table")
        return Loaded([], [(None, problem)])
    expected = ", ".join(PLUGIN_KEYS)
    problems: list[tuple[str | None, str]] = [
        (
            None,
            placed(
                config, keys, f"unknown setting {key!r} in [plugins.{PLUGIN}] (expected {expected})"
            ),
        )
        for key in table
        if key not in PLUGIN_KEYS
    ]
    sources_table = table.get("sources", {})
    if not isinstance(sources_table, Mapping):
        text = f"[plugins.{PLUGIN}.sources] must be a table of sources"
        problems.append((None, placed(config, (*keys, "sources"), text)))
        return Loaded([], problems)
    sources = []
    for name, settings in sources_table.items():
        try:
            sources.append(parse_source(str(name), settings))
        except ConfigError as exc:
            problems.append((str(name), placed(config, (*keys, "sources", str(name)), str(exc))))
    return Loaded(sources, problems)


__all__ = [
    "DEFAULT_PATTERN",
    "PLUGIN",
    "ConfigError",
    "Loaded",
    "SourceSettings",
    "load_sources",
    "parse_source",
]
