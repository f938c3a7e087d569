"""The settings file: where the live worker and plugins read their configuration.

A TOML file. Looked up as: the path given (``slaengine run --config FILE``),
else the file named by ``SLAENGINE_CONFIG``, else ``slaengine.toml`` in the
current directory when there is one; none of these means empty settings.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from slaengine.durations import parse_duration
from slaengine.errors import UserError
from slaengine.safetext import printable

ENV_CONFIG: Final = "SLAENGINE_CONFIG"
DEFAULT_NAME: Final = "slaengine.toml"
_AT: Final = re.compile(r"\(at line (?P<line>\d+), column (?P<column>\d+)\)$")


def config_path(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The settings file to read, or ``None`` when there is none."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    default = Path(DEFAULT_NAME)
    return default if default.is_file() else None


#: The longest duration a setting may give (30 days): longer is a typing mistake.
MAX_SETTING_SECONDS: Final = 30 * 86_400


class Settings(dict[str, Any]):
    """Parsed settings that remember their file, so a bad value can be located."""

    path: Path | None = None
    text: str = ""


class ReadOnlySettings(Mapping[str, Any]):
    """Settings as plugins receive them: read-only, and still knowing their file.

    :func:`locate` (for plugins, :func:`slaengine.problems.setting_place`)
    finds a setting's line in it as in :class:`Settings`.
    """

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self._data = dict(settings)
        self.path: Path | None = getattr(settings, "path", None)
        self.text: str = getattr(settings, "text", "")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ReadOnlySettings({self._data!r})"


def load_config(path: Path | None) -> dict[str, Any]:
    """The parsed settings (empty without a file); a bad file is a :class:`UserError`.

    The result is a :class:`Settings`, which :func:`locate` and the checked
    readers (:func:`seconds_setting`, :func:`count_setting`) use to say where a
    bad value is written.
    """
    if path is None:
        return Settings()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"config: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        settings = Settings(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        # The message ends with "(at line L, column C)"; put it compiler-style.
        found = _AT.search(str(exc))
        if found is None:
            raise UserError(f"{path}: {exc}") from None
        message = str(exc)[: found.start()].strip()
        raise UserError(f"{path}:{found['line']}:{found['column']}: {message}") from None
    settings.path, settings.text = path, text
    return settings


def _header(keys: Sequence[str]) -> re.Pattern[str]:
    # ``[a.b]`` with any spacing, bare or quoted names (``[inbox."front"]``).
    names = (rf"""(?:{re.escape(k)}|"{re.escape(k)}"|'{re.escape(k)}')""" for k in keys)
    return re.compile(r"^(\s*)\[\s*" + r"\s*\.\s*".join(names) + r"\s*\]")


def locate(config: Mapping[str, Any], *keys: str) -> str:
    """``file:line:col`` of the setting at ``keys`` (``"live", "tick"``), as near as known.

    The key's own line when it is written under its table header (``[live]``
    then ``tick = ...``) or dotted (``live.tick = ...``); for a table written
    as a header of its own (``[inbox.zendesk]``), that header's line; else the
    file alone; ``"settings"`` when there is no file.
    """
    path = config.path if isinstance(config, Settings | ReadOnlySettings) else None
    if path is None:
        return "settings"
    text = config.text if isinstance(config, Settings | ReadOnlySettings) else ""
    *tables, key = keys
    header = _header(tables)
    own_header = _header(keys)
    assignment = re.compile(r"^(\s*)" + re.escape(key) + r"\s*=")
    dotted = re.compile(r"^(\s*)" + r"\s*\.\s*".join(map(re.escape, keys)) + r"\s*=")
    inside = not tables
    table_at = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("["):
            inside = bool(header.match(line))
            own = own_header.match(line)
            if own is not None and table_at is None:
                table_at = f"{path}:{number}:{len(own.group(1)) + 1}"
            continue
        found = (assignment.match(line) if inside else None) or dotted.match(line)
        if found is not None:
            return f"{path}:{number}:{len(found.group(1)) + 1}"
    return table_at or str(path)


def setting_error(config: Mapping[str, Any], keys: tuple[str, ...], message: str) -> UserError:
    """A :class:`UserError` for the setting at ``keys``: where it is, its name, what is wrong."""
    table, name = ".".join(keys[:-1]), keys[-1]
    label = f"[{table}] {name}" if table else name
    return UserError(f"{locate(config, *keys)}: {label}: {printable(message)}")


def setting_value(config: Mapping[str, Any], keys: tuple[str, ...], default: object) -> object:
    """The value at ``keys`` (``"serve", "listen"``) as written, or ``default`` when absent."""
    current: Any = config
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
    return current


SECONDS_EXPECTED: Final = "expected seconds or a duration like '30s' or '2m'"


def setting_seconds(value: object) -> float:
    """Seconds of a duration setting: a number of seconds, or a text like ``"30s"``,
    ``"2m"``, ``"1h30m"`` (a bare number in a text is seconds too). Plugins read their
    durations with it, so every setting takes the same forms.

    :raises ValueError: saying what was expected.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{SECONDS_EXPECTED}, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        seconds = float(parse_duration(text if text[-1:].isalpha() else f"{text}s"))
    else:
        seconds = float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"{SECONDS_EXPECTED}, got {value!r}")
    return seconds


def seconds_setting(config: Mapping[str, Any], keys: tuple[str, ...], default: float) -> float:
    """The duration at ``keys`` in seconds (:func:`setting_seconds`).

    More than zero and at most :data:`MAX_SETTING_SECONDS`; anything else is a
    located :class:`UserError`.
    """
    value = setting_value(config, keys, default)
    try:
        seconds = setting_seconds(value)
    except ValueError as exc:
        raise setting_error(config, keys, str(exc)) from None
    if seconds <= 0:
        raise setting_error(config, keys, f"must be more than zero seconds, got {value!r}")
    if seconds > MAX_SETTING_SECONDS:
        raise setting_error(
            config, keys, f"must be at most {MAX_SETTING_SECONDS // 86_400} days, got {value!r}"
        )
    return seconds


def count_setting(
    config: Mapping[str, Any], keys: tuple[str, ...], default: int, low: int = 1, high: int = 10**6
) -> int:
    """The whole number at ``keys``, from ``low`` to ``high``; else a located :class:`UserError`."""
    value = setting_value(config, keys, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise setting_error(config, keys, f"expected a whole number, got {value!r}")
    if not low <= value <= high:
        raise setting_error(config, keys, f"must be from {low:,} to {high:,}, got {value:,}")
    return value


def text_setting(
    config: Mapping[str, Any], keys: tuple[str, ...], default: str | None
) -> str | None:
    """The text at ``keys`` (``default`` when absent); not text is a located :class:`UserError`."""
    value = setting_value(config, keys, default)
    if value is not None and not isinstance(value, str):
        raise setting_error(config, keys, f"expected text, got {value!r}")
    return value


def texts_setting(config: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, ...]:
    """A text or a list of texts at ``keys`` (empty when absent), as a tuple."""
    value = setting_value(config, keys, ())
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise setting_error(config, keys, f"expected text or a list of texts, got {value!r}")
    return tuple(value)


def section(config: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The table at ``keys`` (e.g. ``"plugins", "webhook"``), empty when absent."""
    current: Any = config
    for key in keys:
        if not isinstance(current, Mapping):
            return {}
        current = current.get(key, {})
    return dict(current) if isinstance(current, Mapping) else {}


__all__ = [
    "DEFAULT_NAME",
    "ENV_CONFIG",
    "MAX_SETTING_SECONDS",
    "ReadOnlySettings",
    "Settings",
    "config_path",
    "count_setting",
    "load_config",
    "locate",
    "seconds_setting",
    "section",
    "setting_error",
    "setting_seconds",
    "setting_value",
    "text_setting",
    "texts_setting",
]
