"""A metric definition's ``label:``: validated where it is written, shown by every reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

import slaengine
from slaengine.cli import main
from slaengine.engine import evaluate_timeline
from slaengine.errors import PolicyError
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.notifications import BREACH, reached
from slaengine.policy.definition import LABEL_MAX
from slaengine.policy.schema import policy_schema

POLICY = """\
version: 1
metrics:
  time_to_own:
    label: Ownership (Tier 1)
    start: created
    stop: assigned
  handled:
    start: created
    stop: solved
policies:
  - name: support
    calendar: 24x7
    metrics:
      time_to_own: {targets: 1h}
      handled: {targets: 2h}
"""
NOW = "2025-12-01T12:00:00Z"
CREATED = {"type": "created", "channel": "email", "priority": "normal"}
EVENTS = [
    {"ticket": "T-1", "at": "2025-12-01T09:00:00Z", **CREATED},
    {"ticket": "T-1", "at": "2025-12-01T09:20:00Z", "type": "update", "assignee": "lea"},
    {"ticket": "T-2", "at": "2025-12-01T09:00:00Z", **CREATED},
]


def _with_label(value: str) -> str:
    return POLICY.replace("label: Ownership (Tier 1)", f"label: {value}")


def test_the_label_is_read_into_the_definition() -> None:
    policies = slaengine.loads_policies(POLICY, "p.yaml")
    own, handled = policies.policies[0].metrics
    assert own.definition.label == "Ownership (Tier 1)"
    assert handled.definition.label == ""  # none given: readers use the name
    spaced = slaengine.loads_policies(_with_label("'  Ownership  '"), "p.yaml")
    assert spaced.policies[0].metrics[0].definition.label == "Ownership"
    number = slaengine.loads_policies(_with_label("42"), "p.yaml")
    assert number.policies[0].metrics[0].definition.label == "42"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("''", "4:12: E102 'label' of metric 'time_to_own' is empty; give the words people read"),
        ("'   '", "4:12: E102 'label' of metric 'time_to_own' is empty"),
        ("~", "4:12: E103 'label' of metric 'time_to_own' must be text, got nothing (null)"),
        ("[a, b]", "4:12: E103 'label' of metric 'time_to_own' must be text, got a list"),
        ("true", "4:12: E103 'label' of metric 'time_to_own' must be text"),
        ('"two\\nlines"', "4:12: E103 'label' of metric 'time_to_own' must be one line of text"),
        (
            "x" * (LABEL_MAX + 1),
            f"4:12: E103 'label' of metric 'time_to_own' is {LABEL_MAX + 1} characters long; "
            f"give at most {LABEL_MAX}",
        ),
    ],
    ids=["empty", "blank", "null", "list", "boolean", "two-lines", "too-long"],
)
def test_a_bad_label_is_reported_at_its_line_and_column(value: str, expected: str) -> None:
    with pytest.raises(PolicyError) as raised:
        slaengine.loads_policies(_with_label(value), "p.yaml")
    [problem] = raised.value.problems
    assert f"{problem.line}:{problem.column}: {problem.code} {problem.message}".startswith(expected)


def test_the_longest_label_is_accepted() -> None:
    policies = slaengine.loads_policies(_with_label("x" * LABEL_MAX), "p.yaml")
    assert policies.policies[0].metrics[0].definition.label == "x" * LABEL_MAX


def test_the_schema_knows_the_label() -> None:
    validator = Draft202012Validator(policy_schema())

    def errors(text: str) -> list[str]:
        return [e.message for e in validator.iter_errors(YAML(typ="safe").load(text))]

    assert errors(POLICY) == []
    assert errors(_with_label("''")) != []
    assert errors(_with_label("x" * (LABEL_MAX + 1))) != []
    assert errors(POLICY.replace("label:", "labl:")) != []


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    policy = tmp_path / "policies" / "support.yaml"
    policy.parent.mkdir()
    policy.write_text(POLICY, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    return {"policies": policy.parent, "events": events}


def _audit(files: dict[str, Path], capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    args = ["audit", "--policies", str(files["policies"]), "--events", str(files["events"])]
    args += ["--at", NOW]
    assert main([*args, *extra]) == 0
    return capsys.readouterr().out


def test_the_audit_shows_the_label(files, capsys) -> None:
    doc = json.loads(_audit(files, capsys, "--json"))
    assert doc["metric_labels"] == {"handled": "Handled", "time_to_own": "Ownership (Tier 1)"}
    table = _audit(files, capsys)
    assert "Ownership (Tier 1) achieved" in table
    assert "Time to own" not in table
    assert "Handled achieved" in table


def test_a_notification_carries_the_label() -> None:
    policies = slaengine.loads_policies(POLICY, "p.yaml")
    parsed = [parse_event(e, seq=i, line=i + 1) for i, e in enumerate(EVENTS)]
    timeline = slaengine.build_timelines(parsed).timelines["T-2"]
    now = parse_instant(NOW)
    result = evaluate_timeline(policies, timeline, now)
    assert result is not None
    breaches = {n.metric: n for n in reached(result, now) if n.kind == BREACH}
    assert breaches["time_to_own"].metric_label == "Ownership (Tier 1)"
    assert breaches["time_to_own"].to_dict()["metric_label"] == "Ownership (Tier 1)"
    assert breaches["time_to_own"].metric_text == "Ownership (Tier 1) (time_to_own)"
    assert "metric_label" not in breaches["handled"].to_dict()  # no label given


AGREEMENT_POLICY = """\
version: 1
metrics:
  ownership:
    label: Tier 2 holding time
    per: group
  handled:
    start: created
    stop: solved
policies:
  - name: support
    calendar: 24x7
    metrics:
      first_response: {targets: 1h}
agreements:
  - name: tier2-ola
    metrics:
      ownership: {targets: 2h}
      handled: {targets: 3h}
"""
AGREEMENT_EVENTS = [
    {"ticket": "T-1", "at": "2025-12-01T09:00:00Z", **CREATED, "group": "tier2"},
]


def test_labels_are_collected_from_agreements_metrics() -> None:
    from slaengine.metric_names import labels_of

    policies = slaengine.loads_policies(AGREEMENT_POLICY, "p.yaml")
    assert labels_of(policies) == {
        "tier2-ola/ownership": "tier2-ola: Tier 2 holding time",
        "ownership": "Tier 2 holding time",
    }


def test_the_audit_shows_an_agreements_label(tmp_path: Path, capsys) -> None:
    policy = tmp_path / "policies" / "support.yaml"
    policy.parent.mkdir()
    policy.write_text(AGREEMENT_POLICY, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in AGREEMENT_EVENTS), encoding="utf-8")
    files = {"policies": policy.parent, "events": events}
    doc = json.loads(_audit(files, capsys, "--json"))
    assert doc["metric_labels"] == {
        "first_response": "First response",
        "tier2-ola/handled": "tier2-ola: Handled",
        "tier2-ola/ownership": "tier2-ola: Tier 2 holding time",
    }
    table = " ".join(_audit(files, capsys).split())
    assert "tier2-ola: Tier 2 holding time achieved" in table
    assert "tier2-ola: Ownership" not in table
    page = tmp_path / "audit.html"
    _audit(files, capsys, "--by", "agreement", "--html", str(page))
    html = page.read_text(encoding="utf-8")
    assert "<td>tier2-ola: Tier 2 holding time</td>" in html
    assert "tier2-ola: tier2-ola" not in html


def test_an_ownership_clocks_label_is_checked_like_any_other() -> None:
    bad = AGREEMENT_POLICY.replace("label: Tier 2 holding time", "label: '  '")
    with pytest.raises(PolicyError) as caught:
        slaengine.loads_policies(bad, "p.yaml")
    assert "p.yaml:4:12: E102 'label' of " in str(caught.value)
