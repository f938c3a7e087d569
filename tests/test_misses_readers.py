"""``misses: per_customer_message`` read everywhere: evaluate's CSV, explain, and audit
(JSON, terminal, HTML, the breaches CSV), per metric and per group, agent and channel."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from slaengine.audit.accumulator import MetricStats
from slaengine.cli import main

POLICY = """\
version: 1
policies:
  - name: chat
    metrics:
      first_response: {targets: 1h}
      next_response: {targets: 30m, misses: per_customer_message}
"""
# The docs' example: first reply 09:05; the customer writes 09:10 and 09:20; due 09:40;
# the customer writes again 09:50; answered 10:00: next_response #1 breached, 2 misses.
EVENTS = [
    ("09:00", "created", {"channel": "chat", "priority": "normal", "group": "support"}),
    ("09:05", "message", {"author": "agent", "agent": "ann"}),
    ("09:10", "message", {"author": "customer"}),
    ("09:20", "message", {"author": "customer"}),
    ("09:50", "message", {"author": "customer"}),
    ("10:00", "message", {"author": "agent", "agent": "ann"}),
]
# A second ticket: late once (one miss), in another group and channel.
LATE_ONCE = [
    ("09:00", "created", {"channel": "email", "priority": "normal", "group": "billing"}),
    ("09:05", "message", {"author": "agent", "agent": "bob"}),
    ("09:10", "message", {"author": "customer"}),
    ("10:00", "message", {"author": "agent", "agent": "bob"}),
]
NOW = "2026-03-02T12:00:00Z"


def files(tmp_path: Path) -> tuple[str, str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    rows = [
        {"ticket": ticket, "at": f"2026-03-02T{at}:00Z", "type": kind, **extra}
        for ticket, timeline in (("T-1", EVENTS), ("T-2", LATE_ONCE))
        for at, kind, extra in timeline
    ]
    events.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(policy), str(events)


def test_evaluate_csv_has_a_misses_column(tmp_path, capsys):
    policy, events = files(tmp_path)
    assert main(["evaluate", "-p", policy, "-e", events, "--at", NOW, "-f", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["ticket"], r["metric"], r["state"], r["misses"]) for r in rows] == [
        ("T-1", "first_response", "achieved", ""),  # no misses rule: empty
        ("T-1", "next_response", "breached", "2"),
        ("T-2", "first_response", "achieved", ""),
        ("T-2", "next_response", "breached", "1"),
    ]


def test_explain_shows_the_misses(tmp_path, capsys):
    policy, events = files(tmp_path)
    args = ["explain", "-p", policy, "-e", events, "--ticket", "T-1", "--at", NOW]
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c.get("misses") for c in doc["metrics"]] == [None, 2]
    assert main(args) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "misses 2: the breach and 1 customer message written after the due "
        "(misses: per_customer_message)" in text
    )


def _audit(tmp_path, capsys, *extra: str) -> str:
    policy, events = files(tmp_path)
    assert main(["audit", "-p", policy, "-e", events, "--at", NOW, *extra]) == 0
    return capsys.readouterr().out


def test_audit_json_counts_misses_per_metric_and_per_group_agent_channel(tmp_path, capsys):
    doc = json.loads(_audit(tmp_path, capsys, "--json", "--by", "group"))
    overall = doc["overall"]
    assert overall["metrics"]["next_response"]["misses"] == 3
    assert overall["metrics"]["next_response"]["breached"] == 2
    # Without the rule a breached clock is one miss.
    assert overall["metrics"]["first_response"]["misses"] == 0
    assert overall["compliance"]["misses"] == 3
    groups = {row["key"]["group"]: row["metrics"]["next_response"]["misses"] for row in
              doc["groups"]}  # fmt: skip
    assert groups == {"support": 2, "billing": 1}
    agents = {
        row["key"]["agent"]: row["metrics"]["next_response"]["misses"] for row in doc["by_agent"]
    }
    assert agents == {"ann": 2, "bob": 1}
    channels = {row["key"]["channel"]: row["compliance"]["misses"] for row in doc["by_channel"]}
    assert channels == {"chat": 2, "email": 1}
    cards = {c["agent"]: c["achievement"]["next_response"]["misses"] for c in
             doc["scorecards"]["agent"]}  # fmt: skip
    assert cards == {"ann": 2, "bob": 1}


def test_audit_terminal_html_and_breaches_csv_show_misses(tmp_path, capsys):
    page = tmp_path / "audit.html"
    breaches = tmp_path / "breaches.csv"
    text = _audit(tmp_path, capsys, "--by", "channel", "--html", str(page), "--breaches",
                  str(breaches))  # fmt: skip
    flat = " ".join(text.split())
    assert "0% (0 of 2; 3 misses)" in flat  # the overall next_response line
    assert "Misses" in text  # the compliance tables' column
    html = page.read_text(encoding="utf-8")
    assert "0% <small>of 1, 2 misses</small>" in html  # ann's scorecard
    assert "Channel chat: compliance 50.0%; 1 achieved, 1 breached" in html
    assert "0 cancelled; 1 ticket; 2 misses" in html  # the chart bar's summary
    rows = list(csv.DictReader(io.StringIO(breaches.read_text(encoding="utf-8"))))
    assert sorted((r["ticket"], r["metric"], r["misses"]) for r in rows) == [
        ("T-1", "next_response", "2"),
        ("T-2", "next_response", "1"),
    ]


def test_misses_merge_across_parts():
    a, b = MetricStats(breached=1, misses=3), MetricStats(breached=2, misses=2)
    a.merge(b)
    assert (a.breached, a.misses) == (3, 5)


def test_audit_with_two_jobs_counts_the_same_misses(tmp_path, capsys):
    one = json.loads(_audit(tmp_path, capsys, "--json", "-j", "1"))
    two = json.loads(_audit(tmp_path, capsys, "--json", "-j", "2"))
    assert one["overall"]["metrics"]["next_response"]["misses"] == 3
    assert two["overall"]["metrics"]["next_response"]["misses"] == 3
