"""Scorecards per agent and per group: JSON, terminal table and HTML table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit_support import ev, run_audit, write_events, write_policies
from slaengine.report.html import render_html

# jo answers A in 30 min (solved in 2h, rated 4) and B after 2h (breached; solved after 3h,
# reopened, solved again at 13:00). ann is assigned D and answers it in 10 min; D stays open.
# Nobody answers or is assigned C: its clocks have no agent.
EVENTS = [
    ev("A", "09:00", "created", channel="chat", priority="normal", group="sales", customer="c1"),
    ev("A", "09:30", "message", author="agent", agent="jo"),
    ev("A", "11:00", "status", status="solved"),
    ev("A", "11:05", "csat", score=4),
    ev("B", "09:00", "created", channel="email", priority="normal", group="sales", customer="c2"),
    ev("B", "11:00", "message", author="agent", agent="jo"),
    ev("B", "12:00", "status", status="solved"),
    ev("B", "12:10", "status", status="open"),
    ev("B", "13:00", "status", status="solved"),
    ev("C", "06:00", "created", channel="email", priority="normal", customer="c3"),
    ev("D", "10:00", "created", channel="email", priority="normal", group="support",
        assignee="ann", customer="c4"),
    ev("D", "10:10", "message", author="agent", agent="ann"),
]  # fmt: skip


@pytest.fixture
def audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    policies = write_policies(tmp_path)
    path = write_events(tmp_path / "events.jsonl", EVENTS)

    def run(*extra: str) -> str:
        status, out, err = run_audit(capsys, policies, path, *extra)
        assert status == 0, err
        return out

    return run


def test_agent_scorecards_in_json(audit) -> None:
    cards = json.loads(audit("--json"))["scorecards"]
    assert [card["agent"] for card in cards["agent"]] == ["jo", "ann", "(none)"]
    jo, ann, nobody = cards["agent"]
    assert (jo["tickets"], jo["solved"], jo["reopened"]) == (2, 2, 1)
    # First responses 30 min and 2 h: nearest-rank median 30 min.
    assert jo["first_response_seconds"] == {"count": 2, "p50": 1800, "p90": 7200}
    # Resolution of the unassigned tickets counts for jo, who answered them: A 2 h, B 4 h
    # less the 10 min it was solved before the reopen.
    assert jo["resolution_seconds"] == {"count": 2, "p50": 7200, "p90": 13800}
    assert jo["achievement"]["first_response"] == {
        "achieved": 1, "breached": 1, "compliance": 0.5, "misses": 1
    }  # fmt: skip
    assert jo["achievement"]["resolution"]["compliance"] == 1.0
    # A: one reply, never reopened; B was reopened: FCR 1 of 2.
    assert (jo["fcr"], jo["fcr_rate"]) == (1, 0.5)
    assert jo["csat"] == {"rated": 1, "mean": 4.0}
    assert "note" not in jo
    assert ann["first_response_seconds"]["p50"] == 600
    assert ann["csat"]["mean"] is None
    assert ann["not_measurable"] == {"csat": "no CSAT ratings in the events"}
    # C alone: never answered, never assigned; both clocks breached by 16:00.
    assert nobody["tickets"] == 1
    assert nobody["achievement"]["first_response"]["breached"] == 1
    assert nobody["achievement"]["resolution"]["breached"] == 1
    assert nobody["note"] == "clocks with no agent \u2014 unanswered or unassigned"


def test_group_scorecards_in_json(audit) -> None:
    cards = json.loads(audit("--json"))["scorecards"]["group"]
    assert [(card["group"], card["tickets"]) for card in cards] == [
        ("sales", 2), ("support", 1), ("(none)", 1)
    ]  # fmt: skip
    assert cards[-1]["note"] == "tickets in no group"


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("by", ["agent", "group"])
def test_the_terminal_shows_the_scorecard(audit, monkeypatch, width: int, by: str) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    out = audit("--by", by)
    assert max(len(line) for line in out.splitlines()) <= width
    table = out.split(f"Scorecard by {by}")[1]
    rows = [line.split() for line in table.splitlines() if line.strip()]
    assert rows[0][:4] == [by.capitalize(), "Tickets", "Solved", "FRT"]
    names = [row[0] for row in rows[2:5]]
    assert names == (["jo", "ann", "(none)"] if by == "agent" else ["sales", "support", "(none)"])
    note = "clocks with no agent \u2014 unanswered or unassigned" if by == "agent" else "no group"
    assert note in " ".join(table.split())
    # Alone, the dimension is its scorecard: no second table of the same groups.
    assert f"By {by}" not in out
    # Tickets, solved, first response median and achievement stay at any width.
    assert rows[2][1:4] == ["2", "2", "30m"]
    assert rows[2][-5:] == ["50.0%", "100.0%", "50.0%", "4.00", "1"]
    assert rows[4][1:4] == ["1", "0", "-"]
    assert rows[4][-5:] == ["0.0%", "0.0%", "n/a", "n/a", "0"]


def test_the_terminal_scorecard_columns_at_120(audit, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    out = audit("--by", "agent")
    table = out.split("Scorecard by agent")[1]
    header = table.splitlines()[1].split()
    assert header == ["Agent", "Tickets", "Solved", "FRT", "median", "Res", "median", "FR",
                      "met", "Res", "met", "FCR", "CSAT", "Reopens"]  # fmt: skip
    jo = next(line.split() for line in table.splitlines() if line.startswith("jo "))
    assert jo == ["jo", "2", "2", "30m", "2h", "50.0%", "100.0%", "50.0%", "4.00", "1"]
    assert "met: achievement (FR first response, Res resolution)" in table


def test_no_scorecard_without_agent_or_group(audit, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert "Scorecard" not in audit()


def test_the_html_scorecards(audit) -> None:
    page = render_html(json.loads(audit("--json")))
    section = page.split('<section id="scorecards">')[1].split("</section>")[0]
    agents = section.split("<caption>Agents</caption>")[1].split("</table>")[0]
    names = [c.split("<")[0] for c in agents.split('<td class=name data-label="Agent"><span>')[1:]]
    assert names == ["jo", "ann", "(none)"]
    assert (
        '<td class=num data-label="First response achieved"><span>50.0% <small>of 2</small>'
    ) in agents
    assert "<strong>(none)</strong>: clocks with no agent \u2014 unanswered or unassigned." in (
        section
    )
    assert "<caption>Groups</caption>" in section
    assert '<table class="stack">' in section
