"""Clock rules (docs/policies.md#clock-rules), one table of hand-worked instants per rule.

Unless a case says otherwise, tickets are created on Monday 1 December 2025 and
clocks run on the built-in 24x7 calendar; ``office`` is Berlin 09:00-17:00 on
weekdays (08:00-16:00 UTC in winter, 07:00-15:00 UTC in summer), closed on
24 December 2025.
"""

from __future__ import annotations

from typing import Any

import pytest

from slaengine import build_timelines, evaluate, parse_event
from slaengine.clocks import ClockResult
from slaengine.engine import TicketResult
from slaengine.errors import PolicyError
from slaengine.event_parsing import parse_instant
from slaengine.policy import loads_policies

OFFICE = """
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
    holidays: [2025-12-24]
"""


def policy(rules: str, metrics: str, calendar: str = "24x7", head: str = "") -> str:
    """A one-policy file; ``rules`` are policy keys, ``metrics`` the metrics block (YAML)."""
    indented = "\n".join("      " + line for line in metrics.strip().splitlines())
    keys = "\n".join("    " + line for line in rules.strip().splitlines() if line.strip())
    return (
        f"version: 1\n{head or OFFICE}\npolicies:\n  - name: p\n    calendar: {calendar}\n"
        f"{keys}\n    metrics:\n{indented}\n"
    )


def event(at: str, kind: str, **attributes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"ticket": "T", "at": at, "type": kind, **attributes}
    if kind == "created":
        found.setdefault("channel", "email")
        found.setdefault("priority", "normal")
    return found


def run(text: str, events: list[dict[str, Any]], at: str, **load: Any) -> TicketResult:
    policies = loads_policies(text, **load)
    timelines = build_timelines(parse_event(e, seq=i) for i, e in enumerate(events))
    [result] = evaluate(policies, timelines, parse_instant(at))
    return result


def clocks(result: TicketResult) -> dict[tuple[str, int], ClockResult]:
    return {(c.metric, c.instance): c for c in result.clocks}


def t(text: str) -> int:
    return parse_instant(text)


CREATED = event("2025-12-01T10:00:00Z", "created")


# -- fulfilled_by -------------------------------------------------------------

FULFILMENT_EVENTS = [
    CREATED,
    event("2025-12-01T10:00:05Z", "message", author="bot"),
    event("2025-12-01T10:05:00Z", "message", author="system", public=False),
    event("2025-12-01T10:20:00Z", "message", author="agent", public=False, agent="mia"),
    event("2025-12-01T10:30:00Z", "update", assignee="jonas"),
    event("2025-12-01T10:40:00Z", "message", author="agent", agent="lea"),
]


@pytest.mark.parametrize(
    ("rule", "stop", "elapsed", "who"),
    [
        pytest.param("public_agent", "2025-12-01T10:40:00Z", 2400, "lea", id="public-agent"),
        pytest.param("agent", "2025-12-01T10:20:00Z", 1200, "mia", id="agent-note-counts"),
        pytest.param("not_requester", "2025-12-01T10:00:05Z", 5, None, id="not-requester-bot"),
        pytest.param("any_outgoing", "2025-12-01T10:00:05Z", 5, None, id="any-outgoing"),
        pytest.param("assignment", "2025-12-01T10:30:00Z", 1800, "jonas", id="assignment"),
    ],
)
def test_fulfilled_by(rule: str, stop: str, elapsed: int, who: str | None) -> None:
    text = policy("", f"first_response: {{targets: 1h, fulfilled_by: {rule}}}")
    fr = clocks(run(text, FULFILMENT_EVENTS, "2025-12-01T12:00:00Z"))["first_response", 1]
    assert (fr.state, fr.stop, fr.elapsed, fr.agent) == ("achieved", t(stop), elapsed, who)


def test_not_requester_skips_internal_messages() -> None:
    events = [
        CREATED,
        event("2025-12-01T10:05:00Z", "message", author="system", public=False),
        event("2025-12-01T10:15:00Z", "message", author="system"),
    ]
    text = policy("", "first_response: {targets: 1h, fulfilled_by: not_requester}")
    fr = clocks(run(text, events, "2025-12-01T12:00:00Z"))["first_response", 1]
    assert (fr.stop, fr.elapsed) == (t("2025-12-01T10:15:00Z"), 900)


def test_assignment_at_creation_owns_at_once() -> None:
    events = [event("2025-12-01T10:00:00Z", "created", assignee="jonas")]
    text = policy("", "first_response: {targets: 1h, fulfilled_by: assignment}")
    fr = clocks(run(text, events, "2025-12-01T12:00:00Z"))["first_response", 1]
    assert (fr.state, fr.elapsed, fr.agent) == ("achieved", 0, "jonas")


def test_next_response_with_its_own_rule() -> None:
    """next_response starts only after a message that fulfils its own rule."""
    events = [
        CREATED,
        event("2025-12-01T10:10:00Z", "message", author="agent", public=False),
        event("2025-12-01T10:20:00Z", "message", author="customer"),
        event("2025-12-01T10:50:00Z", "message", author="agent", public=False),
    ]
    metrics = "next_response: {targets: 1h, fulfilled_by: agent}"
    nr = clocks(run(policy("", metrics), events, "2025-12-01T12:00:00Z"))["next_response", 1]
    assert (nr.start, nr.stop, nr.elapsed) == (
        t("2025-12-01T10:20:00Z"),
        t("2025-12-01T10:50:00Z"),
        1800,
    )
    default = run(policy("", "next_response: {targets: 1h}"), events, "2025-12-01T12:00:00Z")
    assert default.clocks == ()  # no public reply yet: the customer's wait is first_response's


# -- starts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "start"),
    [
        pytest.param("2025-12-06T10:00:00Z", "2025-12-08T08:00:00Z", id="saturday-to-monday"),
        pytest.param("2025-12-01T12:34:56Z", "2025-12-01T12:34:56Z", id="open-hours-unchanged"),
        pytest.param("2025-12-23T16:30:00Z", "2025-12-25T08:00:00Z", id="evening-before-holiday"),
        pytest.param("2026-03-28T12:00:00Z", "2026-03-30T07:00:00Z", id="over-spring-forward"),
        pytest.param("2025-12-01T16:00:00Z", "2025-12-02T08:00:00Z", id="exactly-at-closing"),
    ],
)
def test_starts_at_first_business_minute(created: str, start: str) -> None:
    """The clock counts real time (24x7) from the office's next opening."""
    text = policy(
        "",
        "first_response: {targets: 1h, calendar: 24x7, starts: first_business_minute}\n"
        "resolution: {targets: 8h, calendar: 24x7, starts: first_business_minute}",
        calendar="office",
    )
    result = run(text, [event(created, "created")], "2026-06-01T00:00:00Z")
    fr, res = clocks(result)["first_response", 1], clocks(result)["resolution", 1]
    assert fr.start == res.start == t(start)
    assert fr.due == t(start) + 3600
    assert res.due == t(start) + 8 * 3600


def test_reply_before_the_first_business_minute_takes_no_time() -> None:
    events = [
        event("2025-12-06T10:00:00Z", "created"),
        event("2025-12-07T10:00:00Z", "message", author="agent"),
    ]
    text = policy(
        "",
        "first_response: {targets: 1h, calendar: 24x7, starts: first_business_minute}",
        calendar="office",
    )
    fr = clocks(run(text, events, "2025-12-08T12:00:00Z"))["first_response", 1]
    assert (fr.state, fr.start, fr.stop, fr.elapsed) == (
        "achieved",
        t("2025-12-08T08:00:00Z"),
        t("2025-12-08T08:00:00Z"),
        0,
    )


# -- staff_created ------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "has_clock"),
    [
        pytest.param({"author": "agent"}, False, id="agent-opened"),
        pytest.param({"author": "customer"}, True, id="customer-opened"),
        pytest.param({"author": "agent", "public": False}, True, id="internal-note-first"),
    ],
)
def test_staff_created_exempt(first: dict[str, Any], has_clock: bool) -> None:
    events = [
        CREATED,
        event("2025-12-01T10:01:00Z", "message", **first),
        event("2025-12-01T10:02:00Z", "message", author="customer"),
    ]
    text = policy("", "first_response: {targets: 1h, staff_created: exempt}")
    result = run(text, events, "2025-12-01T12:00:00Z")
    assert (("first_response", 1) in clocks(result)) is has_clock


@pytest.mark.parametrize(
    ("opened_by", "first", "has_clock"),
    [
        # The created event's author settles it, whoever writes first.
        pytest.param("agent", {"author": "customer"}, False, id="agent-opened-customer-first"),
        pytest.param("system", None, False, id="system-opened-no-message-yet"),
        pytest.param("customer", {"author": "agent"}, True, id="customer-opened-agent-first"),
    ],
)
def test_staff_created_from_the_created_author(
    opened_by: str, first: dict[str, Any] | None, has_clock: bool
) -> None:
    events = [event("2025-12-01T10:00:00Z", "created", author=opened_by)]
    if first is not None:
        events.append(event("2025-12-01T10:01:00Z", "message", **first))
    text = policy("", "first_response: {targets: 1h, staff_created: exempt}")
    result = run(text, events, "2025-12-01T12:00:00Z")
    assert (("first_response", 1) in clocks(result)) is has_clock
    # Measured (the default), the clock is there either way.
    measured = run(policy("", "first_response: {targets: 1h}"), events, "2025-12-01T12:00:00Z")
    assert ("first_response", 1) in clocks(measured)


# -- follow-up timers ---------------------------------------------------------

FOLLOW_UP = [
    event("2025-12-01T09:00:00Z", "created"),
    event("2025-12-01T09:10:00Z", "message", author="agent", agent="lea"),
    event("2025-12-01T09:30:00Z", "message", author="customer"),
    event("2025-12-01T09:40:00Z", "message", author="customer"),
    event("2025-12-01T10:00:00Z", "message", author="agent", agent="lea"),
]


@pytest.mark.parametrize(
    ("counts_from", "start", "elapsed"),
    [
        pytest.param("oldest_unanswered", "2025-12-01T09:30:00Z", 1800, id="oldest-unanswered"),
        pytest.param("latest_customer_message", "2025-12-01T09:40:00Z", 1200, id="latest"),
    ],
)
def test_next_response_counts_from(counts_from: str, start: str, elapsed: int) -> None:
    text = policy("", f"next_response: {{targets: 1h, counts_from: {counts_from}}}")
    nr = clocks(run(text, FOLLOW_UP, "2025-12-01T12:00:00Z"))["next_response", 1]
    assert (nr.start, nr.elapsed, nr.state) == (t(start), elapsed, "achieved")


def test_keep_in_loop_hands_over_to_next_response() -> None:
    """A customer message ends the running update clock; the customer's wait takes over."""
    text = policy(
        "",
        "next_response: {targets: 1h}\n"
        "periodic_update: {targets: 2h, customer_message_stops: true}",
    )
    found = clocks(run(text, FOLLOW_UP, "2025-12-01T10:30:00Z"))
    pu1, pu2 = found["periodic_update", 1], found["periodic_update", 2]
    assert (pu1.state, pu1.stop_reason, pu1.elapsed) == ("cancelled", "superseded", 1200)
    assert (pu2.start, pu2.state, pu2.elapsed) == (t("2025-12-01T10:00:00Z"), "active", 1800)
    assert found["next_response", 1].elapsed == 1800
    plain = clocks(
        run(policy("", "periodic_update: {targets: 2h}"), FOLLOW_UP, "2025-12-01T10:30:00Z")
    )
    assert plain["periodic_update", 1].elapsed == 3000  # customer messages do not reset it


# -- when_solved and on_reopen -------------------------------------------------

SOLVE_REOPEN = [
    event("2025-12-01T09:00:00Z", "created"),
    event("2025-12-01T09:20:00Z", "status", status="solved"),
    event("2025-12-01T10:00:00Z", "status", status="open"),
    event("2025-12-01T10:30:00Z", "message", author="agent"),
]


def test_when_solved_pause_keeps_the_response_clock() -> None:
    text = policy("", "first_response: {targets: 1h, when_solved: pause}")
    fr = clocks(run(text, SOLVE_REOPEN, "2025-12-01T12:00:00Z"))["first_response", 1]
    assert (fr.state, fr.stop, fr.elapsed, fr.paused) == (
        "achieved",
        t("2025-12-01T10:30:00Z"),
        3000,
        2400,
    )
    assert fr.pauses == ((t("2025-12-01T09:20:00Z"), t("2025-12-01T10:00:00Z")),)
    default = run(policy("", "first_response: {targets: 1h}"), SOLVE_REOPEN, "2025-12-01T12:00:00Z")
    assert (default.clocks[0].state, default.clocks[0].elapsed) == ("cancelled", 1200)


def test_when_solved_pause_while_still_solved() -> None:
    text = policy("", "first_response: {targets: 1h, when_solved: pause}")
    fr = clocks(run(text, SOLVE_REOPEN[:2], "2025-12-01T09:50:00Z"))["first_response", 1]
    assert (fr.state, fr.elapsed, fr.due) == ("paused", 1200, None)


@pytest.mark.parametrize(
    ("on_reopen", "state", "elapsed", "stop"),
    [
        pytest.param("resume", "active", 6 * 3600, None, id="resume"),
        pytest.param("stays_met", "achieved", 5 * 3600, "2025-12-01T14:00:00Z", id="stays-met"),
    ],
)
def test_on_reopen(on_reopen: str, state: str, elapsed: int, stop: str | None) -> None:
    events = [
        event("2025-12-01T09:00:00Z", "created"),
        event("2025-12-01T14:00:00Z", "status", status="solved"),
        event("2025-12-01T16:00:00Z", "status", status="open"),
    ]
    text = policy("", f"resolution: {{targets: 8h, on_reopen: {on_reopen}}}")
    res = clocks(run(text, events, "2025-12-01T17:00:00Z"))["resolution", 1]
    assert (res.state, res.elapsed, res.stop) == (state, elapsed, None if stop is None else t(stop))


# -- hide_when ----------------------------------------------------------------

HIDDEN = [
    event("2025-12-01T09:00:00Z", "created"),
    event("2025-12-01T09:10:00Z", "message", author="agent"),
    event("2025-12-01T10:00:00Z", "status", status="on_hold"),
    event("2025-12-01T12:00:00Z", "status", status="open"),
]


@pytest.mark.parametrize(
    ("at", "state", "due", "elapsed"),
    [
        pytest.param("2025-12-01T11:00:00Z", "active", None, 6600, id="hidden-still-counting"),
        pytest.param("2025-12-01T11:30:00Z", "breached", None, 8400, id="hidden-breached"),
        pytest.param(
            "2025-12-01T12:30:00Z", "breached", "2025-12-01T11:10:00Z", 12000, id="shown-again"
        ),
    ],
)
def test_hide_when(at: str, state: str, due: str | None, elapsed: int) -> None:
    text = policy("", "periodic_update: {targets: 2h, hide_when: [on_hold]}")
    pu = clocks(run(text, HIDDEN, at))["periodic_update", 1]
    assert (pu.state, pu.due, pu.elapsed) == (state, None if due is None else t(due), elapsed)


# -- precision ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "precision", "elapsed", "state"),
    [
        pytest.param("2025-12-01T08:00:03Z", "seconds", 3, "achieved", id="3s-seconds"),
        pytest.param("2025-12-01T08:00:03Z", "minutes", 0, "achieved", id="3s-is-0-minutes"),
        pytest.param("2025-12-01T09:00:45Z", "seconds", 3645, "breached", id="45s-late"),
        pytest.param("2025-12-01T09:00:45Z", "minutes", 3600, "achieved", id="45s-within-minute"),
        pytest.param("2025-12-01T09:01:00Z", "minutes", 3660, "breached", id="a-minute-late"),
    ],
)
def test_precision(reply: str, precision: str, elapsed: int, state: str) -> None:
    """Created before opening (08:00 Berlin); counting starts at 09:00 Berlin (08:00Z)."""
    events = [
        event("2025-12-01T07:00:00Z", "created"),
        event(reply, "message", author="agent"),
    ]
    text = policy(f"precision: {precision}", "first_response: {targets: 1h}", calendar="office")
    fr = clocks(run(text, events, "2025-12-01T12:00:00Z"))["first_response", 1]
    assert (fr.elapsed, fr.state, fr.due) == (elapsed, state, t("2025-12-01T09:00:00Z"))


@pytest.mark.parametrize(
    ("precision", "elapsed", "paused"),
    [
        pytest.param("seconds", 2980, 620, id="seconds"),
        pytest.param("minutes", 3000, 600, id="pause-cut-at-minutes"),
    ],
)
def test_precision_cuts_pauses(precision: str, elapsed: int, paused: int) -> None:
    events = [
        event("2025-12-01T08:00:00Z", "created"),
        event("2025-12-01T08:10:30Z", "status", status="pending"),
        event("2025-12-01T08:20:50Z", "status", status="open"),
    ]
    text = policy(
        f"precision: {precision}",
        "resolution: {targets: 8h, pause_when: [pending]}",
        calendar="office",
    )
    res = clocks(run(text, events, "2025-12-01T09:00:00Z"))["resolution", 1]
    assert (res.elapsed, res.paused) == (elapsed, paused)


# -- due_at_closing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "created", "due"),
    [
        pytest.param("closing", "2025-12-01T15:00:00Z", "2025-12-01T16:00:00Z", id="closing"),
        pytest.param(
            "next_opening", "2025-12-01T15:00:00Z", "2025-12-02T08:00:00Z", id="next-opening"
        ),
        pytest.param(
            "next_opening", "2025-12-05T15:00:00Z", "2025-12-08T08:00:00Z", id="over-weekend"
        ),
        pytest.param(
            "next_opening", "2025-12-23T15:00:00Z", "2025-12-25T08:00:00Z", id="over-holiday"
        ),
        pytest.param(
            "next_opening", "2025-12-01T14:00:00Z", "2025-12-01T15:00:00Z", id="not-at-closing"
        ),
    ],
)
def test_due_at_closing(rule: str, created: str, due: str) -> None:
    text = policy(f"due_at_closing: {rule}", "first_response: {targets: 1h}", calendar="office")
    fr = clocks(run(text, [event(created, "created")], "2026-01-01T00:00:00Z"))["first_response", 1]
    assert fr.due == t(due)


# -- policy versioning --------------------------------------------------------

VERSIONED = """
version: 1
policies:
  - name: email-v2
    effective_from: 2025-12-01T12:00:00Z
    metrics: {first_response: {targets: 30m}}
  - name: email
    metrics: {first_response: {targets: 1h}}
"""


@pytest.mark.parametrize(
    ("created", "name", "target"),
    [
        pytest.param("2025-12-01T11:59:59Z", "email", 3600, id="before-keeps-old"),
        pytest.param("2025-12-01T12:00:00Z", "email-v2", 1800, id="from-change-new"),
    ],
)
def test_effective_from(created: str, name: str, target: int) -> None:
    result = run(VERSIONED, [event(created, "created")], "2025-12-02T00:00:00Z")
    assert result.policy is not None
    assert (result.policy.name, result.clocks[0].target) == (name, target)


# -- defaults are untouched -----------------------------------------------------


def test_rules_path_agrees_with_plain_path() -> None:
    """A rule that changes nothing here (hide_when on a status never used) gives the same clocks."""
    events = [
        *FOLLOW_UP,
        event("2025-12-01T10:10:00Z", "status", status="pending"),
        event("2025-12-01T10:50:00Z", "status", status="open"),
        event("2025-12-01T11:00:00Z", "message", author="customer"),
        event("2025-12-01T11:30:00Z", "status", status="solved"),
        event("2025-12-01T12:00:00Z", "status", status="open"),
    ]
    metrics = (
        "first_response: {targets: 1h}\nnext_response: {targets: 1h}\n"
        "periodic_update: {targets: 2h}\nresolution: {targets: 8h, pause_when: [pending]}"
    )
    plain = run(policy("", metrics), events, "2025-12-01T13:00:00Z")
    ruled_metrics = metrics.replace(
        "{targets: 1h}\nnext", "{targets: 1h, hide_when: [on_hold]}\nnext"
    )
    ruled = run(policy("", ruled_metrics), events, "2025-12-01T13:00:00Z")
    assert ruled.policy is not None
    assert ruled.policy.has_rules
    assert plain.policy is not None
    assert not plain.policy.has_rules
    assert ruled.clocks == plain.clocks


# -- custom match conditions ----------------------------------------------------

CONDITIONAL = """
version: 1
policies:
  - name: vip
    match: {conditions: [vip-customer]}
    metrics: {first_response: {targets: 15m}}
  - name: rest
    metrics: {first_response: {targets: 1h}}
"""


def _broken(_ticket: object) -> bool:
    raise RuntimeError("CRM down")


@pytest.mark.parametrize(
    ("condition", "customer", "name"),
    [
        pytest.param(lambda ticket: ticket.customer == "anna", "anna", "vip", id="holds"),
        pytest.param(lambda ticket: ticket.customer == "anna", "ben", "rest", id="does-not-hold"),
        pytest.param(_broken, "anna", "rest", id="raises-means-not-holding"),
    ],
)
def test_custom_conditions(condition: Any, customer: str, name: str) -> None:
    events = [event("2025-12-01T10:00:00Z", "created", customer=customer)]
    result = run(
        CONDITIONAL, events, "2025-12-01T11:00:00Z", conditions={"vip-customer": condition}
    )
    assert result.policy is not None
    assert result.policy.name == name


def test_custom_condition_reasons() -> None:
    policies = loads_policies(CONDITIONAL, conditions={"vip-customer": _broken})
    ticket = build_timelines([parse_event(event("2025-12-01T10:00:00Z", "created"))])
    state = ticket.timelines["T"].state_at(t("2025-12-01T10:00:00Z"))
    assert policies.policies[0].match.conditions(state) == [
        (False, "condition 'vip-customer' failed: RuntimeError: CRM down")
    ]


def test_unknown_condition_is_located() -> None:
    with pytest.raises(PolicyError) as caught:
        loads_policies(CONDITIONAL, "p.yaml", conditions={"vip-customers": lambda _t: True})
    assert [str(p) for p in caught.value.problems] == [
        "p.yaml:5:26: E307 unknown match condition 'vip-customer'; expected one of "
        "vip-customers; did you mean 'vip-customers'?"
    ]


# -- working days -------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "created", "targets", "priority", "seconds", "due"),
    [
        pytest.param(
            "office",
            "2025-12-01T09:00:00Z",
            "2 working days",
            "normal",
            16 * 3600,
            "2025-12-03T09:00:00Z",
            id="office-two-days-same-time",
        ),
        pytest.param(
            "office",
            "2025-12-23T09:00:00Z",
            "1wd",
            "normal",
            8 * 3600,
            "2025-12-25T09:00:00Z",
            id="office-over-holiday",
        ),
        pytest.param(
            "24x7",
            "2025-10-25T10:00:00Z",
            "1 working day",
            "normal",
            24 * 3600,
            "2025-10-26T10:00:00Z",
            id="24x7-real-day-over-fall-back",
        ),
        pytest.param(
            "office",
            "2025-12-01T09:00:00Z",
            "{urgent: 4h, high: 1 working day, normal: 2wd, low: 5 working days}",
            "low",
            40 * 3600,
            "2025-12-08T09:00:00Z",
            id="per-priority-mixed",
        ),
    ],
)
def test_working_day_targets(
    calendar: str, created: str, targets: str, priority: str, seconds: int, due: str
) -> None:
    text = policy("", f"resolution: {{targets: {targets}}}", calendar=calendar)
    result = run(text, [event(created, "created", priority=priority)], "2026-01-01T00:00:00Z")
    [res] = result.clocks
    assert (res.target, res.due) == (seconds, t(due))


def test_working_days_need_equal_days() -> None:
    head = """
calendars:
  short-saturday:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"], sat: ["09:00-13:00"]}
"""
    text = policy("", "resolution: {targets: 2 working days}", "short-saturday", head)
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert problem.code == "E215"
    assert "calendar 'short-saturday'" in problem.message


@pytest.mark.parametrize(
    ("text", "days"),
    [
        pytest.param("2 working days", 2, id="words"),
        pytest.param("1 Working Day", 1, id="singular-any-case"),
        pytest.param("3wd", 3, id="short"),
        pytest.param("2_working_days", 2, id="underscores"),
        pytest.param("2h", None, id="hours-are-not-days"),
        pytest.param("2 days", None, id="plain-days-still-refused-elsewhere"),
    ],
)
def test_parse_working_days(text: str, days: int | None) -> None:
    from slaengine.durations import parse_working_days

    assert parse_working_days(text) == days


def test_shipped_policies_take_the_plain_path() -> None:
    """The default semantics keep the fast clock path: no shipped policy has rules."""
    from pathlib import Path

    from slaengine.policy import load_policies

    root = Path(__file__).resolve().parent.parent
    for candidate in load_policies(root / "policies").policies:
        assert not candidate.has_rules, candidate.name


def test_not_yet_started_clock_with_a_pause_counts_due_from_its_start() -> None:
    events = [
        event("2025-12-06T10:00:00Z", "created"),  # Saturday
        event("2025-12-06T11:00:00Z", "status", status="pending"),
        event("2025-12-06T12:00:00Z", "status", status="open"),
    ]
    text = policy(
        "",
        "resolution: {targets: 8h, calendar: 24x7, starts: first_business_minute, "
        "pause_when: [pending]}",
        calendar="office",
    )
    res = clocks(run(text, events, "2025-12-07T10:00:00Z"))["resolution", 1]
    assert (res.start, res.elapsed, res.due, res.state) == (
        t("2025-12-08T08:00:00Z"),
        0,
        t("2025-12-08T16:00:00Z"),
        "active",
    )
