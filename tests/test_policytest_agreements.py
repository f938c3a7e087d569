"""Policy tests that expect an agreement's clocks: ``metric: tier2-ola/first_response`` or
``agreement: tier2-ola``, with located problems for an unknown agreement or metric."""

from __future__ import annotations

import json
from pathlib import Path

from slaengine.cli import main

POLICY = """\
version: 1
policies:
  - name: customer-sla
    metrics:
      first_response: {targets: 4h}
agreements:
  - name: tier2-ola
    match: {group: tier2}
    on_unmatch: detach
    metrics:
      first_response: {targets: 1h}
      resolution: {targets: 8h}
"""
TIMELINE = """\
  timeline:
    - {at: 2026-03-02T09:00:00Z, type: created, channel: email, priority: high, group: tier2}
    - {at: 2026-03-02T09:30:00Z, type: message, author: agent}
    - {at: 2026-03-02T10:00:00Z, type: update, group: tier1}
    - {at: 2026-03-02T11:00:00Z, type: update, group: tier2}
  at: 2026-03-02T13:00:00Z
"""


def run(tmp_path: Path, capsys, tests: str, *extra: str) -> tuple[int, str]:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    folder = tmp_path / "tests"
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(tests, encoding="utf-8")
    code = main(["test", "--policies", str(tmp_path / "policy.yaml"), str(folder), *extra])
    out, err = capsys.readouterr()
    return code, (out + err).replace(str(folder) + "/", "")


def test_an_agreements_clocks_can_be_expected_both_ways(tmp_path, capsys):
    tests = (
        "- name: the OLA detached and attached again\n"
        + TIMELINE
        + """\
  expect:
    - {metric: first_response, state: achieved}
    - {metric: tier2-ola/first_response, state: achieved, stop: +30m}
    - {metric: tier2-ola/resolution, state: cancelled, stop_reason: detached, stop: +1h}
    - {agreement: tier2-ola, metric: first_response, instance: 2, state: breached, start: +2h}
    - {agreement: tier2-ola, metric: resolution, instance: 2, state: active}
"""
    )
    code, out = run(tmp_path, capsys, tests)
    assert code == 0, out


def test_a_failing_expectation_names_the_agreements_clock(tmp_path, capsys):
    tests = (
        "- name: wrong\n"
        + TIMELINE
        + """\
  expect:
    - {agreement: tier2-ola, metric: first_response, instance: 2, state: achieved}
"""
    )
    code, out = run(tmp_path, capsys, tests, "--format", "json")
    assert code == 1
    [case] = json.loads(out)["tests"]
    [failure] = case["failures"]
    assert failure["line"] == 9
    assert failure["message"] == (
        "metric tier2-ola/first_response #2: state expected 'achieved', got 'breached'"
    )
    assert failure["detail"].startswith("actual tier2-ola/first_response #2: state breached")


def test_a_missing_agreement_clock_says_why(tmp_path, capsys):
    tests = """\
- name: never in tier2
  timeline:
    - {at: 2026-03-02T09:00:00Z, type: created, channel: email, priority: low, group: tier1}
  at: 2026-03-02T10:00:00Z
  expect:
    - {metric: tier2-ola/resolution, state: active}
  absent: [tier2-ola/first_response]
"""
    code, out = run(tmp_path, capsys, tests, "--format", "json")
    assert code == 1
    [failure] = json.loads(out)["tests"][0]["failures"]
    assert failure["message"] == (
        "metric tier2-ola/resolution #1: expected a clock, got none "
        "(agreement 'tier2-ola' did not attach)"
    )


def test_an_unknown_agreement_or_metric_is_located_with_a_suggestion(tmp_path, capsys):
    tests = (
        "- name: broken\n"
        + TIMELINE
        + """\
  expect:
    - {metric: tier2-olaa/first_response, state: achieved}
    - {agreement: tier-2-ola, metric: first_response, state: achieved}
    - {agreement: tier2-ola, metric: first_responce, state: achieved}
    - {metric: tier2-ola/next_response, state: achieved}
  absent: [tier2-ola/resolutoin]
"""
    )
    code, out = run(tmp_path, capsys, tests)
    assert code == 2
    assert out.splitlines() == [
        "t.yaml:9:16: E301 unknown agreement 'tier2-olaa'; expected one of tier2-ola; "
        "did you mean 'tier2-ola'?",
        "t.yaml:10:19: E301 unknown agreement 'tier-2-ola'; expected one of tier2-ola; "
        "did you mean 'tier2-ola'?",
        "t.yaml:11:38: E101 unknown metric 'first_responce' of agreement 'tier2-ola' in test "
        "'broken'; expected one of first_response, resolution; did you mean 'first_response'?",
        "t.yaml:12:16: E101 unknown metric 'next_response' of agreement 'tier2-ola' in test "
        "'broken'; expected one of first_response, resolution; did you mean 'first_response'?",
        "t.yaml:13:12: E101 unknown metric 'resolutoin' of agreement 'tier2-ola' in 'absent' of "
        "test 'broken'; expected one of first_response, resolution; did you mean 'resolution'?",
        "5 problems in 1 file; no test was run",
    ]
