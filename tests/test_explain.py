"""``slaengine explain``: policy selection reasons, clock segment timelines, CLI and JSON."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import slaengine
from slaengine.calendar import format_utc
from slaengine.cli import main
from slaengine.event_parsing import parse_instant
from slaengine.explain import (
    CLOSED,
    PAUSED,
    RUNNING,
    STOPPED,
    ClockExplanation,
    Explanation,
    explain_ticket,
)

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "examples" / "tickets.jsonl"
POLICIES = ROOT / "policies"
AT = "2025-12-03T16:00:00Z"
EXAMPLE_TICKETS = ["T-1001", "T-1002", "T-1003", "T-1004", "T-1005", "T-1006", "T-1007"]

RunCli = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def example_policies() -> slaengine.PolicySet:
    """The shipped policies."""
    return slaengine.load_policies(POLICIES)


@pytest.fixture(scope="module")
def example_timelines(example_policies: slaengine.PolicySet) -> slaengine.TimelineSet:
    """The example tickets."""
    return slaengine.read_events(EVENTS, example_policies.status_map)


@pytest.fixture(scope="module")
def explain(
    example_policies: slaengine.PolicySet, example_timelines: slaengine.TimelineSet
) -> Callable[[str], Explanation]:
    """``explain(ticket)``: the explanation of an example ticket at 2025-12-03T16:00Z."""

    def run(ticket: str) -> Explanation:
        timeline = example_timelines.timelines[ticket]
        return explain_ticket(example_policies, timeline, parse_instant(AT))

    return run


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``main(argv)`` from the repository root; (status, stdout, stderr), no traceback."""
    monkeypatch.chdir(ROOT)

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return status, out, err

    return run


def _clock(explanation: Explanation, metric: str, instance: int = 1) -> ClockExplanation:
    return next(
        c for c in explanation.clocks if c.clock.metric == metric and c.clock.instance == instance
    )


# -- policy selection ----------------------------------------------------------


def test_matched_ticket_lists_earlier_policies_failed_conditions(explain):
    explanation = explain("T-1001")
    assert explanation.policy is not None
    assert explanation.policy.name == "email-and-web"
    names = [c.name for c in explanation.checks]
    assert names == [
        "urgent-any-channel",
        "social-messaging",
        "live-chat",
        "phone",
        "americas-email-web",
        "email-and-web",
    ]
    failed = {c.name: c.failed for c in explanation.checks}
    assert failed["urgent-any-channel"] == ("priority 'normal' not in ['urgent']",)
    assert failed["live-chat"] == ("channel 'email' not in ['chat']",)
    assert failed["americas-email-web"] == ("no tag of ['americas']",)
    last = explanation.checks[-1]
    assert last.matched
    assert last.failed == ()
    assert "catch-all" in last.held[0]
    assert last.location is not None
    assert last.location.endswith("support.yaml:92:5")


def test_matched_policy_shows_conditions_that_held(explain):
    check = explain("T-1004").checks[-1]
    assert check.name == "americas-email-web"
    assert check.held == (
        "channel 'web' in ['email', 'web']",
        "has tag ['americas'] of ['americas']",
    )


# -- priority changes ----------------------------------------------------------


def test_priority_change_on_t1005_is_explained(explain):
    explanation = explain("T-1005")
    assert explanation.policy is not None
    assert explanation.policy.name == "urgent-any-channel"
    assert [(s.policy, format_utc(s.at)) for s in explanation.selection_history] == [
        ("social-messaging", "2025-12-02T13:00:00Z"),
        ("urgent-any-channel", "2025-12-02T13:20:00Z"),
    ]
    first = _clock(explanation, "first_response")
    assert first.start_priority == "normal"
    assert first.clock.priority == "urgent"
    assert [(c.old, c.new, format_utc(c.at), c.line) for c in first.priority_changes] == [
        ("normal", "urgent", "2025-12-02T13:20:00Z", 24)
    ]
    notes = [n.render(format_utc) for n in first.notes]
    assert "priority raised from normal to urgent at 2025-12-02T13:20:00Z (line 24)" in notes
    assert "target 15m (urgent) counts from the original start 2025-12-02T13:00:00Z" in notes
    assert any(n.code == "breached_before_change" for n in first.notes)
    assert first.stop_text == "fulfilled by mia's reply"
    assert first.stop_line == 25


# -- segments ------------------------------------------------------------------


def test_paused_resolution_shows_paused_segments(explain):
    resolution = _clock(explain("T-1002"), "resolution")
    assert resolution.clock.state == "paused"
    kinds = [
        (s.kind, s.status, format_utc(s.start), format_utc(s.end)) for s in resolution.segments
    ]
    assert kinds == [
        (RUNNING, None, "2025-12-01T22:10:00Z", "2025-12-02T00:12:00Z"),
        (PAUSED, "pending", "2025-12-02T00:12:00Z", "2025-12-03T16:00:00Z"),
    ]
    assert resolution.stop_text == "still paused"
    first = _clock(explain("T-1002"), "first_response")
    assert [n.code for n in first.notes] == ["bot_ignored"]
    assert sum(s.paused_open for s in resolution.segments) == resolution.clock.paused


@pytest.mark.parametrize("ticket", EXAMPLE_TICKETS)
def test_segments_add_up_to_elapsed_for_every_clock(explain, ticket):
    explanation = explain(ticket)
    assert explanation.clocks
    for item in explanation.clocks:
        clock = item.clock
        segments = item.segments
        running = sum(s.business for s in segments if s.kind == RUNNING)
        assert running == clock.elapsed, (clock.metric, clock.instance)
        assert sum(s.business for s in segments) == clock.elapsed
        assert sum(s.paused_open for s in segments) == clock.paused
        # Consecutive, without gaps, from the start to the stop (or the evaluation instant).
        assert segments[0].start == clock.start
        assert segments[-1].end == (clock.stop if clock.stop is not None else parse_instant(AT))
        for before, after in itertools.pairwise(segments):
            assert before.end == after.start
        assert segments[-1].elapsed_after == clock.elapsed


@pytest.mark.parametrize("ticket", EXAMPLE_TICKETS)
def test_breached_clock_marks_the_breach_segment_at_the_due_instant(explain, ticket):
    for item in explain(ticket).clocks:
        marked = [s for s in item.segments if s.breach_at is not None]
        if item.clock.state == "breached":
            assert len(marked) == 1
            segment = marked[0]
            assert segment.kind == RUNNING
            assert segment.breach_at == item.clock.due
            assert segment.start < segment.breach_at <= segment.end
        else:
            assert marked == []


def test_breach_on_the_americas_desk(explain):
    periodic = _clock(explain("T-1004"), "periodic_update")
    breach = periodic.breach_segment
    assert breach is not None
    # 4 h from Tuesday 09:15 New York, with the 12:00-13:00 lunch break: 14:15 New York.
    assert format_utc(breach.start) == "2025-12-02T18:00:00Z"
    assert format_utc(breach.breach_at or 0) == "2025-12-02T19:15:00Z"


def test_closed_segment_over_a_weekend_for_business_hours(explain):
    first = _clock(explain("T-1007"), "first_response")
    closed = [s for s in first.segments if s.kind == CLOSED]
    # Friday 17:00 to Monday 09:00 Berlin time.
    assert [(format_utc(s.start), format_utc(s.end)) for s in closed] == [
        ("2025-11-28T16:00:00Z", "2025-12-01T08:00:00Z")
    ]
    assert closed[0].business == 0


def test_closed_segment_over_a_night(explain):
    first = _clock(explain("T-1004"), "first_response")
    assert [(s.kind, format_utc(s.start), format_utc(s.end)) for s in first.segments] == [
        (RUNNING, "2025-12-01T20:00:00Z", "2025-12-01T23:00:00Z"),
        (CLOSED, "2025-12-01T23:00:00Z", "2025-12-02T13:00:00Z"),
        (RUNNING, "2025-12-02T13:00:00Z", "2025-12-02T14:15:00Z"),
    ]


def test_reopened_ticket_shows_a_stopped_segment(explain):
    resolution = _clock(explain("T-1007"), "resolution")
    stopped = [s for s in resolution.segments if s.kind == STOPPED]
    assert [(s.status, format_utc(s.start), format_utc(s.end)) for s in stopped] == [
        ("solved", "2025-12-01T10:00:00Z", "2025-12-02T09:00:00Z")
    ]
    assert any(n.code == "reopened" for n in resolution.notes)


def test_events_after_the_instant_are_ignored(example_policies, example_timelines):
    timeline = example_timelines.timelines["T-1001"]
    explanation = explain_ticket(
        example_policies, timeline, parse_instant("2025-12-02T12:00:00+01:00")
    )
    used = [(u.event.line, u.used) for u in explanation.events]
    assert used == [(1, True), (2, True), (3, True), (4, True), (5, True), (6, False),
                    (7, False), (8, False)]  # fmt: skip
    resolution = _clock(explanation, "resolution")
    assert resolution.stop_text == "still running"


def test_ticket_created_after_the_instant(example_policies, example_timelines):
    timeline = example_timelines.timelines["T-1003"]
    explanation = explain_ticket(example_policies, timeline, parse_instant("2025-12-01T00:00:00Z"))
    assert not explanation.exists
    assert explanation.clocks == ()
    assert not any(u.used for u in explanation.events)


# -- command line --------------------------------------------------------------


def test_cli_table(run_cli):
    status, out, err = run_cli(
        "explain", "-p", "policies/", "-e", "examples/tickets.jsonl", "--ticket", "T-1007",
        "--at", AT, "--tz", "Europe/Berlin",
    )  # fmt: skip
    assert status == 0
    assert "1 duplicate event ignored" in err
    assert "\x1b[" not in out  # no colour when not a terminal
    assert "Ticket T-1007 at Wed 2025-12-03 17:00 (times in Europe/Berlin)" in out
    assert "stopped" in out
    assert "breached here at Wed" in out
    assert "ignored" not in out.split("Events")[-1]


def test_cli_json_keys(run_cli):
    status, out, _ = run_cli(
        "explain", "-p", "policies/", "-e", "examples/tickets.jsonl", "--ticket", "T-1005",
        "--at", AT, "--json",
    )  # fmt: skip
    assert status == 0
    data = json.loads(out)
    assert list(data) == [
        "ticket", "at", "created", "exists", "attributes", "attribute_changes", "policy",
        "matched", "selection", "selection_history", "calendars", "metrics", "events", "notes",
    ]  # fmt: skip
    assert data["at"] == "2025-12-03T16:00:00Z"
    assert list(data["attributes"]) == [
        "channel", "priority", "status", "customer", "group", "assignee", "tags", "fields",
    ]  # fmt: skip
    assert list(data["selection"][0]) == [
        "policy", "location", "matched", "held", "failed", "effective_from",
    ]  # fmt: skip
    assert list(data["calendars"][0]) == ["metric", "name", "timezone", "hours", "holidays"]
    metric = data["metrics"][0]
    assert list(metric) == [
        "metric", "instance", "state", "start", "start_line", "start_trigger", "stop",
        "stop_line", "stop_trigger",
        "stop_reason", "stop_text", "agent", "due", "due_hidden_by", "elapsed_seconds",
        "uncounted_seconds", "paused_seconds",
        "target_seconds", "remaining_seconds", "priority", "start_priority", "priority_changes",
        "calendar", "pause_when", "pause_conditions", "breach_at", "segments", "notes",
        "alerts",
    ]  # fmt: skip
    assert metric["breach_at"] == "2025-12-02T13:15:00Z"
    # The triggers of the metric's definition that the engine recorded at the start and stop.
    assert (metric["start_trigger"], metric["stop_trigger"]) == ("created", "agent_reply")
    assert metric["priority_changes"] == [
        {"at": "2025-12-02T13:20:00Z", "line": 24, "from": "normal", "to": "urgent"}
    ]
    assert list(metric["segments"][0]) == [
        "kind", "from", "to", "status", "condition", "real_seconds", "business_seconds",
        "paused_open_seconds", "elapsed_after_seconds", "breach_at",
    ]  # fmt: skip
    assert metric["segments"][0]["business_seconds"] == metric["elapsed_seconds"] == 2460
    assert list(data["events"][0]) == ["line", "at", "type", "summary", "used"]


def test_cli_table_durations_read_as_evaluate_writes_them_and_json_keeps_seconds(run_cli):
    command = ("explain", "-p", "policies/", "-e", "examples/tickets.jsonl", "-t", "T-1005")
    status, out, _ = run_cli(*command, "--at", AT)
    assert status == 0
    # The resolution clock ran 27 hours of a 4-hour target: "1d 3h", as evaluate's table says.
    assert "elapsed      1d 3h of 4h, -23h left; paused 0s of open time" in out
    assert "│ 1d 3h │  1d 3h │   1d 3h │ breached here at" in out
    assert "27h" not in out
    # The page shows this output as it is.
    page = (Path(__file__).resolve().parent.parent / "docs" / "explain.md").read_text("utf-8")
    example = page.split("## Example", 1)[1].split("```text\n", 1)[1].split("```\n", 1)[0]
    assert example == out
    status, out, _ = run_cli(*command, "--at", AT, "--json")
    resolution = json.loads(out)["metrics"][-1]
    assert resolution["metric"] == "resolution"
    assert (resolution["elapsed_seconds"], resolution["target_seconds"]) == (97200, 14400)
    assert resolution["segments"][0]["elapsed_after_seconds"] == 97200


def test_cli_unknown_ticket_suggests(run_cli):
    status, out, err = run_cli(
        "explain", "-p", "policies/", "-e", "examples/tickets.jsonl", "--ticket", "T-105",
        "--at", AT,
    )  # fmt: skip
    assert status == 2
    assert out == ""
    assert "slaengine: no ticket 'T-105' in examples/tickets.jsonl; did you mean 'T-1005'?" in err


def test_cli_bad_events_are_reported_but_explained(run_cli, tmp_path):
    events = tmp_path / "events.jsonl"
    lines = EVENTS.read_text(encoding="utf-8").splitlines()
    events.write_text("\n".join([*lines[:5], "{not json", *lines[5:]]) + "\n", encoding="utf-8")
    status, out, err = run_cli(
        "explain", "-p", "policies/", "-e", str(events), "--ticket", "T-1001", "--at", AT,
        "--json",
    )  # fmt: skip
    assert status == 1
    assert ":6:" in err
    assert "E401" in err
    assert json.loads(out)["policy"] == "email-and-web"


def test_cli_broken_policies_exit_2(run_cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "version: 1\npolicies:\n  - name: x\n    calendr: 24x7\n    metrics:\n"
        "      first_response: {targets: 1h}\n",
        encoding="utf-8",
    )
    status, out, err = run_cli(
        "explain", "-p", str(broken), "-e", "examples/tickets.jsonl", "--ticket", "T-1001",
    )  # fmt: skip
    assert status == 2
    assert out == ""
    assert "E101 unknown key 'calendr'" in err


def test_cli_bad_time_zone(run_cli):
    status, _, err = run_cli(
        "explain", "-p", "policies/", "-e", "examples/tickets.jsonl", "--ticket", "T-1001",
        "--tz", "Europe/Berlln",
    )  # fmt: skip
    assert status == 2
    assert "--tz: unknown time zone 'Europe/Berlln'" in err
