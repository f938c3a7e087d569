"""Policy-test results as text for people (pytest-like) or one JSON document for tools."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from slaengine.errors import Problem
from slaengine.policytest.run import SuiteResult
from slaengine.report.json import clock_to_dict


def summary_line(suite: SuiteResult) -> str:
    """``N passed, M failed``: the last line of the text report."""
    return f"{suite.passed} passed, {suite.failed} failed"


def text_lines(suite: SuiteResult, strict_coverage: bool = False) -> Iterator[str]:
    """Progress per file (``.`` passed, ``F`` failed), each failure located, then the summary."""
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
        for failure in outcome.failures:
            yield f"{case.source}:{failure.line}: test '{case.name}': {failure.message}"
            if failure.detail:
                yield f"    {failure.detail}"
    if suite.untested:
        level = "error" if strict_coverage else "warning"
        yield f"{level}: untested policies: {', '.join(suite.untested)}"
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
