"""Every reader of clock results handles a metric of any name like a built-in one.

A user-defined metric reaches the readers only as a name on its clock results. Here
``time_to_own`` is defined in the policy's YAML (from creation to the first assignment)
next to ``first_response`` fulfilled by the assignment, which measures the same: each
reader must show the metric it has never heard of with the built-in's figures. The
audit (JSON, terminal, HTML, breach CSV), scorecards, the evaluation table, JSON and
CSV, explain, whatif, policy tests, notifications and the plugins' messages are held
to that; a label a definition gives, and explain's words for stops and pauses the
engine records for YAML metrics, are checked on results built from the engine's.
(tests/test_metric_readers_e2e.py runs the commands themselves.)
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Sequence
from typing import Any

import pytest
from rich.console import Console

import slaengine
from slaengine.audit.accumulator import AuditAccumulator, LocalBuckets, views_for
from slaengine.audit.run import breach_rows
from slaengine.batches import BatchResult
from slaengine.clocks import BREACHED, ClockResult
from slaengine.engine import TicketResult, evaluate_timeline
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.explain_clock import explain_clock
from slaengine.metric_names import (
    instance_name,
    labels_of,
    metric_label,
    metric_words,
    ordered_metrics,
)
from slaengine.notifications import BREACH, reached
from slaengine.policy.model import PolicySet
from slaengine.policytest.parse import parse_test_text
from slaengine.policytest.run import run_case
from slaengine.report.audit import audit_renderable, audit_to_dict
from slaengine.report.csv import csv_lines
from slaengine.report.explain import explanation_renderables
from slaengine.report.html import render_html
from slaengine.report.json import ticket_to_dict
from slaengine.report.table import results_table
from slaengine.report.whatif import backtest_renderable, backtest_to_dict, flips_csv
from slaengine.timeline import Timeline
from slaengine.whatif import Backtest, Flip, compare_ticket

OWN = "time_to_own"
AT = "2025-12-01T16:00:00Z"
POLICY = """\
version: 1
metrics:
  time_to_own:
    description: From creation to the first assignment.
    start: created
    stop: assigned
policies:
  - name: desk
    calendar: 24x7
    metrics:
      first_response:
        targets: 1h
        fulfilled_by: assignment
        warn_at: [50%]
      time_to_own: {targets: 1h, warn_at: [50%]}
      resolution: {targets: 8h}
"""


def _ev(ticket: str, at: str, kind: str, **extra: object) -> dict[str, object]:
    return {"ticket": ticket, "at": f"2025-12-01T{at}:00Z", "type": kind, **extra}


# A: owned after 30 min (achieved). B: owned after 2h (breached), with an internal note
# before. C: never owned, still open at 16:00 (breached, running).
EVENTS = [
    _ev("A", "09:00", "created", channel="chat", priority="high", customer="ann"),
    _ev("A", "09:30", "update", assignee="jo"),
    _ev("A", "10:00", "message", author="agent", agent="jo"),
    _ev("A", "11:00", "status", status="solved"),
    _ev("B", "09:00", "created", channel="email", priority="normal", customer="bob"),
    _ev("B", "09:10", "message", author="agent", agent="kim", public=False),
    _ev("B", "11:00", "update", assignee="kim"),
    _ev("B", "12:00", "status", status="solved"),
    _ev("C", "06:00", "created", channel="email", priority="normal", customer="cy"),
]


def _timelines(events: Sequence[dict[str, object]]) -> dict[str, Timeline]:
    parsed = [parse_event(e, seq=i, line=i + 1) for i, e in enumerate(events)]
    return dict(slaengine.build_timelines(parsed).timelines)


def _labelled(label: str) -> PolicySet:
    """The policies with ``label: LABEL`` in ``time_to_own``'s YAML definition."""
    text = POLICY.replace("    start: created\n", f"    label: {label!r}\n    start: created\n")
    return slaengine.loads_policies(text, "p.yaml")


@pytest.fixture
def policies() -> PolicySet:
    return slaengine.loads_policies(POLICY, "p.yaml")


@pytest.fixture
def results(policies: PolicySet) -> list[TicketResult]:
    now = parse_instant(AT)
    out = []
    for timeline in _timelines(EVENTS).values():
        result = evaluate_timeline(policies, timeline, now, segments=True)
        assert result is not None
        out.append(result)
    return out


def _audit_doc(
    results: list[TicketResult],
    labels: dict[str, str] | None = None,
    by: tuple[str, ...] = ("metric",),
) -> dict[str, Any]:
    now = parse_instant(AT)
    audit = AuditAccumulator(LocalBuckets("UTC", "week"), views=views_for(by))
    timelines = _timelines(EVENTS)
    for result in results:
        audit.add_ticket(timelines[result.ticket], result, now)
    audit.compact()
    batch: BatchResult[Any] = BatchResult(results=[], lines=len(EVENTS), partitions=1)
    return audit_to_dict(audit, batch, source="events.jsonl", now=now, by=by, labels=labels)


def _text(*renderables: Any) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    for renderable in renderables:
        console.print(renderable)
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


# -- names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "labels", "label", "words"),
    [
        ("first_response", None, "First response", "first response"),
        ("resolution", None, "Resolution", "resolution"),
        ("time_to_own", None, "Time to own", "time to own"),
        ("tier2__time", None, "Tier2 time", "tier2 time"),
        ("time_to_own", {"time_to_own": "Ownership (L1)"}, "Ownership (L1)", "Ownership (L1)"),
    ],
    ids=["builtin", "builtin-one-word", "user", "user-double-underscore", "user-label"],
)
def test_metric_label_and_words(
    name: str, labels: dict[str, str] | None, label: str, words: str
) -> None:
    assert metric_label(name, labels) == label
    assert metric_words(name, labels) == words


def test_order_puts_builtins_first_then_user_metrics_by_name() -> None:
    names = ["tier2_time", "resolution", "agent_time", "first_response", "resolution"]
    assert ordered_metrics(names) == ["first_response", "resolution", "agent_time", "tier2_time"]


def test_instance_numbers_show_for_repeating_metrics_only() -> None:
    assert instance_name("next_response", 1) == "next_response #1"
    assert instance_name(OWN, 1) == OWN
    assert instance_name(OWN, 1, repeats=True) == f"{OWN} #1"
    assert instance_name(OWN, 2) == f"{OWN} #2"


def test_labels_come_from_the_definitions(policies: PolicySet) -> None:
    assert labels_of(policies) == {}
    labelled = _labelled(" Ownership ")
    assert labels_of(labelled) == {OWN: "Ownership"}
    assert labels_of(None) == {}


# -- audit -----------------------------------------------------------------------


def test_audit_json_counts_a_user_metric_like_a_builtin(results: list[TicketResult]) -> None:
    doc = _audit_doc(results)
    overall = doc["overall"]["metrics"]
    assert list(overall) == ["first_response", "resolution", OWN]
    # The same clocks under two names: the same figures.
    for key in ("achieved", "breached", "open", "breached_open", "compliance"):
        assert overall[OWN][key] == overall["first_response"][key], key
    assert (overall[OWN]["achieved"], overall[OWN]["breached"]) == (1, 2)
    assert (
        overall[OWN]["business_seconds"]["p50"]
        == overall["first_response"]["business_seconds"]["p50"]
    )
    assert overall[OWN]["business_seconds"]["count"] == 2  # A and B were owned
    assert [row["key"]["metric"] for row in doc["by_metric"]] == [
        "first_response",
        "resolution",
        OWN,
    ]
    assert {row["key"]["metric"] for row in doc["groups"]} == {"first_response", "resolution", OWN}
    assert [r["ticket"] for r in doc["worst_breaches"][OWN]] == ["C", "B"]
    assert doc["metric_labels"] == {
        "first_response": "First response",
        "resolution": "Resolution",
        OWN: "Time to own",
    }
    by_channel = {row["key"]["channel"]: row for row in doc["by_channel"]}
    assert by_channel["email"]["metrics"][OWN]["breached"] == 2
    cards = {card["agent"]: card for card in doc["scorecards"]["agent"]}
    assert cards["kim"]["achievement"][OWN]["breached"] == 1
    json.dumps(doc)  # JSON-ready


def test_audit_labels_from_the_definition(results: list[TicketResult]) -> None:
    doc = _audit_doc(results, labels={OWN: "Ownership"})
    assert doc["metric_labels"][OWN] == "Ownership"
    text = _text(audit_renderable(doc, 200))
    assert "Ownership achieved" in text
    html = render_html(doc, policies=["desk"])
    assert "Ownership achieved" in html
    assert "Ownership time, median" in html
    assert "Ownership: the 2 most overdue" in html


def test_audit_by_agreement_and_scorecards_read_the_labels(results: list[TicketResult]) -> None:
    doc = _audit_doc(results, labels={OWN: "Ownership"}, by=("agreement",))
    html = render_html(doc, policies=["desk"])
    section = html[html.index('<section id="agreements">') :]
    section = section[: section.index("</section>")]
    assert "Ownership" in section
    assert OWN not in section
    doc = _audit_doc(results, labels={OWN: "Ownership"}, by=("agent",))
    text = _text(audit_renderable(doc, 200))
    scorecard = text[text.index("Scorecard by agent") :]
    assert "Ownership met" in scorecard.splitlines()[1]


def test_audit_terminal_shows_a_user_metric(results: list[TicketResult]) -> None:
    text = _text(audit_renderable(_audit_doc(results, by=("channel", "metric")), 200))
    assert "Time to own achieved" in text
    # The headline, achievement by metric, the times table and the --by channel,metric
    # table (the last two: a row per channel).
    assert text.count("Time to own") == 1 + 1 + 2 + 2
    assert "email / Time to own" in text
    times = text[text.index("Response and resolution times by channel") :].split("\n\n")[0]
    assert "Time to own" in times
    assert "First response" in times
    assert OWN not in text


def test_audit_html_shows_a_user_metric(results: list[TicketResult]) -> None:
    html = render_html(_audit_doc(results), policies=["desk"])
    assert "Time to own achieved" in html
    assert "Time to own time, median" in html
    assert f'id="chart-times-{OWN}"' in html
    assert "Time to own: the 2 most overdue" in html


def test_breach_csv_rows_name_a_user_metric(results: list[TicketResult]) -> None:
    rows = [row for result in results for row in breach_rows(result)]
    owned = [row for row in rows if OWN in row]
    assert len(owned) == 2
    assert len(owned) == sum(1 for row in rows if "first_response" in row)


# -- evaluate output ------------------------------------------------------------


def test_evaluate_table_json_and_csv_name_a_user_metric(results: list[TicketResult]) -> None:
    text = _text(results_table(results, width=200))
    assert OWN in text
    assert f"{OWN} #" not in text
    doc = ticket_to_dict(results[0])
    assert OWN in [clock["metric"] for clock in doc["metrics"]]
    lines = list(csv_lines(results))
    assert sum(1 for line in lines if f",{OWN}," in line) == 3


def test_evaluate_table_numbers_a_user_metric_with_several_instances(
    results: list[TicketResult],
) -> None:
    first = results[0]
    own = next(c for c in first.clocks if c.metric == OWN)
    again = dataclasses.replace(first, clocks=(*first.clocks, dataclasses.replace(own, instance=2)))
    text = _text(results_table([again], width=200))
    assert f"{OWN} #1" in text
    assert f"{OWN} #2" in text
    assert "first_response #" not in text


def test_evaluate_table_shows_a_metric_name_as_written() -> None:
    clock = ClockResult("[bold]odd[/bold]", 1, BREACHED, 0, 10, None, None, 20, 0, 10, "high", "x")
    state = (
        slaengine.build_timelines(
            [
                parse_event(
                    {"ticket": "T", "at": AT, "type": "created", "channel": "c", "priority": "high"}
                )
            ]
        )
        .timelines["T"]
        .state_at(parse_instant(AT))
    )
    result = TicketResult("T", state, None, (clock,))
    assert "[bold]odd[/bold]" in _text(results_table([result], width=200))


# -- explain -----------------------------------------------------------------------


def _explained(results: list[TicketResult], ticket: str) -> Any:
    result = next(r for r in results if r.ticket == ticket)
    assert result.policy is not None
    clock = next(c for c in result.clocks if c.metric == OWN)
    metric = next(m for m in result.policy.metrics if m.kind == OWN)
    events = _timelines(EVENTS)[ticket].events
    return explain_clock(clock, metric, events, parse_instant(AT), result.policy)


def test_explain_a_user_metric_clock(results: list[TicketResult]) -> None:
    item = _explained(results, "A")
    assert item.stop_text == "fulfilled by the assignment to jo"
    assert sum(s.business for s in item.segments) == item.clock.elapsed == 1800


def test_explain_says_why_a_message_did_not_stop_a_user_metric(
    results: list[TicketResult],
) -> None:
    # B's internal note before the assignment: the built-in fulfilled by the assignment
    # and the YAML metric stopped by it say alike why it did not count, each in its
    # own setting's words, from the messages the engine recorded.
    item = _explained(results, "B")
    result = next(r for r in results if r.ticket == "B")
    assert result.policy is not None
    builtin = explain_clock(
        next(c for c in result.clocks if c.metric == "first_response"),
        result.policy.metrics[0],
        _timelines(EVENTS)["B"].events,
        parse_instant(AT),
        result.policy,
    )
    assert [n.render(str) for n in builtin.notes] == [
        f"agent internal note at {parse_instant('2025-12-01T09:10:00Z')} (line 6) does not "
        "count: the metric has fulfilled_by: assignment"
    ]
    assert [(n.code, n.render(str)) for n in item.notes] == [
        (
            "message_ignored",
            f"agent internal note at {parse_instant('2025-12-01T09:10:00Z')} (line 6) does "
            "not count: time_to_own has stop: assigned",
        )
    ]


def _stopped_by(results: list[TicketResult], event: dict[str, Any], **changes: Any) -> Any:
    """A's time_to_own clock explained as if ``event`` had stopped it (with ``changes``)."""
    result = next(r for r in results if r.ticket == "A")
    clock = next(c for c in result.clocks if c.metric == OWN)
    assert clock.record is not None
    assert result.policy is not None
    stop = parse_event({"ticket": "A", "at": "2025-12-01T09:30:00Z", **event})
    record = dataclasses.replace(clock.record, stop_event=stop)
    moved = dataclasses.replace(clock, record=record, **changes)
    metric = next(m for m in result.policy.metrics if m.kind == OWN)
    return explain_clock(moved, metric, _timelines(EVENTS)["A"].events, parse_instant(AT))


def _explanation(result: TicketResult, item: Any) -> Any:
    """An explanation of ``result``'s ticket showing the one clock ``item``."""
    from slaengine.explain import Explanation

    return Explanation(
        ticket=result.ticket, now=parse_instant(AT), created=item.clock.start, exists=True,
        state=result.state, policy=result.policy, checks=(), attribute_changes=(),
        selection_history=(), calendars=(), clocks=(item,), events=(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"group": "tier1"}, "fulfilled by the move to group tier1"),
        ({"status": "pending"}, "fulfilled by the status change to pending"),
        ({"tags": ["vip"]}, "fulfilled by the tags vip"),
        ({"fields": {"plan": "gold"}}, "fulfilled by the change of field plan"),
    ],
    ids=["group", "status", "tags", "field"],
)
def test_explain_words_any_stopping_change(
    results: list[TicketResult], change: dict[str, Any], text: str
) -> None:
    kind = "status" if "status" in change else "update"
    item = _stopped_by(results, {"type": kind, **change})
    assert item.stop_text == text


def test_explain_renders_a_user_metric_panel(results: list[TicketResult]) -> None:
    item = _explained(results, "A")
    result = next(r for r in results if r.ticket == "A")
    explanation = _explanation(result, item)
    text = _text(*explanation_renderables(explanation))
    assert f"{OWN} achieved" in text
    assert f"{OWN} #1" not in text


# -- whatif ------------------------------------------------------------------------


def test_whatif_compares_a_user_metric(results: list[TicketResult]) -> None:
    backtest = Backtest()
    for result in results:
        # After: time_to_own breached for A as well (a tighter target, say).
        after_clocks = tuple(
            dataclasses.replace(c, state=BREACHED) if c.metric == OWN else c for c in result.clocks
        )
        compare_ticket(result, dataclasses.replace(result, clocks=after_clocks), backtest)
    assert list(backtest.by(0)) == ["first_response", "resolution", OWN]
    own = backtest.by(0)[OWN]
    assert (own.old_met, own.old_breached, own.new_met, own.new_breached) == (1, 2, 0, 3)
    assert [(f.ticket, f.metric) for f in backtest.flips] == [("A", OWN)]
    doc = backtest_to_dict(backtest)
    assert doc["by_metric"][OWN]["new"]["breached"] == 3
    assert f"A,{OWN},1,achieved,breached,desk,desk" in flips_csv(backtest)
    text = _text(backtest_renderable(backtest, "old", "new"))
    # The terminal reads labels, like the audit: the name in words, built-ins by theirs.
    assert "│ Time to own │ 1 │" in text
    assert "│ First response " in text
    assert OWN not in text
    labelled = _text(backtest_renderable(backtest, "old", "new", labels_of(_labelled("Ownership"))))
    assert "│ Ownership │ 1 │" in labelled
    assert "│ Ownership " in labelled


def test_whatif_tables_fit_80_columns_with_a_long_label(results: list[TicketResult]) -> None:
    backtest = Backtest()
    for result in results:
        compare_ticket(result, dataclasses.replace(result), backtest)
    backtest.flips.append(
        Flip("A-with-a-long-ticket-id", OWN, 1, "achieved", "breached", "desk", "desk")
    )
    label = "Time from creation until a named agent owns the ticket"
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(backtest_renderable(backtest, "old", "new", {OWN: label}))
    out = console.file
    assert isinstance(out, io.StringIO)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    # A row is one line: the label gives way, cut with an ellipsis; figures, the ticket
    # id, the instance number and the outcome stay whole.
    (compared,) = [line for line in lines if line.startswith("│ Time from creation")]
    assert compared.rstrip().endswith("│  33.3% │ 33.3% │ +0.0 pts │   2 -> 2 │")
    assert "…" in compared
    (flipped,) = [line for line in lines if line.startswith("│ A-with")]
    assert "│ A-with-a-long-ticket-id │ Time from" in flipped
    assert "… │ 1 │ achieved -> breached │ desk" in flipped
    # Wider, the whole label shows, still on one line.
    wide = Console(file=io.StringIO(), width=120, color_system=None)
    wide.print(backtest_renderable(backtest, "old", "new", {OWN: label}))
    assert isinstance(wide.file, io.StringIO)
    text = wide.file.getvalue()
    assert f"│ {label} │" in text
    assert "…" not in text


# -- policy tests ----------------------------------------------------------------

CASE = """\
- name: owned within the hour
  timeline:
    - {ticket: T, at: "2025-12-01T09:00:00Z", type: created, channel: email, priority: high}
    - {at: +30m, type: update, assignee: jo}
  at: +2h
  expect:
    - {metric: time_to_own, state: achieved}
  absent: [time_to_awn]
"""


def test_policy_tests_accept_a_metric_the_policies_define(policies: PolicySet) -> None:
    _cases, problems = parse_test_text(CASE, "t.yaml", policies)
    # Only the misspelt name is unknown; the message lists the user metric too.
    assert [p.code for p in problems] == ["E101"]
    assert "unknown metric 'time_to_awn'" in problems[0].message
    assert "time_to_own" in problems[0].message
    assert "did you mean 'time_to_own'" in problems[0].message


def test_policy_tests_reject_a_user_metric_no_policy_defines() -> None:
    builtin_only = POLICY.replace("      time_to_own: {targets: 1h, warn_at: [50%]}\n", "")
    plain = slaengine.loads_policies(builtin_only, "p.yaml")
    assert OWN not in [m.kind for m in plain.policies[0].metrics]
    _, problems = parse_test_text(CASE.replace("  absent: [time_to_awn]\n", ""), "t.yaml", plain)
    assert [p.code for p in problems] == ["E101"]
    assert "unknown metric 'time_to_own'" in problems[0].message


def test_policy_tests_check_the_user_metric(policies: PolicySet) -> None:
    case = CASE.replace("  absent: [time_to_awn]\n", "")
    cases, problems = parse_test_text(case, "t.yaml", policies)
    assert problems == []
    assert [e.metric for e in cases[0].expectations] == [OWN]
    assert run_case(cases[0], policies).failures == ()
    cases, _ = parse_test_text(case.replace("state: achieved", "state: breached"), "t", policies)
    assert [f.message for f in run_case(cases[0], policies).failures] == [
        "metric time_to_own #1: state expected 'breached', got 'achieved'"
    ]


# -- notifications ---------------------------------------------------------------


def test_notifications_carry_a_user_metric(results: list[TicketResult]) -> None:
    from slaengine_email.message import text_body
    from slaengine_webhook.payload import slack_body, summary

    now = parse_instant(AT)
    c = next(r for r in results if r.ticket == "C")
    found = [n for n in reached(c, now) if n.metric == OWN]
    assert [(n.kind, n.level) for n in found] == [("warning", 1), (BREACH, 0)]
    breach = found[-1]
    assert breach.key == f"C/{OWN}/1/breach/0"
    assert breach.to_dict()["metric"] == OWN
    assert OWN in summary(breach)
    assert OWN in json.dumps(slack_body(breach, "ops"))
    assert OWN in text_body(breach, "ops@example.org", None)


def test_notifications_carry_the_label_a_definition_gives() -> None:
    from slaengine_email.config import Target
    from slaengine_email.message import subject, text_body
    from slaengine_webhook.payload import facts, slack_body, summary

    from slaengine.notifications import Notification, ticket_status

    labelled = _labelled("Ownership")
    now = parse_instant(AT)
    c = evaluate_timeline(labelled, _timelines(EVENTS)["C"], now)
    assert c is not None
    breach = next(n for n in reached(c, now) if n.metric == OWN and n.kind == BREACH)
    assert breach.metric_label == "Ownership"
    assert breach.metric_text == f"Ownership ({OWN})"
    data = breach.to_dict()
    assert data["metric_label"] == "Ownership"
    assert Notification.from_dict(json.loads(json.dumps(data))) == breach
    # A built-in metric without a label keeps its JSON as before: no metric_label key.
    builtin = next(n for n in reached(c, now) if n.metric == "first_response")
    assert "metric_label" not in builtin.to_dict()
    assert builtin.metric_text == "first_response"
    assert f"ticket C, Ownership ({OWN})," in summary(breach)
    assert f"Ownership `{OWN}`" in json.dumps(slack_body(breach, "ops"))
    assert ("Metric", f"Ownership ({OWN}) (clock 1)") in facts(breach, "ops")
    assert f"Ownership ({OWN})" in subject(breach, Target(name="ops", to=("ops@example.org",)))
    assert f"Ownership ({OWN}) (clock 1) under policy desk" in text_body(breach, "ops", None)
    status = ticket_status(c, now).to_dict()
    by_metric = {m["metric"]: m for m in status["metrics"]}
    assert by_metric[OWN]["metric_label"] == "Ownership"
    assert "metric_label" not in by_metric["first_response"]


@pytest.mark.parametrize(
    ("event", "text"),
    [
        ({"type": "message", "author": "customer"}, "cancelled by a customer message"),
        ({"type": "update", "group": "billing"}, "cancelled by the move to group billing"),
    ],
    ids=["customer-message", "group"],
)
def test_explain_words_a_cancelled_user_metric(
    results: list[TicketResult], event: dict[str, Any], text: str
) -> None:
    item = _stopped_by(results, event, stop_reason="cancelled", state="cancelled")
    assert item.stop_text == text


def test_explain_shows_the_condition_that_paused_a_clock(results: list[TicketResult]) -> None:
    from slaengine.explain_clock import PAUSED, Segment
    from slaengine.report.explain import explanation_to_dict

    item = _explained(results, "A")
    start = item.clock.start
    paused = Segment(PAUSED, start, start + 600, 0, 600, 0, None, None, "group: tier2")
    item = dataclasses.replace(item, segments=(paused, *item.segments))
    result = next(r for r in results if r.ticket == "A")
    explanation = _explanation(result, item)
    text = _text(*explanation_renderables(explanation))
    assert "while group: tier2; 10m open time paused" in text
    segment = explanation_to_dict(explanation)["metrics"][0]["segments"][0]
    assert (segment["status"], segment["condition"]) == (None, "group: tier2")
