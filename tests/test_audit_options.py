"""``audit_file`` from Python: the goal and agreement views follow the policies, as in the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import slaengine
from audit_support import AGREEMENT_POLICIES
from slaengine.audit import AuditOptions, audit_file
from slaengine.audit.goals import agreement_goals, policy_goals
from slaengine.audit.views import GOAL_VIEWS
from slaengine.cli import main
from slaengine.event_parsing import parse_instant
from slaengine.inputs import source_name
from slaengine.metric_names import labels_of
from slaengine.report.audit import audit_to_dict

AT = "2025-12-15T09:30:00Z"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """b (tier2) answered in 20m; c (tier2) in 45m: late for the OLA only; e (tier1) in 2h."""
    tickets = [
        ("b", "2025-12-02T09:00:00Z", "tier2", "2025-12-02T09:20:00Z"),
        ("c", "2025-12-03T09:00:00Z", "tier2", "2025-12-03T09:45:00Z"),
        ("e", "2025-12-09T09:00:00Z", "tier1", "2025-12-09T11:00:00Z"),
    ]
    lines = []
    for ticket, created, group, reply in tickets:
        lines.append({"ticket": ticket, "at": created, "type": "created", "channel": "email",
                      "priority": "normal", "group": group})  # fmt: skip
        lines.append({"ticket": ticket, "at": reply, "type": "message", "author": "agent"})
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    policy = tmp_path / "p.yaml"
    policy.write_text(AGREEMENT_POLICIES, encoding="utf-8")
    return policy, events


def _python_doc(policy: Path, events: Path, options: AuditOptions) -> dict[str, object]:
    policies = slaengine.load_policies(policy)
    audit, batch = audit_file(policies, events, options)
    return audit_to_dict(
        audit,
        batch,
        source=source_name(str(events)),
        now=options.now,
        by=options.by,
        labels=labels_of(policies),
        goals=policy_goals(policies),
        agreement_goals=agreement_goals(policies),
    )


def test_a_python_caller_gets_the_cli_report_without_setting_the_views(files, capsys):
    policy, events = files
    assert main(["audit", "-p", str(policy), "-e", str(events), "--at", AT, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    doc = _python_doc(policy, events, AuditOptions(now=parse_instant(AT)))
    assert json.loads(json.dumps(doc)) == cli
    # Each breach under its own agreement, and attainment per period for both goals.
    worst = {row["policy"]: row["breached"] for row in cli["worst_offenders"]["policy"]}
    assert worst == {"std": 1, "tier2-ola": 1}
    assert [len(row["by_period"]) for row in cli["goals"]] == [2, 2]


def test_explicit_settings_are_kept(files):
    policy, events = files
    now = parse_instant(AT)
    policies = slaengine.load_policies(policy)
    audit, _ = audit_file(policies, events, AuditOptions(now=now, goals=False, agreements=False))
    assert not set(GOAL_VIEWS) & set(audit.views)
    assert ("agreement",) not in audit.views
    # Without the agreement view the OLA's breach counts under the ticket's policy.
    doc = _python_doc(policy, events, AuditOptions(now=now, agreements=False))
    worst = {row["policy"]: row["breached"] for row in doc["worst_offenders"]["policy"]}
    assert worst == {"std": 2}


def test_policies_without_goals_or_agreements_keep_only_the_standard_views(files, tmp_path):
    _, events = files
    plain = tmp_path / "plain.yaml"
    plain.write_text("version: 1\npolicies:\n  - name: std\n    metrics:\n"
                     "      first_response: {targets: 1h}\n", encoding="utf-8")  # fmt: skip
    policies = slaengine.load_policies(plain)
    audit, _ = audit_file(policies, events, AuditOptions(now=parse_instant(AT)))
    assert not set(GOAL_VIEWS) & set(audit.views)
    assert ("agreement",) not in audit.views
    forced, _ = audit_file(policies, events, AuditOptions(now=parse_instant(AT), goals=True))
    assert set(GOAL_VIEWS) <= set(forced.views)
