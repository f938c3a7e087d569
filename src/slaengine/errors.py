"""Exception tree: user mistakes (clear message, exit status 2) versus bugs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slaengine.safetext import printable


@dataclass(frozen=True, slots=True)
class Problem:
    """One located mistake in user input, printed compiler style.

    ``line`` and ``column`` are 1-based; 0 means unknown.
    """

    source: str
    line: int
    column: int
    code: str
    message: str

    @property
    def is_warning(self) -> bool:
        """Warnings (codes starting with ``W``) are shown but do not fail a check."""
        return self.code.startswith("W")

    def __str__(self) -> str:
        # The message may quote the input (a key, a ticket id): never raw control characters.
        where = printable(self.source)
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.code} {printable(self.message)}"


class SlaEngineError(Exception):
    """Base of every error slaengine raises on purpose."""


class UserError(SlaEngineError):
    """A mistake in what the user gave us; the message says what and where."""


class PolicyError(UserError):
    """Policy files that do not load; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class EventError(UserError):
    """One event that cannot be used; the reader reports it with its line."""

    def __init__(self, message: str, line: int = 0, source: str = "") -> None:
        self.reason = message
        self.line = line
        self.source = source
        super().__init__(message)

    def to_problem(self) -> Problem:
        """The error as a located :class:`Problem`."""
        return Problem(self.source, self.line, 0, "E400", self.reason)


__all__ = ["EventError", "PolicyError", "Problem", "SlaEngineError", "UserError"]
