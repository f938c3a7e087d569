"""The settings file: where the live worker and plugins read their configuration.

A TOML file. Looked up as: the path given (``slaengine run --config FILE``),
else the file named by ``SLAENGINE_CONFIG``, else ``slaengine.toml`` in the
current directory when there is one; none of these means empty settings.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from slaengine.errors import UserError

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


def load_config(path: Path | None) -> dict[str, Any]:
    """The parsed settings (empty without a file); a bad file is a :class:`UserError`."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"config: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message ends with "(at line L, column C)"; put it compiler-style.
        found = _AT.search(str(exc))
        if found is None:
            raise UserError(f"{path}: {exc}") from None
        message = str(exc)[: found.start()].strip()
        raise UserError(f"{path}:{found['line']}:{found['column']}: {message}") from None


def section(config: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The table at ``keys`` (e.g. ``"plugins", "webhook"``), empty when absent."""
    current: Any = config
    for key in keys:
        if not isinstance(current, Mapping):
            return {}
        current = current.get(key, {})
    return dict(current) if isinstance(current, Mapping) else {}


__all__ = ["DEFAULT_NAME", "ENV_CONFIG", "config_path", "load_config", "section"]
