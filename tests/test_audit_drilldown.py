"""The audit's most overdue breaches, created versus solved per period, readable durations."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest

import slaengine
from slaengine.audit import AuditOptions, audit_file
from slaengine.audit.accumulator import WORST_BREACHES, BreachRecord, final_solve, keep_worst
from slaengine.cli import main
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.inputs.synthetic import write_jsonl
from slaengine.report.audit import audit_to_dict
from slaengine.report.html import render_html
from slaengine.report.labels import readable_duration
from slaengine.timeline import build_timelines

REPO_ROOT = Path(__file__).resolve().parents[1]
AT = "2025-10-01T00:00:00Z"


@pytest.fixture(scope="module")
def audited(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """800 synthetic tickets audited with the shipped policies: the document and breaches CSV."""
    folder = tmp_path_factory.mktemp("drilldown")
    events = folder / "events.jsonl"
    write_jsonl(events, 800, 11, dt.datetime(2025, 9, 1, tzinfo=dt.UTC), 30)
    policies = slaengine.load_policies(str(REPO_ROOT / "policies"))
    now = parse_instant(AT)
    options = AuditOptions(now=now, zone="Europe/Berlin", period="week")
    breaches = folder / "breaches.csv"
    audit, batch = audit_file(policies, events, options, jobs=2, breaches=breaches)
    doc = audit_to_dict(audit, batch, source="events.jsonl", now=now, by=options.by)
    with breaches.open(encoding="utf-8", newline="") as rows:
        return json.loads(json.dumps(doc)), list(csv.DictReader(rows))


def test_the_worst_breaches_are_the_most_negative_margins_of_the_breaches_csv(audited) -> None:
    doc, rows = audited
    assert doc["worst_breaches"], "the synthetic history has breaches"
    for metric, kept in doc["worst_breaches"].items():
        mine = [r for r in rows if r["metric"] == metric]
        mine.sort(key=lambda r: (int(r["margin"]), r["ticket"], int(r["instance"])))
        expected = [
            (r["ticket"], int(r["instance"]), int(r["margin"]), r["policy"], r["agent"] or "(none)",
             r["due"], r["stop"] or None)
            for r in mine[:WORST_BREACHES]
        ]  # fmt: skip
        assert [
            (k["ticket"], k["instance"], k["margin"], k["policy"], k["agent"], k["due"], k["stop"])
            for k in kept
        ] == expected, metric
        assert all(k["margin"] == k["target"] - k["elapsed"] < 0 for k in kept)
    assert list(doc["worst_breaches"]) == [
        m for m in ("first_response", "next_response", "periodic_update", "resolution")
        if m in doc["worst_breaches"]
    ]  # fmt: skip


def _record(margin: int, ticket: str, instance: int = 1) -> BreachRecord:
    return (margin, ticket, instance, "p", "email", "high", "g", "a", 0, 1, None, 10, 5)


def test_keep_worst_is_bounded_and_independent_of_order_and_partitioning() -> None:
    generator = random.Random(5)
    records = [
        _record(-generator.randrange(1, 50), f"T{n:03d}", generator.randrange(1, 3))
        for n in range(200)
    ]
    expected = sorted(records)[:WORST_BREACHES]
    for attempt in range(5):
        generator.shuffle(records)
        parts: list[list[BreachRecord]] = [[] for _ in range(attempt + 1)]
        for index, record in enumerate(records):
            keep_worst(parts[index % len(parts)], record)
        assert all(len(part) <= WORST_BREACHES for part in parts)
        merged: list[BreachRecord] = []
        for part in parts:
            for record in part:
                keep_worst(merged, record)
        assert merged == expected


def test_flow_counts_every_ticket_once_and_its_backlog_adds_up(audited) -> None:
    doc, _ = audited
    flow = doc["flow"]
    overall = doc["overall"]
    assert [row["period"] for row in flow] == sorted(row["period"] for row in flow)
    assert sum(row["created"] for row in flow) == overall["tickets"]
    # Every ticket solved at the audit instant has one final solve, in one period.
    assert sum(row["solved"] for row in flow) == overall["solved"]
    created = {row["key"]["period"]: row["tickets"] for row in doc["by_period"]}
    backlog = 0
    for row in flow:
        assert row["created"] == created.get(row["period"], 0)
        backlog += row["created"] - row["solved"]
        assert row["backlog"] == backlog
    assert flow[-1]["backlog"] == overall["tickets"] - overall["solved"]


def _timeline(*events: tuple[str, str, dict[str, Any]]) -> Any:
    parsed = [
        parse_event({"ticket": "T", "at": f"2025-12-0{day}T09:00:00Z", "type": kind, **extra})
        for day, kind, extra in events
    ]
    return build_timelines(parsed).timelines["T"]


CREATED = {"channel": "email", "priority": "normal"}


@pytest.mark.parametrize(
    ("events", "now_day", "solved_day"),
    [
        pytest.param([("1", "created", CREATED)], "9", None, id="never-solved"),
        pytest.param([("1", "created", CREATED), ("2", "status", {"status": "solved"})], "9",
                     "2", id="solved"),
        pytest.param([("1", "created", CREATED), ("2", "status", {"status": "solved"}),
                      ("3", "status", {"status": "closed"})], "9", "2", id="solved-then-closed"),
        pytest.param([("1", "created", CREATED), ("2", "status", {"status": "solved"}),
                      ("3", "status", {"status": "open"}), ("4", "message", {"author": "agent"}),
                      ("5", "status", {"status": "solved"})], "9", "5", id="reopened-solved-again"),
        pytest.param([("1", "created", CREATED), ("2", "status", {"status": "solved"}),
                      ("3", "status", {"status": "open"})], "9", None, id="reopened-still-open"),
        pytest.param([("1", "created", CREATED), ("2", "status", {"status": "solved"}),
                      ("5", "status", {"status": "open"})], "3", "2", id="reopened-after-now"),
        pytest.param([("1", "created", {**CREATED, "status": "solved"})], "9", "1",
                     id="created-solved"),
    ],
)  # fmt: skip
def test_final_solve(events: list[Any], now_day: str, solved_day: str | None) -> None:
    timeline = _timeline(*events)
    now = parse_instant(f"2025-12-0{now_day}T12:00:00Z")
    expected = None if solved_day is None else parse_instant(f"2025-12-0{solved_day}T09:00:00Z")
    assert final_solve(timeline, now) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"), (0, "0s"), (45, "45s"), (90, "1m 30s"), (3600, "1h"), (5400, "1h 30m"),
        (86_399, "1d"), (86_400, "1d"), (7_261_200, "84d 1h"), (-273_600, "-3d 4h"),
        (2017 * 3600 + 1800, "84d 2h"), (35 * 3600 + 52 * 60 + 29, "1d 12h"),
    ],
)  # fmt: skip
def test_readable_duration(seconds: int | None, text: str) -> None:
    assert readable_duration(seconds) == text


def test_the_html_drill_down_lists_the_worst_first(audited) -> None:
    doc, _ = audited
    page = render_html(doc)
    section = page.split('<section id="breaches">')[1].split("</section>")[0]
    for metric, kept in doc["worst_breaches"].items():
        label = {
            "first_response": "First response",
            "next_response": "Next response",
            "periodic_update": "Periodic update",
            "resolution": "Resolution",
        }[metric]
        table = section.split(f"<caption>{label}: the {len(kept)} most overdue</caption>")[1]
        table = table.split("</table>")[0]
        tickets = [
            cell.split("<")[0].strip() for cell in table.split('data-label="Ticket"><span>')[1:]
        ]
        assert tickets == [k["ticket"] for k in kept]
        overdue = [cell.split("<")[0] for cell in table.split('data-label="Overdue by"><span>')[1:]]
        assert overdue == [readable_duration(-k["margin"]) for k in kept]
    # No duration in hours past a day anywhere on the page ("2017h30m").
    assert not any(f">{h}h" in page for h in range(24, 200))


def test_histograms_mark_the_targets_and_label_a_readable_axis(tmp_path: Path, capsys) -> None:
    policies = tmp_path / "p.yaml"
    policies.write_text(
        "version: 1\npolicies:\n  - name: p\n    calendar: 24x7\n"
        "    metrics:\n      first_response: {targets: 4h}\n",
        encoding="utf-8",
    )
    events = tmp_path / "e.jsonl"
    lines = []
    for n, minutes in enumerate((10, 100, 300, 2000)):
        ticket = f"T{n}"
        lines.append({"ticket": ticket, "at": "2025-12-01T00:00:00Z", "type": "created",
                      "channel": "chat", "priority": "high"})  # fmt: skip
        at = dt.datetime(2025, 12, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
        lines.append({"ticket": ticket, "at": at.isoformat().replace("+00:00", "Z"),
                      "type": "message", "author": "agent", "agent": "jo"})  # fmt: skip
    events.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    html = tmp_path / "r.html"
    assert main(["audit", "-p", str(policies), "-e", str(events), "--at", "2025-12-03T00:00:00Z",
                 "--json", "--html", str(html)]) == 0  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["by_channel"][0]["metrics"]["first_response"]["targets"] == {"14400": 4}
    page = html.read_text(encoding="utf-8")
    chart = page.split('id="chart-times-first_response"')[1].split("</svg>")[0]
    assert chart.count('<g class="target"><title>chat target 4h: 4 of 4 clocks</title>') == 1
    for label in ("1m", "15m", "1h", "4h", "1d", "7d"):
        assert f">{label}</text>" in chart
    assert "d = 24 hours" in chart
    # Medians and p90 read in two units: 100 min is 1h 40m; 2000 min is 1d 9h.
    assert "median 1h 40m" in chart
    assert "p90 1d 9h" in chart
