"""One located-problem collector and one "did you mean" wording for every kind of input."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from slaengine.errors import Problem
from slaengine.problems import ProblemCollector, did_you_mean


@dataclass
class _Node:
    line: int
    column: int


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        pytest.param("pendng", ["new", "pending"], "; did you mean 'pending'?", id="close"),
        pytest.param("zzz", ["new", "pending"], "", id="nothing-close"),
        pytest.param("x", [], "", id="no-choices"),
    ],
)
def test_did_you_mean(word, choices, expected):
    assert did_you_mean(word, choices) == expected


def test_collector_reports_located_problems_and_unknown_keys():
    collector = ProblemCollector("p.yaml")
    collector.report(_Node(3, 5), "E103", "bad")
    entries = {"name": (_Node(4, 1), None), "calender": (_Node(5, 1), None)}
    assert collector.unknown_keys(entries, ("name", "calendar"), "policy 'x'") == 1
    assert collector.problems == [
        Problem("p.yaml", 3, 5, "E103", "bad"),
        Problem(
            "p.yaml",
            5,
            1,
            "E101",
            "unknown key 'calender' in policy 'x'; expected one of name, calendar; "
            "did you mean 'calendar'?",
        ),
    ]
