"""The column mapping of the generic CSV importer: which column holds what, and value names.

A mapping is a small TOML file (see docs/importers.md)::

    [columns]
    ticket = "Ticket ID"
    at = "Updated"
    type = "Event"

    [values.type]
    "Internal note" = "note"

    [defaults]
    priority = "normal"

    [format]
    time = "%d/%m/%Y %H:%M"

Without a file, every column is read under its canonical name.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from slaengine.errors import UserError
from slaengine.problems import did_you_mean

#: Keys a column can be mapped to (``fields.NAME`` too).
KEYS: Final = (
    "ticket",
    "at",
    "type",
    "id",
    "author",
    "public",
    "agent",
    "channel",
    "priority",
    "status",
    "group",
    "assignee",
    "customer",
    "tags",
    "score",
)
#: Row types a ``type`` value may name: the canonical ones, ``note`` (an internal
#: message) and ``skip`` (a row that is no event, such as a notification).
TYPES: Final = ("created", "message", "note", "status", "update", "csat", "skip")
_SECTIONS: Final = ("columns", "values", "defaults", "format")


@dataclass(frozen=True, slots=True)
class Mapping:
    """Column names per key, value translations per key, defaults and the time format."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    time_format: str | None = None
    delimiter: str = ","
    source: str = "(no mapping file)"

    def column(self, key: str) -> str | None:
        """The column holding ``key``, if the file has one."""
        return self.columns.get(key)

    def translate(self, key: str, value: str) -> Any:
        """``value`` of ``key`` as the mapping renames it (exact, then ignoring case).

        A value the mapping does not list is kept as it is.
        """
        table = self.values.get(key)
        if not table:
            return value
        if value in table:
            return table[value]
        folded = {name.lower(): target for name, target in table.items()}
        return folded.get(value.lower(), value)


def load_mapping(path: Path | None) -> Mapping:
    """Read and check a mapping file; without one, canonical column names."""
    if path is None:
        return Mapping(columns={key: key for key in KEYS})
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"--mapping: cannot read {source}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: not a valid TOML mapping: {exc}") from None
    unknown = [name for name in data if name not in _SECTIONS]
    if unknown:
        raise UserError(
            f"{source}: unknown section(s) {', '.join(unknown)}; expected {', '.join(_SECTIONS)}"
            + did_you_mean(unknown[0], _SECTIONS)
        )
    columns = _strings(data.get("columns", {}), source, "columns")
    for key in columns:
        if key not in KEYS and not key.startswith("fields."):
            raise UserError(
                f"{source}: [columns] {key!r} is not an event key; "
                f"expected one of {', '.join(KEYS)} or fields.NAME"
            )
    for key in ("ticket", "at"):
        if key not in columns:
            raise UserError(f"{source}: [columns] needs {key!r} (the column holding it)")
    values: dict[str, dict[str, Any]] = {}
    for key, table in (data.get("values") or {}).items():
        if key not in columns or not isinstance(table, dict):
            raise UserError(f"{source}: [values.{key}] names no mapped column")
        values[key] = dict(table)
    for name, target in values.get("type", {}).items():
        if target not in TYPES:
            raise UserError(
                f"{source}: [values.type] {name!r} = {target!r}; expected one of {', '.join(TYPES)}"
            )
    defaults = _strings(data.get("defaults", {}), source, "defaults")
    fmt = data.get("format", {})
    time_format = fmt.get("time")
    delimiter = fmt.get("delimiter", ",")
    if time_format is not None and not isinstance(time_format, str):
        raise UserError(f"{source}: [format] time must be a strptime format string")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise UserError(f"{source}: [format] delimiter must be one character")
    return Mapping(columns, values, defaults, time_format, delimiter, source)


def _strings(table: object, source: str, section: str) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise UserError(f"{source}: [{section}] must map names to strings")
    return dict(table)


__all__ = ["KEYS", "TYPES", "Mapping", "load_mapping"]
