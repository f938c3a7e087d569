"""Policy-test results as text for people (pytest-like) or one JSON document for tools."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Sequence

from slaengine.errors import Problem
from slaengine.policytest.run import SuiteResult
from slaengine.report.json import clock_to_dict


def summary_line(suite: SuiteResult) -> str:
    """``N passed, M failed``: the last line of the text report."""
    return f"{suite.passed} passed, {suite.failed} failed"


# Failure reports stay readable in an 80-column terminal: the located header stays on its own
# line (editors jump to ``file:line``), what went wrong is indented under it.
WIDTH = 80
MESSAGE_INDENT = "    "
CONTINUATION_INDENT = "      "


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    # Instants carry hyphens and bracketed offsets: never split inside one.
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def text_lines(suite: SuiteResult, strict_coverage: bool = False) -> Iterator[str]:
    """Progress per file (``.`` passed, ``F`` failed), each failure located, then the summary.

    Failures are grouped under ``file:line: test 'name'``, one header per expectation; each says
    what was expected and got, then the actual clock, indented and wrapped at 80 columns.
    """
    marks: dict[str, str] = {}
    for outcome in suite.outcomes:
        source = outcome.case.source
        marks[source] = marks.get(source, "") + ("." if outcome.passed else "F")
    for source, line in marks.items():
        yield f"{source} {line}"
    failed = [o for o in suite.outcomes if not o.passed]
    if failed:
        yield ""
    for outcome in failed:
        case = outcome.case
        header_line = None
        for failure in outcome.failures:
            # The failures of one expectation share its line and one header.
            if failure.line != header_line:
                header = f"{case.source}:{failure.line}: test '{case.name}'"
                yield from _wrapped(header, "", MESSAGE_INDENT)
                header_line = failure.line
            yield from _wrapped(failure.message, MESSAGE_INDENT, CONTINUATION_INDENT)
            if failure.detail:
                yield from _wrapped(failure.detail, MESSAGE_INDENT, CONTINUATION_INDENT)
    if suite.untested:
        level = "error" if strict_coverage else "warning"
        untested = f"{level}: untested policies: {', '.join(suite.untested)}"
        yield from _wrapped(untested, "", MESSAGE_INDENT)
    yield summary_line(suite)


def problem_dict(problem: Problem) -> dict[str, object]:
    """A located problem as a JSON-ready dict."""
    return {
        "file": problem.source,
        "line": problem.line or None,
        "column": problem.column or None,
        "code": problem.code,
        "message": problem.message,
        "text": str(problem),
    }


def json_report(
    suite: SuiteResult | None, problems: Sequence[Problem] = (), strict_coverage: bool = False
) -> str:
    """One JSON document: counts, every case with its failures and clocks, problems."""
    tests = []
    if suite is not None:
        for outcome in suite.outcomes:
            case = outcome.case
            tests.append(
                {
                    "file": case.source,
                    "line": case.line,
                    "name": case.name,
                    "outcome": "passed" if outcome.passed else "failed",
                    "policy": outcome.policy,
                    "failures": [
                        {"line": f.line, "message": f.message, "detail": f.detail}
                        for f in outcome.failures
                    ],
                    "clocks": [clock_to_dict(clock) for clock in outcome.result.clocks],
                }
            )
    document = {
        "passed": suite.passed if suite else 0,
        "failed": suite.failed if suite else 0,
        "untested_policies": suite.untested if suite else [],
        "strict_coverage": strict_coverage,
        "problems": [problem_dict(p) for p in problems],
        "tests": tests,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


__all__ = ["json_report", "problem_dict", "summary_line", "text_lines"]
