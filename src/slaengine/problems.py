"""Located problems of user input: one collector and one "did you mean" wording.

Policies, policy tests, events and plugin settings all report mistakes the same way:
``file:line:col: CODE message``, and a misspelt name ends with ``; did you mean 'x'?``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

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


__all__ = ["Located", "ProblemCollector", "did_you_mean", "unknown_key"]
