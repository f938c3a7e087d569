"""Located problems of user input: one collector and one "did you mean" wording.

Policies, policy tests, events and plugin settings all report mistakes the same way:
``file:line:col: CODE message``, and a misspelt name ends with ``; did you mean 'x'?``.
:func:`setting_place` and :func:`placed` put a plugin's settings problems at their
``file:line:col``; :func:`setting_seconds` reads a duration setting as ``[live]`` does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Protocol

from slaengine.config import locate, setting_seconds, setting_value
from slaengine.errors import Problem


class Located(Protocol):
    """Anything with a 1-based line and column (a parsed YAML node)."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""`` when none is close."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def unknown_key(name: str, allowed: Sequence[str], where: str) -> str:
    """The E101 message for a key ``name`` that ``where`` does not allow."""
    return (
        f"unknown key '{name}' in {where}; expected one of {', '.join(allowed)}"
        f"{did_you_mean(name, allowed)}"
    )


def setting_place(config: Mapping[str, Any], *keys: str) -> str | None:
    """``file:line:col`` where the setting or table at ``keys`` is written, or ``None``.

    ``config`` is the mapping ``slaengine_configure`` hands a plugin. The
    place is the key's own line, else its table's header, else the file;
    ``None`` when the settings came from no file (a host's own mapping).
    A plugin starts its problem with it: ``f"{place}: [plugins.NAME] ..."``.
    """
    place = locate(config, *keys)
    return None if place == "settings" else place


# The key a settings problem starts with, after its table: ``[t] to[0]: ...``,
# ``host: ...``, ``'path' is required``, ``unknown setting 'x'``.
_NAMED_KEY: Final = re.compile(
    r"^(?:\[[^\]]*\] )?(?:unknown setting '(?P<unknown>[^']+)'|'?(?P<key>[\w-]+)'?[\[: ])"
)


def placed(config: Mapping[str, Any], keys: Sequence[str], problem: str) -> str:
    """``problem`` about the table at ``keys``, after where it is written (:func:`setting_place`).

    The place is that of the key the problem starts with when the table has
    it (``to: ...``, ``unknown setting 'x'``), else the table's; the problem
    is returned as it is when the settings came from no file.
    """
    found = _NAMED_KEY.match(problem)
    key = found and (found["unknown"] or found["key"])
    table = setting_value(config, tuple(keys), None)
    where = (*keys, key) if key and isinstance(table, Mapping) and key in table else tuple(keys)
    place = setting_place(config, *where)
    return problem if place is None else f"{place}: {problem}"


class ProblemCollector:
    """Collects every located problem of one source before anything fails."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def report(self, node: Located, code: str, message: str) -> None:
        """Record ``message`` under ``code`` at the line and column of ``node``."""
        self.problems.append(Problem(self.source, node.line, node.column, code, message))

    def unknown_keys(
        self, entries: Mapping[str, tuple[Located, object]], allowed: Sequence[str], where: str
    ) -> int:
        """Report (E101) every key of ``entries`` not in ``allowed``; return how many."""
        unknown = 0
        for name, (key, _value) in entries.items():
            if name not in allowed:
                unknown += 1
                self.report(key, "E101", unknown_key(name, allowed, where))
        return unknown


__all__ = [
    "Located",
    "ProblemCollector",
    "did_you_mean",
    "placed",
    "setting_place",
    "setting_seconds",
    "unknown_key",
]
