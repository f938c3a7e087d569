"""Batch audits: KPI formulas on hand-made timelines, grouping, periods, parallel runs, the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import slaengine
from slaengine.audit import (
    BREACH_COLUMNS,
    AuditAccumulator,
    AuditOptions,
    LocalBuckets,
    audit_file,
    group_kpis,
    nearest_rank,
    parse_dimensions,
    summarize,
    ticket_facts,
    views_for,
)
from slaengine.audit.stats import BUCKET_EDGES, histogram
from slaengine.cli import main
from slaengine.engine import evaluate_timeline
from slaengine.event_parsing import parse_instant
from slaengine.inputs.synthetic import write_jsonl
from slaengine.timeline import Timeline

REPO_ROOT = Path(__file__).resolve().parents[1]
RunCli = Callable[..., tuple[int, str, str]]

POLICY = """\
version: 1
policies:
  - name: round-the-clock
    calendar: 24x7
    metrics:
      first_response: {targets: 1h}
      next_response: {targets: 1h}
      resolution: {targets: 8h, pause_when: [pending]}
"""
NOW = "2025-12-01T16:00:00Z"


def _ev(ticket: str, at: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"ticket": ticket, "at": f"2025-12-01T{at}:00Z", "type": kind, **extra}


def _agent(ticket: str, at: str, name: str) -> dict[str, Any]:
    return _ev(ticket, at, "message", author="agent", agent=name)


def _status(ticket: str, at: str, status: str) -> dict[str, Any]:
    return _ev(ticket, at, "status", status=status)


# A: answered in 30 min, solved at once (first contact resolution), rated 5.
# B: first reply late, follow-up answered late, a pending pause, solved, reopened, solved.
# C: reassigned to another group, a follow-up never answered (breached while open).
# D: just created an hour before the evaluation instant: exactly at its first-response target.
EVENTS = [
    _ev("A", "09:00", "created", channel="email", priority="normal", customer="c1", group="g1"),
    _agent("A", "09:30", "lea"),
    _status("A", "10:00", "solved"),
    _ev("A", "12:00", "csat", score=5),
    _ev("B", "09:00", "created", channel="email", priority="high", customer="c1", group="g1",
        assignee="bob"),
    _agent("B", "11:00", "lea"),
    _ev("B", "11:10", "message", author="customer"),
    _status("B", "11:20", "pending"),
    _status("B", "13:00", "open"),
    _agent("B", "13:10", "bob"),
    _status("B", "13:20", "solved"),
    _status("B", "14:00", "open"),
    _status("B", "14:30", "solved"),
    _ev("B", "15:00", "csat", score=3),
    _ev("C", "09:00", "created", channel="chat", priority="normal", customer="c2", group="g2"),
    _ev("C", "09:10", "update", group="g3"),
    _agent("C", "09:20", "mia"),
    _ev("C", "09:30", "message", author="customer"),
    _ev("C", "09:40", "message", author="agent", agent="mia", public=False),
    _ev("D", "15:00", "created", channel="phone", priority="low"),
    _ev("E", "17:00", "created", channel="email", priority="low"),  # after NOW: left out
]  # fmt: skip


@pytest.fixture
def policies() -> slaengine.PolicySet:
    """One round-the-clock policy: first and next response 1 h, resolution 8 h (pending pauses)."""
    return slaengine.loads_policies(POLICY)


@pytest.fixture
def timelines() -> dict[str, Timeline]:
    """The hand-made tickets A to E by id."""
    events = [slaengine.parse_event(e, seq=i, line=i) for i, e in enumerate(EVENTS, start=1)]
    built = slaengine.build_timelines(events)
    assert not built.problems
    return built.timelines


def _audit(
    policies: slaengine.PolicySet,
    timelines: dict[str, Timeline],
    zone: str = "UTC",
    period: str = "week",
    by: tuple[str, ...] = ("channel", "priority"),
) -> AuditAccumulator:
    now = parse_instant(NOW)
    audit = AuditAccumulator(LocalBuckets(zone, period), views_for(by))
    audit.add_all(((t, evaluate_timeline(policies, t, now)) for t in timelines.values()), now)
    return audit


@pytest.fixture
def overall(policies: slaengine.PolicySet, timelines: dict[str, Timeline]) -> dict[str, Any]:
    """Every KPI over the hand-made tickets."""
    return group_kpis(_audit(policies, timelines).view(())[()])


# -- percentiles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        pytest.param([15, 20, 35, 40, 50], 5, 15, id="p5-first"),
        pytest.param([15, 20, 35, 40, 50], 30, 20, id="p30-rank-2"),
        pytest.param([15, 20, 35, 40, 50], 40, 20, id="p40-exact-rank-2"),
        pytest.param([15, 20, 35, 40, 50], 50, 35, id="p50-rank-3"),
        pytest.param([15, 20, 35, 40, 50], 100, 50, id="p100-last"),
        pytest.param(list(range(1, 11)), 90, 9, id="p90-of-10"),
        pytest.param(list(range(1, 11)), 95, 10, id="p95-of-10"),
        pytest.param(list(range(1, 101)), 95, 95, id="p95-of-100"),
        pytest.param([7], 50, 7, id="single"),
    ],
)
def test_nearest_rank(values: list[int], percent: int, expected: int) -> None:
    assert nearest_rank(values, percent) == expected


def test_summary_of_nothing_is_null() -> None:
    assert summarize([]) == {
        "count": 0, "mean": None, "min": None, "p50": None, "p90": None, "p95": None, "max": None
    }  # fmt: skip


def test_summary_sorts_and_means() -> None:
    assert summarize([40, 10, 30, 20]) == {
        "count": 4, "mean": 25.0, "min": 10, "p50": 20, "p90": 40, "p95": 40, "max": 40
    }  # fmt: skip


def test_histogram_buckets_are_log_scale() -> None:
    assert BUCKET_EDGES[:4] == (60, 120, 240, 480)
    counts = histogram([0, 59, 60, 119, 120, 10**9])
    assert counts[:3] == [2, 2, 1]
    assert counts[-1] == 1
    assert len(counts) == len(BUCKET_EDGES) + 1


# -- KPI formulas ------------------------------------------------------------------------------


def test_compliance_counts(overall: dict[str, Any]) -> None:
    # achieved: A first response, A and B resolution, C first response;
    # breached: B first and next response, C next response (still running); active: C and D
    # resolution, D first response (elapsed exactly the target: not breached).
    assert overall["tickets"] == 4
    assert overall["clocks"] == 10
    assert overall["compliance"] == {
        "achieved": 4, "breached": 3, "cancelled": 0, "active": 3, "paused": 0, "open": 3,
        "breached_open": 1, "misses": 3, "compliance": 4 / 7,
    }  # fmt: skip


def test_first_response_times_and_margins(overall: dict[str, Any]) -> None:
    first = overall["metrics"]["first_response"]
    assert first["business_seconds"] == {
        "count": 3, "mean": 3400.0, "min": 1200, "p50": 1800, "p90": 7200, "p95": 7200,
        "max": 7200,
    }  # fmt: skip
    assert first["calendar_seconds"] == first["business_seconds"]  # 24x7
    assert first["margin"]["count"] == 1
    assert first["margin"]["p50"] == -3600
    margins = overall["metrics"]["next_response"]["margin"]
    assert (margins["count"], margins["min"], margins["p5"], margins["p50"], margins["max"]) == (
        2, -19800, -19800, -19800, -3600
    )  # fmt: skip


def test_resolution_business_and_calendar_time(overall: dict[str, Any]) -> None:
    resolution = overall["metrics"]["resolution"]
    # A: 09:00-10:00. B: 09:00-11:20, 13:00-13:20, 14:00-14:30 (pending and solved don't count),
    # but 09:00-14:30 in calendar time.
    assert resolution["business_seconds"]["count"] == 2
    assert (resolution["business_seconds"]["min"], resolution["business_seconds"]["max"]) == (
        3600, 11400
    )  # fmt: skip
    assert resolution["calendar_seconds"]["max"] == 19800
    assert resolution["active"] == 2


def test_ticket_kpis(overall: dict[str, Any]) -> None:
    # Customer messages: the four requests plus B's and C's follow-ups; C's follow-up got only
    # an internal note and D's request no reply.
    assert (overall["customer_messages"], overall["answered_messages"]) == (6, 4)
    assert overall["response_rate"] == 4 / 6
    assert overall["agent_replies"] == 4
    assert overall["replies_per_ticket"] == 1.0
    assert overall["unique_customers"] == 2
    # Solved: A (one reply, never reopened, not reassigned) and B (two replies, reopened).
    assert (overall["solved"], overall["fcr"], overall["fcr_rate"]) == (2, 1, 0.5)
    assert (overall["ever_solved"], overall["reopened"], overall["reopen_rate"]) == (2, 1, 0.5)
    # A: new 09:00-10:00. B: new 09:00-11:20, open 13:00-13:20 and 14:00-14:30.
    handle = overall["open_time_seconds"]
    assert (handle["count"], handle["min"], handle["max"], handle["mean"]) == (
        2, 3600, 11400, 7500.0
    )  # fmt: skip
    assert overall["csat"] == {"rated": 2, "mean": 4.0, "distribution": {"3": 1, "5": 1}}


def test_ticket_facts_of_reassigned_ticket(timelines: dict[str, Timeline]) -> None:
    facts = ticket_facts(timelines["C"], parse_instant(NOW))
    assert facts.reassigned
    assert not facts.solved
    assert facts.handle_time is None
    assert (facts.customer_messages, facts.answered_messages, facts.agent_replies) == (2, 1, 1)


def test_facts_ignore_events_after_now(timelines: dict[str, Timeline]) -> None:
    facts = ticket_facts(timelines["B"], parse_instant("2025-12-01T13:30:00Z"))
    assert facts.solved
    assert not facts.reopened
    assert facts.handle_time == 8400 + 1200
    assert facts.csat is None


def test_setting_an_assignee_first_is_no_reassignment() -> None:
    events = [
        _ev("X", "09:00", "created", channel="email", priority="low"),
        _ev("X", "09:05", "update", assignee="ann"),
        _ev("X", "09:06", "update", group="g1"),
        _ev("X", "09:07", "update", assignee="ann"),
        _agent("X", "09:10", "ann"),
        _status("X", "09:20", "closed"),
    ]
    parsed = [slaengine.parse_event(e, seq=i) for i, e in enumerate(events)]
    timeline = slaengine.build_timelines(parsed).timelines["X"]
    facts = ticket_facts(timeline, parse_instant(NOW))
    assert not facts.reassigned
    assert facts.solved
    assert facts.handle_time == 20 * 60


def test_tickets_created_after_now_are_counted_apart(
    policies: slaengine.PolicySet, timelines: dict[str, Timeline]
) -> None:
    audit = _audit(policies, timelines)
    assert audit.not_yet_created == 1
    assert audit.tickets == 4
    assert audit.events == len(EVENTS) - 1


# -- grouping -------------------------------------------------------------------------------


def test_groups_by_channel_and_priority(
    policies: slaengine.PolicySet, timelines: dict[str, Timeline]
) -> None:
    table = _audit(policies, timelines).view(("channel", "priority"))
    assert sorted(table) == [("chat", "normal"), ("email", "high"), ("email", "normal"),
                             ("phone", "low")]  # fmt: skip
    assert group_kpis(table[("email", "high")])["compliance"]["breached"] == 2


def test_group_is_the_current_one(
    policies: slaengine.PolicySet, timelines: dict[str, Timeline]
) -> None:
    table = _audit(policies, timelines).view(("group",))
    assert {key: group.tickets for key, group in table.items()} == {
        ("g1",): 2, ("g3",): 1, ("(none)",): 1
    }  # fmt: skip


def test_agent_of_a_clock_is_who_fulfilled_it_else_the_assignee_else_the_last_replier(
    policies: slaengine.PolicySet, timelines: dict[str, Timeline]
) -> None:
    table = _audit(policies, timelines).view(("agent",))
    # Tickets: A's last replier lea, B's assignee bob, C's last replier mia, D nobody.
    assert {key[0]: group.tickets for key, group in table.items()} == {
        "lea": 1, "bob": 1, "mia": 1, "(none)": 1
    }  # fmt: skip
    breached = {key[0]: group_kpis(g)["compliance"]["breached"] for key, g in table.items()}
    # B's late first reply was lea's, its late follow-up answer bob's; C's unanswered
    # follow-up has neither a fulfilling agent nor an assignee: it is mia's, who replied last.
    assert breached == {"lea": 1, "bob": 1, "mia": 1, "(none)": 0}
    clocks = {key[0]: group.clocks for key, group in table.items()}
    # lea: A first response and resolution, B first response. bob: B next response and
    # resolution. mia: C's three. (none): D's two (nobody replied, nobody assigned).
    assert clocks == {"lea": 3, "bob": 2, "mia": 3, "(none)": 2}


def test_any_combination_of_dimensions(
    policies: slaengine.PolicySet, timelines: dict[str, Timeline]
) -> None:
    by = ("policy", "group", "agent", "period")
    table = _audit(policies, timelines, by=by).view(by)
    assert ("round-the-clock", "g1", "bob", "2025-W49") in table
    assert sum(group.tickets for group in table.values()) == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("channel,priority", ("channel", "priority"), id="two"),
        pytest.param(" agent , period ", ("agent", "period"), id="spaces"),
        pytest.param("", (), id="overall"),
    ],
)
def test_parse_dimensions(text: str, expected: tuple[str, ...]) -> None:
    assert parse_dimensions(text) == expected


@pytest.mark.parametrize("text", ["chanel", "channel,channel"])
def test_parse_dimensions_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="dimension"):
        parse_dimensions(text)


# -- periods ----------------------------------------------------------------------------------

SUNDAY_NIGHT = parse_instant("2025-11-30T23:30:00Z")  # Monday 00:30 in Berlin


@pytest.mark.parametrize(
    ("zone", "period", "expected"),
    [
        pytest.param("UTC", "day", "2025-11-30", id="utc-day"),
        pytest.param("UTC", "week", "2025-W48", id="utc-week"),
        pytest.param("UTC", "month", "2025-11", id="utc-month"),
        pytest.param("Europe/Berlin", "day", "2025-12-01", id="berlin-day"),
        pytest.param("Europe/Berlin", "week", "2025-W49", id="berlin-week"),
        pytest.param("Europe/Berlin", "month", "2025-12", id="berlin-month"),
        pytest.param("America/New_York", "day", "2025-11-30", id="new-york-day"),
    ],
)
def test_period_in_a_time_zone(zone: str, period: str, expected: str) -> None:
    assert LocalBuckets(zone, period).period_of(SUNDAY_NIGHT) == expected


def test_hour_of_week_in_a_time_zone() -> None:
    assert LocalBuckets("UTC", "week").hour_of_week(SUNDAY_NIGHT) == 6 * 24 + 23
    assert LocalBuckets("Europe/Berlin", "week").hour_of_week(SUNDAY_NIGHT) == 0
    # Half-hour offset: 23:30 UTC is 05:00 Monday in Kolkata.
    assert LocalBuckets("Asia/Kolkata", "week").hour_of_week(SUNDAY_NIGHT) == 5


def test_sunday_night_ticket_counts_on_monday_in_berlin(policies: slaengine.PolicySet) -> None:
    event = {"ticket": "S", "at": "2025-11-30T23:30:00Z", "type": "created", "channel": "email",
             "priority": "low"}  # fmt: skip
    timelines = slaengine.build_timelines([slaengine.parse_event(event)]).timelines
    berlin = _audit(policies, timelines, zone="Europe/Berlin", period="day")
    assert list(berlin.view(("period",))) == [("2025-12-01",)]
    assert berlin.volume_by_hour[0] == 1
    utc = _audit(policies, timelines, zone="UTC", period="day")
    assert list(utc.view(("period",))) == [("2025-11-30",)]
    assert utc.volume_by_hour[6 * 24 + 23] == 1


def test_breach_heat_map_counts_the_due_instant(
    policies: slaengine.PolicySet, timelines: dict[str, Timeline]
) -> None:
    audit = _audit(policies, timelines)
    # Monday: B first response due 10:00, B next response due 12:10, C next response due 10:30.
    assert audit.breaches_by_hour[10] == 2
    assert audit.breaches_by_hour[12] == 1
    assert sum(audit.breaches_by_hour) == 3


# -- merging and parallel runs ----------------------------------------------------------------


def test_merge_equals_one_pass(
    policies: slaengine.PolicySet, timelines: dict[str, Timeline]
) -> None:
    whole = _audit(policies, timelines)
    items = list(timelines.items())
    first = _audit(policies, dict(items[:2]))
    second = _audit(policies, dict(items[2:]))
    first.compact()
    second.compact()
    first.merge(second)
    assert group_kpis(first.view(())[()]) == group_kpis(whole.view(())[()])
    assert first.breaches_by_hour == whole.breaches_by_hour


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 synthetic tickets (about 15,000 events) as a gzip-free JSON Lines file."""
    path = tmp_path_factory.mktemp("audit") / "events.jsonl"
    write_jsonl(path, 1500, seed=7, start=dt.datetime(2025, 9, 1, tzinfo=dt.UTC), days=30)
    return path


def test_two_jobs_give_the_same_result_as_one(generated: Path, tmp_path: Path) -> None:
    policies = slaengine.load_policies(REPO_ROOT / "policies")
    options = AuditOptions(now=parse_instant("2025-10-01T00:00:00Z"), zone="Europe/Berlin")
    documents = []
    for jobs in (1, 2):
        breaches = tmp_path / f"breaches-{jobs}.csv"
        audit, batch = audit_file(policies, generated, options, jobs=jobs, breaches=breaches)
        from slaengine.report.audit import audit_to_dict

        doc = audit_to_dict(audit, batch, source="x", now=options.now, by=options.by)
        documents.append((json.dumps(doc, sort_keys=False), breaches.read_text()))
    assert documents[0] == documents[1]
    assert json.loads(documents[0][0])["input"]["tickets"] == 1500


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``main(argv)`` from the repository root; return (status, stdout, stderr)."""
    monkeypatch.chdir(REPO_ROOT)

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return status, out, err

    return run


def _audit_cli(*extra: str) -> list[str]:
    return ["audit", "--policies", "policies/", "--at", "2025-12-03T16:00:00Z", *extra]


TOP_KEYS = [
    "schema", "at", "timezone", "period", "by", "versions", "input", "overall", "by_channel",
    "by_priority", "by_policy", "by_group", "by_agent", "by_period", "by_channel_priority",
    "by_metric", "groups", "heatmaps", "histogram_edges", "worst_offenders", "scorecards",
    "flow", "worst_breaches", "metric_labels", "goals",
]  # fmt: skip


def test_cli_json_on_the_examples(run_cli: RunCli) -> None:
    status, out, err = run_cli(*_audit_cli("--events", "examples/tickets.jsonl", "--json"))
    assert status == 0, err
    doc = json.loads(out)
    assert list(doc) == TOP_KEYS
    assert doc["schema"] == "slaengine.audit/2"
    from importlib.metadata import version

    assert doc["versions"]["slaengine"] == slaengine.__version__
    assert doc["versions"]["holidays"] == version("holidays")
    assert doc["input"] == {
        "source": "examples/tickets.jsonl", "lines": 32, "events": 31, "events_rejected": 0,
        "tickets_rejected": 0, "duplicates": 1, "partitions": 8, "tickets": 7,
        "tickets_not_yet_created": 0, "tickets_unmatched": 0,
    }  # fmt: skip
    assert doc["overall"]["tickets"] == 7
    assert [row["key"] for row in doc["by_priority"]] == [
        {"priority": p} for p in ("high", "low", "normal", "urgent")
    ]
    assert len(doc["heatmaps"]["volume"]) == 7
    assert all(len(day) == 24 for day in doc["heatmaps"]["breaches"])
    assert sum(map(sum, doc["heatmaps"]["volume"])) == 7
    histogram_counts = doc["by_channel"][0]["metrics"]["first_response"]["histogram"]["business"]
    assert len(histogram_counts) == len(doc["histogram_edges"]) + 1
    assert set(doc["worst_offenders"]) == {"policy", "group", "agent"}


def test_cli_table_states_what_was_read(run_cli: RunCli) -> None:
    status, out, _ = run_cli(*_audit_cli("--events", "examples/tickets.jsonl", "--tz",
                                         "Europe/Berlin", "--by", "policy,agent"))  # fmt: skip
    assert status == 0
    assert "Read 32 lines, 31 events used; 7 tickets evaluated" in out
    assert "1 duplicate ignored" in out
    assert "Compliance by channel" in out
    assert "Worst offenders" in out
    assert "By policy, agent" in out


def test_cli_breaches_csv(run_cli: RunCli, tmp_path: Path) -> None:
    target = tmp_path / "breaches.csv"
    status, out, _ = run_cli(
        *_audit_cli("--events", "examples/tickets.jsonl", "--json", "--breaches", str(target))
    )
    assert status == 0
    with target.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == BREACH_COLUMNS
    assert len(rows) == json.loads(out)["overall"]["compliance"]["breached"]
    for row in rows:
        assert int(row["margin"]) == int(row["target"]) - int(row["elapsed"]) < 0


def test_cli_reports_a_malformed_line(run_cli: RunCli, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    shutil.copy(REPO_ROOT / "examples" / "tickets.jsonl", events)
    with events.open("a", encoding="utf-8") as out:
        out.write('{"ticket": "T-9", "at": "2025-12-01T10:00:00Z", "type": "mesage"}\n')
        out.write("not json\n")
        out.write('{"ticket": "T-8", "at": "2025-12-01T10:00:00Z", "type": "status", '
                  '"status": "open"}\n')  # fmt: skip
    rejects = tmp_path / "rejects.txt"
    status, out, err = run_cli(
        *_audit_cli("--events", str(events), "--json", "--rejects", str(rejects))
    )
    assert status == 1
    info = json.loads(out)["input"]
    assert (info["lines"], info["events_rejected"], info["tickets_rejected"]) == (35, 2, 1)
    assert f"{events}:33: E400" in err
    assert f"{events}:34:1: E401" in err
    assert f"{events}:35: E410" in err
    assert len(rejects.read_text().splitlines()) == 3


def test_cli_generated_gzip_file(run_cli: RunCli, tmp_path: Path, generated: Path) -> None:
    compressed = tmp_path / "events.jsonl.gz"
    with generated.open("rb") as source, gzip.open(compressed, "wb") as target:
        shutil.copyfileobj(source, target)
    status, out, _ = run_cli(
        "audit", "-p", "policies/", "-e", str(compressed), "--at", "2025-10-01T00:00:00Z",
        "--json", "--period", "day", "--by", "agent", "-j", "2",
    )  # fmt: skip
    assert status == 0
    doc = json.loads(out)
    assert doc["input"]["tickets"] == 1500
    assert doc["by"] == ["agent"]
    assert all(len(row["key"]["period"]) == 10 for row in doc["by_period"])
    assert sum(row["tickets"] for row in doc["groups"]) == 1500


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--tz", "Mars/Base"], "--tz: unknown time zone", id="tz"),
        pytest.param(["--by", "colour"], "--by: unknown dimension", id="by"),
        pytest.param(["--at", "2025-12-01"], "--at:", id="at"),
        pytest.param(["--jobs", "-1"], "--jobs", id="jobs"),
    ],
)
def test_cli_usage_errors(run_cli: RunCli, extra: list[str], message: str) -> None:
    status, out, err = run_cli("audit", "-p", "policies/", "-e", "examples/tickets.jsonl", *extra)
    assert status == 2
    assert out == ""
    assert message in err


def test_cli_missing_events_file(run_cli: RunCli, tmp_path: Path) -> None:
    status, _, err = run_cli("audit", "-p", "policies/", "-e", str(tmp_path / "nope.jsonl"))
    assert status == 2
    assert "cannot read" in err
