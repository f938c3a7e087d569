"""Policy unit tests: YAML test cases that evaluate policies on short timelines.

A test file holds a list of cases; each gives a timeline, an evaluation
instant and the clock states it expects. ``slaengine test`` runs them::

    from slaengine.policytest import discover, load_suite, run_suite
"""

from __future__ import annotations

from slaengine.policytest.discover import TestFile, discover
from slaengine.policytest.model import Case, Check, Expectation
from slaengine.policytest.parse import parse_test_file
from slaengine.policytest.run import CaseOutcome, Failure, SuiteResult, run_case, run_suite

__all__ = [
    "Case",
    "CaseOutcome",
    "Check",
    "Expectation",
    "Failure",
    "SuiteResult",
    "TestFile",
    "discover",
    "parse_test_file",
    "run_case",
    "run_suite",
]
