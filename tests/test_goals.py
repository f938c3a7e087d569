"""Attainment goals: ``goal: 95%`` checked, and reported per period and per group by the audit."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import slaengine
from audit_support import AGREEMENT_POLICIES
from slaengine.audit.accumulator import GOAL_VIEWS, GroupStats, MetricStats
from slaengine.audit.goals import agreement_goals, attainment, policy_goals
from slaengine.audit.run import AuditOptions, empty_audit
from slaengine.cli import main

POLICIES = """\
version: 1
policies:
  - name: vip
    match: {tags: [vip]}
    goal: 99.5%
    metrics:
      first_response: {targets: 1h, goal: 90%}
      resolution: {targets: 8h}
  - name: standard
    metrics:
      first_response: {targets: 1h}
"""


def test_goals_load_in_hundredths_and_the_policy_goal_is_the_metrics_default():
    policies = slaengine.loads_policies(POLICIES)
    vip = policies.by_name("vip")
    assert vip.goal == 9950
    assert [(m.kind, m.goal) for m in vip.metrics] == [
        ("first_response", 9000),
        ("resolution", 9950),
    ]
    assert [m.goal for m in policies.by_name("standard").metrics] == [None]
    assert policy_goals(policies) == {"vip": {"first_response": 9000, "resolution": 9950}}


def problems(text: str) -> list[str]:
    with pytest.raises(slaengine.PolicyError) as caught:
        slaengine.loads_policies(text, "p.yaml")
    return [f"{p.line}:{p.column}: {p.code} {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(
    ("goal", "message"),
    [
        ("101%", "a goal cannot be over 100%; got '101%'"),
        ("100.5%", "a goal cannot be over 100%; got '100.5%'"),
        ("95", "a goal is the share of clocks to meet, like 95% or 99.5%"),
        ("0.95", "a goal is the share of clocks to meet"),
        ("0%", "a goal is the share of clocks to meet"),
        ("99.555%", "a goal is the share of clocks to meet"),
        ("[95%]", "a goal is the share of clocks to meet"),
        ("ninety%", "a goal is the share of clocks to meet"),
    ],
)
def test_bad_goals_are_reported_with_line_and_column(goal, message):
    text = POLICIES.replace("goal: 90%", f"goal: {goal}")
    found = problems(text)
    assert any(p.startswith(f"7:43: E220 {message}") for p in found), found
    text = POLICIES.replace("goal: 99.5%", f"goal: {goal}")
    assert any(p.startswith(f"5:11: E220 {message}") for p in problems(text))


@pytest.mark.parametrize("goal", ["100%", "0.01%", "99.99%", " 95 %"])
def test_goals_at_the_edges_load(goal):
    slaengine.loads_policies(POLICIES.replace("goal: 90%", f"goal: '{goal}'"))


def _group(achieved: int, breached: int) -> GroupStats:
    group = GroupStats()
    group.metrics["first_response"] = MetricStats(achieved=achieved, breached=breached)
    return group


@pytest.mark.parametrize(
    ("achieved", "breached", "goal", "met"),
    [(19, 1, 9500, True), (18, 2, 9500, False), (199, 1, 9950, True), (1, 0, 10000, True),
     (99, 1, 10000, False), (0, 0, 9500, None)],
)  # fmt: skip
def test_a_goal_is_met_when_the_share_reaches_it_exactly(achieved, breached, goal, met):
    found = attainment(_group(achieved, breached), "first_response", goal)
    assert found["met"] is met
    assert found["achieved"] == achieved


def test_goal_views_are_kept_only_when_asked():
    assert not set(GOAL_VIEWS) & set(empty_audit(AuditOptions(now=0)).views)
    assert set(GOAL_VIEWS) <= set(empty_audit(AuditOptions(now=0, goals=True)).views)


def _line(ticket: str, at: str, kind: str, **more: object) -> str:
    return json.dumps({"ticket": ticket, "at": at, "type": kind, **more})


def _events(path: Path) -> Path:
    """Week 2025-W49: three vip tickets answered in time. Week 2025-W50: one in time, one late
    (group tier2), and a standard ticket late (no goal). 2025-W51: a vip ticket not answered
    yet (decides nothing)."""
    lines = []
    tickets = [
        ("a", "2025-12-01T09:00:00Z", "tier1", "2025-12-01T09:30:00Z"),
        ("b", "2025-12-02T09:00:00Z", "tier1", "2025-12-02T09:10:00Z"),
        ("c", "2025-12-03T09:00:00Z", "tier2", "2025-12-03T09:50:00Z"),
        ("d", "2025-12-08T09:00:00Z", "tier1", "2025-12-08T09:20:00Z"),
        ("e", "2025-12-09T09:00:00Z", "tier2", "2025-12-09T12:00:00Z"),
        ("f", "2025-12-15T09:00:00Z", "tier1", None),
    ]
    for ticket, created, group, reply in tickets:
        lines.append(
            _line(ticket, created, "created", channel="email", priority="normal",
                  group=group, tags=["vip"])
        )  # fmt: skip
        if reply:
            lines.append(_line(ticket, reply, "message", author="agent", agent="jo"))
    lines.append(_line("s", "2025-12-08T09:00:00Z", "created", channel="email", priority="low"))
    lines.append(_line("s", "2025-12-08T15:00:00Z", "message", author="agent", agent="jo"))
    path.write_text("\n".join(lines) + "\n")
    return path


AT = "2025-12-15T09:30:00Z"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICIES)
    return policy, _events(tmp_path / "events.jsonl")


def test_audit_json_has_attainment_per_period_and_group(files, capsys):
    policy, events = files
    assert main(["audit", "-p", str(policy), "-e", str(events), "--at", AT, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    first, resolution = doc["goals"]
    assert first["policy"] == "vip"
    assert first["metric"] == "first_response"
    assert first["goal"] == 0.9
    assert (first["achieved"], first["breached"], first["met"]) == (4, 1, False)
    assert first["attainment"] == 0.8
    assert first["by_period"] == [
        {"period": "2025-W49", "achieved": 3, "breached": 0, "attainment": 1.0, "met": True},
        {"period": "2025-W50", "achieved": 1, "breached": 1, "attainment": 0.5, "met": False},
        {"period": "2025-W51", "achieved": 0, "breached": 0, "attainment": None, "met": None},
    ]
    assert first["by_group"] == [
        {"group": "tier1", "achieved": 3, "breached": 0, "attainment": 1.0, "met": True},
        {"group": "tier2", "achieved": 1, "breached": 1, "attainment": 0.5, "met": False},
    ]
    assert first["missed_periods"] == ["2025-W50"]
    # The resolution goal comes from the policy; no ticket is solved: those older than 8h
    # breached, the one of 2025-W51 still runs and decides nothing.
    assert resolution["metric"] == "resolution"
    assert resolution["goal"] == 0.995
    assert (resolution["achieved"], resolution["breached"], resolution["met"]) == (0, 5, False)
    assert resolution["missed_periods"] == ["2025-W49", "2025-W50"]


def test_audit_terminal_csv_and_html_show_the_goals(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    policy, events = files
    goals_csv, html = tmp_path / "goals.csv", tmp_path / "report.html"
    argv = ["audit", "-p", str(policy), "-e", str(events), "--at", AT]
    assert main([*argv, "--goals", str(goals_csv), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "Attainment goals" in out
    assert "80.0% (4 of 5)" in out
    assert "MISSED" in out
    assert "Weeks missed" in out
    assert "1 of 2: 2025-W50" in out
    assert "Attainment goals by week" in out
    assert "Attainment goals by group" in out
    rows = list(csv.reader(io.StringIO(goals_csv.read_text())))
    assert rows[0] == [
        "policy", "metric", "goal", "scope", "key", "achieved", "breached", "attainment", "met",
    ]  # fmt: skip
    assert rows[1] == ["vip", "first_response", "0.9", "overall", "", "4", "1", "0.8", "false"]
    assert ["vip", "first_response", "0.9", "period", "2025-W50", "1", "1", "0.5", "false"] in rows
    assert ["vip", "first_response", "0.9", "period", "2025-W51", "0", "0", "", ""] in rows
    assert ["vip", "first_response", "0.9", "group", "tier1", "3", "0", "1.0", "true"] in rows
    page = html.read_text()
    assert '<section id="goals"><h2>Attainment goals</h2>' in page
    assert '<strong class="missed">MISSED</strong>' in page
    assert "1 of 2: 2025-W50" in page
    assert "vip: first response, goal 90%, by week" in page.lower()


def test_audit_without_goals_has_an_empty_goals_list_and_no_section(files, tmp_path, capsys):
    policy, events = files
    policy.write_text(POLICIES.replace("    goal: 99.5%\n", "").replace(", goal: 90%", ""))
    html = tmp_path / "report.html"
    argv = ["audit", "-p", str(policy), "-e", str(events), "--at", AT, "--json"]
    assert main([*argv, "--html", str(html)]) == 0
    assert json.loads(capsys.readouterr().out)["goals"] == []
    assert 'id="goals"' not in html.read_text()
    # A goals file with its header alone says why, so it is not taken for a failure.
    goals_csv = tmp_path / "goals.csv"
    assert main([*argv, "--goals", str(goals_csv)]) == 0
    assert goals_csv.read_text().splitlines() == [
        "policy,metric,goal,scope,key,achieved,breached,attainment,met"
    ]
    assert capsys.readouterr().err == (
        f"slaengine: {goals_csv} has no rows: no policy or agreement sets a goal "
        "('goal: 95%', docs/policies.md#attainment-goals-goal)\n"
    )


def test_an_unwritable_goals_file_is_a_usage_error(files, tmp_path, capsys):
    policy, events = files
    target = tmp_path / "missing" / "goals.csv"
    argv = ["audit", "-p", str(policy), "-e", str(events), "--at", AT, "--goals", str(target)]
    assert main(argv) == 2
    assert "--goals: cannot write" in capsys.readouterr().err


def test_agreement_goals_load_and_bad_ones_are_e220_at_their_place():
    policies = slaengine.loads_policies(AGREEMENT_POLICIES)
    assert agreement_goals(policies) == {"tier2-ola": {"first_response": 8000}}
    assert policy_goals(policies) == {"std": {"first_response": 9000}}
    found = problems(AGREEMENT_POLICIES.replace("goal: 80%", "goal: 101%"))
    assert found == ["9:11: E220 a goal cannot be over 100%; got '101%'"]
    text = AGREEMENT_POLICIES.replace("{targets: 30m}", "{targets: 30m, goal: 100.5%}")
    found = problems(text)
    assert found == ["12:44: E220 a goal cannot be over 100%; got '100.5%'"]


def _agreement_events(path: Path) -> Path:
    """2025-W49: a (tier1) answered in 20m; b (tier2) in 20m; c (tier2) in 45m (late for the
    OLA's 30m only). 2025-W50: d and f (tier2) in 10m and 5m; e (tier1) in 2h (late)."""
    tickets = [
        ("a", "2025-12-01T09:00:00Z", "tier1", "2025-12-01T09:20:00Z"),
        ("b", "2025-12-02T09:00:00Z", "tier2", "2025-12-02T09:20:00Z"),
        ("c", "2025-12-03T09:00:00Z", "tier2", "2025-12-03T09:45:00Z"),
        ("d", "2025-12-08T09:00:00Z", "tier2", "2025-12-08T09:10:00Z"),
        ("e", "2025-12-09T09:00:00Z", "tier1", "2025-12-09T11:00:00Z"),
        ("f", "2025-12-10T09:00:00Z", "tier2", "2025-12-10T09:05:00Z"),
    ]
    lines = []
    for ticket, created, group, reply in tickets:
        lines.append(
            _line(ticket, created, "created", channel="email", priority="normal", group=group)
        )
        lines.append(_line(ticket, reply, "message", author="agent", agent="jo"))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_audit_reports_a_policy_goal_and_an_agreement_goal(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    policy = tmp_path / "p.yaml"
    policy.write_text(AGREEMENT_POLICIES)
    events = _agreement_events(tmp_path / "events.jsonl")
    argv = ["audit", "-p", str(policy), "-e", str(events), "--at", AT]
    assert main([*argv, "--json"]) == 0
    std, ola = json.loads(capsys.readouterr().out)["goals"]
    assert "agreement" not in std
    assert (std["policy"], std["metric"], std["goal"]) == ("std", "first_response", 0.9)
    assert (std["achieved"], std["breached"], std["met"]) == (5, 1, False)
    assert std["attainment"] == 5 / 6
    assert ola["policy"] == ola["agreement"] == "tier2-ola"
    assert (ola["metric"], ola["goal"]) == ("tier2-ola/first_response", 0.8)
    assert (ola["achieved"], ola["breached"], ola["met"]) == (3, 1, False)
    assert ola["attainment"] == 0.75
    assert ola["by_period"] == [
        {"period": "2025-W49", "achieved": 1, "breached": 1, "attainment": 0.5, "met": False},
        {"period": "2025-W50", "achieved": 2, "breached": 0, "attainment": 1.0, "met": True},
    ]
    assert ola["by_group"] == [
        {"group": "tier2", "achieved": 3, "breached": 1, "attainment": 0.75, "met": False},
    ]
    assert ola["missed_periods"] == ["2025-W49"]
    goals_csv, html = tmp_path / "goals.csv", tmp_path / "report.html"
    assert main([*argv, "--goals", str(goals_csv), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "tier2-ola" in out
    assert "75.0% (3 of 4)" in out
    rows = list(csv.reader(io.StringIO(goals_csv.read_text())))
    assert rows[1] == ["std", "first_response", "0.9", "overall", "", "5", "1", str(5 / 6), "false"]
    assert [
        "tier2-ola", "tier2-ola/first_response", "0.8", "overall", "", "3", "1", "0.75", "false",
    ] in rows  # fmt: skip
    assert [
        "tier2-ola", "tier2-ola/first_response", "0.8", "period", "2025-W49", "1", "1", "0.5",
        "false",
    ] in rows  # fmt: skip
    assert "tier2-ola: " in html.read_text()


@pytest.mark.parametrize("width", [80, 120])
def test_the_goals_tables_fit_the_terminal_without_cutting_a_cell(
    width, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", str(width))
    policy = tmp_path / "p.yaml"
    policy.write_text(AGREEMENT_POLICIES)
    events = _agreement_events(tmp_path / "events.jsonl")
    assert main(["audit", "-p", str(policy), "-e", str(events), "--at", AT]) == 0
    out = capsys.readouterr().out
    start = out.index("Attainment goals")
    tables = out[start : out.index("\n\n", out.index("Attainment goals by group"))]
    lines = tables.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    assert "…" not in tables
    assert "tier2-ola: First response" in tables
    assert "75.0% (3 of 4)" in tables
    # The weeks missed are whole where shown (at 80 columns they are read in the table by
    # week), never cut at the terminal's edge.
    missed = [line.rstrip() for line in lines if " of 2: " in line]
    assert all(line.endswith(("2025-W49", "2025-W50")) for line in missed), missed
    assert len(missed) == (2 if width == 120 else 0)
