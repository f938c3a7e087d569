"""Policy tests expect an ownership clock's ``group`` and a clock's ``misses``, as evaluate,
explain and audit report them."""

from __future__ import annotations

import json
from pathlib import Path

from slaengine.cli import main

POLICY = """\
version: 1
metrics:
  ownership: {per: group}
policies:
  - name: chat
    metrics:
      next_response: {targets: 30m, misses: per_customer_message}
      first_response: {targets: 1h}
agreements:
  - name: owners
    metrics:
      ownership: {targets: 2h}
"""
# First reply 09:05; customer 09:10 and 09:20; due 09:40; customer 09:50; reply 10:00
# (docs/policies.md, counting misses). tier1 holds the ticket until 09:30, then tier2.
TIMELINE = """\
  timeline:
    - {at: 2025-12-01T09:00:00Z, type: created, channel: chat, priority: high, group: tier1}
    - {at: +5m, type: message, author: agent}
    - {at: +10m, type: message, author: customer}
    - {at: +20m, type: message, author: customer}
    - {at: +30m, type: update, group: tier2}
    - {at: +50m, type: message, author: customer}
    - {at: +1h, type: message, author: agent}
  at: +2h
"""


def run(tmp_path: Path, capsys, tests: str) -> tuple[int, str]:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    folder = tmp_path / "tests"
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(tests, encoding="utf-8")
    code = main(["test", "--policies", str(tmp_path / "policy.yaml"), str(folder)])
    out, err = capsys.readouterr()
    return code, (out + err).replace(str(folder) + "/", "")


def test_group_and_misses_are_expected(tmp_path, capsys):
    tests = (
        "- name: misses and owners\n"
        + TIMELINE
        + """\
  expect:
    - {metric: next_response, state: breached, misses: 2}
    - {metric: first_response, state: achieved, misses: 0}
    - {metric: owners/ownership, instance: 1, group: tier1, state: achieved, stop: +30m}
    - {metric: owners/ownership, instance: 2, group: tier2, state: active}
"""
    )
    code, out = run(tmp_path, capsys, tests)
    assert code == 0, out


def test_a_wrong_group_or_misses_fails_with_the_actual_values(tmp_path, capsys):
    tests = (
        "- name: wrong\n"
        + TIMELINE
        + """\
  expect:
    - {metric: next_response, misses: 1}
    - {metric: owners/ownership, instance: 2, group: tier1}
"""
    )
    code, out = run(tmp_path, capsys, tests)
    assert code == 1
    assert "t.yaml:12:" in out.splitlines()[2]  # the expectation's line heads its failures
    text = " ".join(out.split())  # the report wraps at 80 columns
    assert "test 'wrong' metric next_response #1: misses expected 1, got 2" in text
    assert "misses 2" in text
    assert "metric owners/ownership #2: group expected 'tier1', got 'tier2'" in text
    assert "group tier2" in text


def test_bad_group_and_misses_values_are_located(tmp_path, capsys):
    tests = (
        "- name: broken\n"
        + TIMELINE
        + """\
  expect:
    - {metric: next_response, misses: -1}
    - {metric: owners/ownership, group: [tier1]}
"""
    )
    code, out = run(tmp_path, capsys, tests)
    assert code == 2
    assert "t.yaml:12:39: E103 'misses' must be 0 or more, got -1" in out
    assert "t.yaml:13:41: E103 'group' must be a group name, got a list" in out


def test_json_report_carries_the_failure(tmp_path, capsys):
    tests = "- name: wrong\n" + TIMELINE + "  expect:\n    - {metric: next_response, misses: 0}\n"
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    folder = tmp_path / "tests"
    folder.mkdir()
    (folder / "t.yaml").write_text(tests, encoding="utf-8")
    args = ["test", "--policies", str(tmp_path / "policy.yaml"), str(folder), "--format", "json"]
    assert main(args) == 1
    [case] = json.loads(capsys.readouterr().out)["tests"]
    [failure] = case["failures"]
    assert failure["message"] == "metric next_response #1: misses expected 0, got 2"
