"""Located problems as JSON for tools: ``slaengine check --format json``.

Each problem has the fields of ``slaengine test --format json``'s problems
(file, line, column, code, message, text) and, read from its message, what
was expected there and the suggested fix, so an editor can offer them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

from slaengine.errors import Problem
from slaengine.policytest.report import problem_dict

# "...; expected one of a, b; did you mean 'a'?", "...: expected a duration like 2h, got '2 hours'",
# "YAML syntax: expected ',' or '}', but got ':'": up to the next clause.
_EXPECTED: Final = re.compile(r"(?:^|[;:] )expected (.+?)(?:, but got |, got |; |$)")
# "'yearly' must be true or false, got 'maybe'"
_MUST_BE: Final = re.compile(r"must be (.+?), got ")
_SUGGESTION: Final = re.compile(r"did you mean '([^']*)'\?")


def expected_of(message: str) -> str | None:
    """What the message says was expected (``one of urgent, high``; ``true or false``)."""
    found = _EXPECTED.search(message) or _MUST_BE.search(message)
    return found.group(1) if found is not None else None


def suggestion_of(message: str) -> str | None:
    """The replacement the message suggests (``did you mean 'high'?``), or ``None``."""
    found = _SUGGESTION.search(message)
    return found.group(1) if found is not None else None


def problem_record(problem: Problem) -> dict[str, Any]:
    """A problem as a JSON-ready dict: where, code, severity, message, expected, suggestion."""
    return {
        **problem_dict(problem),
        "severity": "warning" if problem.is_warning else "error",
        "expected": expected_of(problem.message),
        "suggestion": suggestion_of(problem.message),
    }


def problems_document(problems: Sequence[Problem], ok: bool) -> str:
    """One JSON document: ``ok``, the counts of errors and warnings, every problem."""
    warnings = sum(1 for problem in problems if problem.is_warning)
    document = {
        "ok": ok,
        "errors": len(problems) - warnings,
        "warnings": warnings,
        "problems": [problem_record(problem) for problem in problems],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


__all__ = ["expected_of", "problem_record", "problems_document", "suggestion_of"]
