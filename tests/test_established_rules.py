"""Clock rules of established help desks (issue 12), on the timelines their documentation
gives: Zammad's response and update time before the first reply, Znuny's update time,
a resolution that stops only at ``closed``.

Times are UTC on Monday 1 December 2025 on the 24x7 calendar unless a case says otherwise.
"""

from __future__ import annotations

import pytest

from slaengine.errors import PolicyError
from slaengine.policy import loads_policies
from test_semantics import clocks, event, policy, run, t


def at(hhmm: str) -> str:
    return f"2025-12-01T{hhmm}:00Z"


# -- before_first_reply -------------------------------------------------------

# Zammad Z-1: a customer email creates the ticket at 09:00, the customer writes again at
# 09:20, the agent's first email comes at 10:30.
Z1 = [
    event(at("09:00"), "created"),
    event(at("09:00"), "message", author="customer"),
    event(at("09:20"), "message", author="customer"),
    event(at("10:30"), "message", author="agent", agent="mia"),
]


def test_next_response_before_first_reply_counts_from_the_first_contact() -> None:
    text = policy(
        "",
        "first_response: {targets: 2h}\nnext_response: {targets: 1h, before_first_reply: measured}",
    )
    found = clocks(run(text, Z1, at("11:00")))
    nr = found["next_response", 1]
    assert (nr.start, nr.due, nr.stop, nr.elapsed, nr.state) == (
        t(at("09:00")),
        t(at("10:00")),
        t(at("10:30")),
        5400,
        "breached",
    )
    fr = found["first_response", 1]
    assert (fr.elapsed, fr.state) == (5400, "achieved")
    assert ("next_response", 2) not in found


def test_next_response_default_waits_for_the_first_reply() -> None:
    text = policy("", "first_response: {targets: 2h}\nnext_response: {targets: 1h}")
    assert ("next_response", 1) not in clocks(run(text, Z1, at("11:00")))


# Zammad Z-2: update time 60 min, first response 120 min, ticket at 09:00 without a reply.
Z2 = [event(at("09:00"), "created"), event(at("09:00"), "message", author="customer")]


def test_periodic_update_before_first_reply_runs_from_creation() -> None:
    text = policy(
        "",
        "first_response: {targets: 2h}\n"
        "periodic_update: {targets: 1h, before_first_reply: measured}",
    )
    early = clocks(run(text, Z2, at("10:15")))
    pu = early["periodic_update", 1]
    assert (pu.start, pu.due, pu.state) == (t(at("09:00")), t(at("10:00")), "breached")
    assert early["first_response", 1].state == "active"  # due 11:00
    replied = [*Z2, event(at("10:30"), "message", author="agent", agent="mia")]
    later = clocks(run(text, replied, at("11:00")))
    first, second = later["periodic_update", 1], later["periodic_update", 2]
    assert (first.stop, first.state) == (t(at("10:30")), "breached")
    assert (second.start, second.due, second.state) == (
        t(at("10:30")),
        t(at("11:30")),
        "active",
    )


def test_periodic_update_default_starts_at_the_first_reply() -> None:
    text = policy("", "periodic_update: {targets: 1h}")
    assert clocks(run(text, Z2, at("10:15"))) == {}


def test_before_first_reply_on_a_ticket_created_solved_starts_nothing() -> None:
    events = [event(at("09:00"), "created", status="solved")]
    text = policy("", "periodic_update: {targets: 1h, before_first_reply: measured}")
    assert clocks(run(text, events, at("12:00"))) == {}


def located(text: str, token: str) -> tuple[int, int]:
    """1-based line and column of the first ``token`` in ``text``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if token in line:
            return number, line.index(token) + 1
    raise AssertionError(token)


@pytest.mark.parametrize(
    ("metric", "token", "code", "message"),
    [
        pytest.param(
            "first_response: {targets: 1h, before_first_reply: measured}",
            "before_first_reply",
            "E213",
            "'before_first_reply' does not apply to first_response; it is a rule of "
            "next_response, periodic_update",
            id="wrong-metric",
        ),
        pytest.param(
            "next_response: {targets: 1h, before_first_reply: yes}",
            "yes",
            "E214",
            "unknown value 'yes' for 'before_first_reply'; expected one of exempt, measured",
            id="bad-value",
        ),
    ],
)
def test_before_first_reply_mistakes(metric: str, token: str, code: str, message: str) -> None:
    text = policy("", metric)
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.source, problem.code, problem.message) == ("p.yaml", code, message)
    assert (problem.line, problem.column) == located(text, token)


def test_policies_md_before_first_reply_example() -> None:
    text = policy(
        "",
        "first_response: {targets: 2h}\n"
        "next_response: {targets: 1h, before_first_reply: measured}\n"
        "periodic_update: {targets: 1h, before_first_reply: measured}",
    )
    found = clocks(run(text, Z1, at("11:00")))
    table = {
        key: (c.start, c.due, c.stop, c.state)
        for key, c in found.items()
        if key[0] != "first_response"
    }
    assert table == {
        ("next_response", 1): (t(at("09:00")), t(at("10:00")), t(at("10:30")), "breached"),
        ("periodic_update", 1): (t(at("09:00")), t(at("10:00")), t(at("10:30")), "breached"),
        ("periodic_update", 2): (t(at("10:30")), t(at("11:30")), None, "active"),
    }
    fr = found["first_response", 1]
    assert (fr.due, fr.stop, fr.state) == (t(at("11:00")), t(at("10:30")), "achieved")


# -- end_2359 -------------------------------------------------------------------

ZAMMAD_DAY = """
calendars:
  zammad-office:
    timezone: UTC
    hours: {mon-fri: ["00:00-23:59"]}
    end_2359: %s
"""


@pytest.mark.parametrize(
    ("reading", "due"),
    [
        pytest.param("end_of_day", "2025-12-02T00:30:00Z", id="end-of-day"),
        pytest.param("literal", "2025-12-02T00:31:00Z", id="literal"),
    ],
)
def test_end_2359(reading: str, due: str) -> None:
    # Zammad Z-4: first response 60 min, ticket on Monday at 23:30.
    text = policy(
        "",
        "first_response: {targets: 1h}",
        calendar="zammad-office",
        head=ZAMMAD_DAY % reading,
    )
    events = [event(at("23:30"), "created")]
    fr = clocks(run(text, events, "2025-12-01T23:45:00Z"))["first_response", 1]
    assert fr.due == t(due)


def test_end_2359_bad_value() -> None:
    text = policy("", "first_response: {targets: 1h}", head=ZAMMAD_DAY % "midnight")
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == (
        "E214",
        "unknown value 'midnight' for 'end_2359'; expected one of literal, end_of_day",
    )
    assert (problem.line, problem.column) == located(text, "midnight")


# -- stops_at -------------------------------------------------------------------

# ServiceNow S-1: opened 09:00, Resolved 11:00, Closed 14:00, resolution target 4 h.
S1 = [
    event(at("09:00"), "created"),
    event(at("11:00"), "status", status="solved"),
    event(at("14:00"), "status", status="closed"),
]


@pytest.mark.parametrize(
    ("rules", "metric", "stop", "elapsed", "state"),
    [
        pytest.param("", "resolution: {targets: 4h}", "11:00", 7200, "achieved", id="default"),
        pytest.param(
            "",
            "resolution: {targets: 4h, stops_at: closed}",
            "14:00",
            18000,
            "breached",
            id="stops-at-closed",
        ),
        pytest.param(
            "semantics: servicenow-closed",
            "resolution: {targets: 4h}",
            "14:00",
            18000,
            "breached",
            id="preset",
        ),
        pytest.param(
            "semantics: servicenow-closed",
            "resolution: {targets: 4h, stops_at: solved}",
            "11:00",
            7200,
            "achieved",
            id="override-wins",
        ),
    ],
)
def test_resolution_stops_at(rules: str, metric: str, stop: str, elapsed: int, state: str) -> None:
    res = clocks(run(policy(rules, metric), S1, at("15:00")))["resolution", 1]
    assert (res.stop, res.elapsed, res.state) == (t(at(stop)), elapsed, state)


def test_stops_at_closed_runs_through_solved_and_a_reopen() -> None:
    events = [
        event(at("09:00"), "created"),
        event(at("10:00"), "status", status="solved"),
        event(at("10:30"), "status", status="open"),
        event(at("11:00"), "status", status="solved"),
    ]
    text = policy("", "resolution: {targets: 4h, stops_at: closed}")
    running = clocks(run(text, events, at("12:00")))["resolution", 1]
    assert (running.stop, running.elapsed, running.state, running.due) == (
        None,
        10800,
        "active",
        t(at("13:00")),
    )
    closed = [*events, event(at("12:30"), "status", status="closed")]
    res = clocks(run(text, closed, at("13:30")))["resolution", 1]
    assert (res.stop, res.elapsed, res.state) == (t(at("12:30")), 12600, "achieved")


def test_stops_at_closed_leaves_response_clocks_alone() -> None:
    events = [event(at("09:00"), "created"), event(at("10:00"), "status", status="solved")]
    text = policy("", "first_response: {targets: 4h}\nresolution: {targets: 4h, stops_at: closed}")
    found = clocks(run(text, events, at("12:00")))
    assert (found["first_response", 1].stop, found["first_response", 1].stop_reason) == (
        t(at("10:00")),
        "solved",
    )
    assert found["resolution", 1].state == "active"


def test_stops_at_on_another_metric_is_located() -> None:
    text = policy("", "first_response: {targets: 1h, stops_at: closed}")
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == (
        "E213",
        "'stops_at' does not apply to first_response; it is a rule of resolution",
    )
    assert (problem.line, problem.column) == located(text, "stops_at")


# -- misses ---------------------------------------------------------------------

# Chatwoot C-1: first reply 09:05; customer 09:10 and 09:20; next response 30 min, due
# 09:40; customer 09:50; agent reply 10:00.
C1 = [
    event(at("09:00"), "created"),
    event(at("09:00"), "message", author="customer"),
    event(at("09:05"), "message", author="agent"),
    event(at("09:10"), "message", author="customer"),
    event(at("09:20"), "message", author="customer"),
    event(at("09:50"), "message", author="customer"),
    event(at("10:00"), "message", author="agent"),
]


@pytest.mark.parametrize(
    ("rules", "metric", "now", "misses"),
    [
        pytest.param("", "{targets: 30m, misses: per_customer_message}", "09:30", 0, id="in-time"),
        pytest.param(
            "", "{targets: 30m, misses: per_customer_message}", "09:45", 1, id="first-miss"
        ),
        pytest.param(
            "", "{targets: 30m, misses: per_customer_message}", "09:55", 2, id="message-overdue"
        ),
        pytest.param("", "{targets: 30m, misses: per_customer_message}", "10:30", 2, id="stopped"),
        pytest.param("semantics: chatwoot", "{targets: 30m}", "10:30", 2, id="preset"),
        pytest.param("", "{targets: 30m}", "10:30", None, id="default-counts-none"),
    ],
)
def test_next_response_misses(rules: str, metric: str, now: str, misses: int | None) -> None:
    text = policy(rules, f"next_response: {metric}")
    found = clocks(run(text, C1, at(now)))
    nr = found["next_response", 1]
    assert (nr.start, nr.due) == (t(at("09:10")), t(at("09:40")))
    assert nr.misses == misses
    assert ("next_response", 2) not in found


def test_misses_in_json_output_only_when_counted() -> None:
    from slaengine.report.json import clock_to_dict

    counted = policy("semantics: chatwoot", "next_response: {targets: 30m}")
    [nr] = run(counted, C1, at("10:30")).clocks
    assert clock_to_dict(nr)["misses"] == 2
    plain = policy("", "next_response: {targets: 30m}")
    [nr] = run(plain, C1, at("10:30")).clocks
    assert "misses" not in clock_to_dict(nr)


def test_misses_on_another_metric_is_located() -> None:
    text = policy("", "resolution: {targets: 1h, misses: per_customer_message}")
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == (
        "E213",
        "'misses' does not apply to resolution; it is a rule of next_response",
    )
    assert (problem.line, problem.column) == located(text, "misses")


# -- start_delay (RT Starts) ----------------------------------------------------

RT_HOURS = """
calendars:
  rt-business:
    timezone: UTC
    hours: {mon-fri: ["09:00-18:00"]}
"""


@pytest.mark.parametrize(
    ("created", "rule", "start"),
    [
        # RT R-1: Starts => {BusinessMinutes => 60}.
        pytest.param("2025-12-01T08:00:00Z", "start_delay: 60m", "2025-12-01T10:00:00Z", id="mon"),
        pytest.param("2025-12-05T17:30:00Z", "start_delay: 60m", "2025-12-08T09:30:00Z", id="fri"),
        pytest.param("2025-12-01T10:00:00Z", "start_delay: 60m", "2025-12-01T11:00:00Z", id="open"),
        # No Starts: the first business minute.
        pytest.param(
            "2025-12-06T10:00:00Z",
            "starts: first_business_minute",
            "2025-12-08T09:00:00Z",
            id="default-starts",
        ),
        pytest.param("2025-12-01T08:00:00Z", "start_delay: 0m", "2025-12-01T08:00:00Z", id="zero"),
    ],
)
def test_start_delay_in_business_minutes(created: str, rule: str, start: str) -> None:
    text = policy(
        "", f"resolution: {{targets: 8h, calendar: 24x7, {rule}}}", "rt-business", RT_HOURS
    )
    res = clocks(run(text, [event(created, "created")], created))["resolution", 1]
    assert (res.start, res.due) == (t(start), t(start) + 8 * 3600)


def test_start_delay_reply_before_the_start_counts_nothing() -> None:
    text = policy("", "first_response: {targets: 1h, start_delay: 60m}", "rt-business", RT_HOURS)
    events = [
        event("2025-12-01T08:00:00Z", "created"),
        event("2025-12-01T09:30:00Z", "message", author="agent"),
    ]
    fr = clocks(run(text, events, "2025-12-01T12:00:00Z"))["first_response", 1]
    assert (fr.start, fr.stop, fr.elapsed, fr.state) == (
        t("2025-12-01T10:00:00Z"),
        t("2025-12-01T10:00:00Z"),
        0,
        "achieved",
    )


def test_rt_real_minute_response_counts_from_creation() -> None:
    # RT R-2: Response => {RealMinutes => 120}, created on Saturday 10:00 by the requestor:
    # due Saturday 12:00, whatever the Starts date.
    text = policy(
        "semantics: rt",
        "first_response: {targets: 2h, calendar: 24x7}",
        "rt-business",
        RT_HOURS,
    )
    events = [
        event("2025-12-06T10:00:00Z", "created"),
        event("2025-12-06T10:00:00Z", "message", author="customer"),
    ]
    fr = clocks(run(text, events, "2025-12-06T11:00:00Z"))["first_response", 1]
    assert (fr.start, fr.due) == (t("2025-12-06T10:00:00Z"), t("2025-12-06T12:00:00Z"))


@pytest.mark.parametrize(
    ("metric", "token", "code", "message"),
    [
        pytest.param(
            "next_response: {targets: 1h, start_delay: 60m}",
            "start_delay",
            "E213",
            "'start_delay' does not apply to next_response; it is a rule of first_response, "
            "resolution",
            id="wrong-metric",
        ),
        pytest.param(
            "resolution: {targets: 1h, start_delay: soon}",
            "soon",
            "E201",
            "bad 'start_delay': expected a duration like 90m, 2h or 1h30m, got 'soon'",
            id="bad-duration",
        ),
    ],
)
def test_start_delay_mistakes(metric: str, token: str, code: str, message: str) -> None:
    text = policy("", metric)
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == (code, message)
    assert (problem.line, problem.column) == located(text, token)


# -- assignment_counts (GLPI time to own) -----------------------------------------


@pytest.mark.parametrize(
    ("counts", "update", "stop", "taker"),
    [
        # GLPI G-5: a group assigned at 09:30 takes the ticket into account.
        pytest.param("[assignee, group]", {"group": "tier1"}, "09:30", "tier1", id="group"),
        pytest.param(
            "[assignee, field:supplier]",
            {"fields": {"supplier": "acme"}},
            "09:30",
            "acme",
            id="supplier",
        ),
        pytest.param("[assignee, group]", {"assignee": "mia"}, "09:30", "mia", id="assignee"),
        pytest.param("[assignee]", {"group": "tier1"}, "10:00", "tom", id="default-not-group"),
    ],
)
def test_assignment_counts(counts: str, update: dict[str, object], stop: str, taker: str) -> None:
    text = policy(
        "",
        f"first_response: {{targets: 4h, fulfilled_by: assignment, assignment_counts: {counts}}}",
    )
    events = [
        event(at("09:00"), "created"),
        event(at("09:30"), "update", **update),
        event(at("10:00"), "update", assignee="tom"),
    ]
    fr = clocks(run(text, events, at("11:00")))["first_response", 1]
    assert (fr.stop, fr.agent, fr.state) == (t(at(stop)), taker, "achieved")


def test_assignment_counts_at_creation() -> None:
    text = policy("semantics: glpi", "first_response: {targets: 4h}")
    events = [event(at("09:00"), "created", group="tier1")]
    fr = clocks(run(text, events, at("11:00")))["first_response", 1]
    assert (fr.stop, fr.elapsed, fr.agent) == (t(at("09:00")), 0, "tier1")


@pytest.mark.parametrize(
    ("metric", "token", "code", "message"),
    [
        pytest.param(
            "first_response: {targets: 1h, fulfilled_by: assignment, assignment_counts: [team]}",
            "team",
            "E214",
            "unknown value 'team' in 'assignment_counts'; expected assignee, group or "
            "field:NAME (a custom field, like field:supplier)",
            id="bad-value",
        ),
        pytest.param(
            "first_response: {targets: 1h, assignment_counts: [group]}",
            "assignment_counts",
            "E213",
            "'assignment_counts' says what takes a ticket under 'fulfilled_by: assignment'; "
            "first_response is not fulfilled by an assignment here",
            id="without-assignment",
        ),
        pytest.param(
            "resolution: {targets: 1h, assignment_counts: [group]}",
            "assignment_counts",
            "E213",
            "'assignment_counts' does not apply to resolution; it is a rule of first_response",
            id="wrong-metric",
        ),
    ],
)
def test_assignment_counts_mistakes(metric: str, token: str, code: str, message: str) -> None:
    text = policy("", metric)
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == (code, message)
    assert (problem.line, problem.column) == located(text, token)


# -- glpi preset: due at closing is the next opening --------------------------------

GLPI_HOURS = """
calendars:
  glpi-office:
    timezone: UTC
    hours: {mon-fri: ["08:00-18:00"], sat: ["09:00-12:00"]}
"""


def test_glpi_deadline_at_closing_is_the_next_opening() -> None:
    # GLPI G-3: time to own 2 h, opened Monday 16:00: due Tuesday 08:00, not Monday 18:00.
    text = policy("semantics: glpi", "first_response: {targets: 2h}", "glpi-office", GLPI_HOURS)
    events = [event(at("16:00"), "created")]
    fr = clocks(run(text, events, at("17:00")))["first_response", 1]
    assert fr.due == t("2025-12-02T08:00:00Z")
    plain = policy("", "first_response: {targets: 2h}", "glpi-office", GLPI_HOURS)
    assert clocks(run(plain, events, at("17:00")))["first_response", 1].due == t(at("18:00"))


# -- warn_at: before (GLPI levels before the due date) ------------------------------


def test_warning_before_the_target() -> None:
    # GLPI G-4: no calendar; time to resolve 24 h, opened Monday 09:00, due Tuesday 09:00;
    # a level at -8 h runs Tuesday 01:00 (66.7 % of the target).
    text = policy(
        "",
        "resolution:\n  targets: 24h\n"
        "  warn_at: [{before: 8h, notify: [lead]}, {before: 12h, notify: [team]}]",
    )
    res = clocks(run(text, [event(at("09:00"), "created")], at("10:00")))["resolution", 1]
    assert [(a.kind, a.level, a.at, a.notify) for a in res.alerts] == [
        ("warning", 1, t("2025-12-01T21:00:00Z"), ("team",)),
        ("warning", 2, t("2025-12-02T01:00:00Z"), ("lead",)),
    ]


def test_warning_before_counts_business_time() -> None:
    # 4 h on GLPI's office calendar, opened Friday 09:00, pending 10:00-10:30: due 13:30;
    # a warning 1 h before it comes at 12:30, after the pause like the due.
    text = policy(
        "",
        "resolution: {targets: 4h, warn_at: [{before: 1h}], pause_when: [pending]}",
        "glpi-office",
        GLPI_HOURS,
    )
    events = [
        event("2025-12-05T09:00:00Z", "created"),
        event("2025-12-05T10:00:00Z", "status", status="pending"),
        event("2025-12-05T10:30:00Z", "status", status="open"),
    ]
    res = clocks(run(text, events, "2025-12-05T11:00:00Z"))["resolution", 1]
    [warning] = res.alerts
    assert (res.due, warning.at) == (t("2025-12-05T13:30:00Z"), t("2025-12-05T12:30:00Z"))


@pytest.mark.parametrize(
    ("warn_at", "token", "message"),
    [
        pytest.param(
            "[{before: 4h}]",
            "4h",
            "a warning 4h before the target needs every target to be longer; the shortest is 4h",
            id="not-shorter",
        ),
        pytest.param(
            "[80%, {before: 1h}]",
            "80%",
            "warnings of one metric are all shares of the target ('at') or all offsets before "
            "it ('before'); got '80%' among offsets",
            id="mixed",
        ),
        pytest.param(
            "[{before: 1h, at: 50%}]",
            "at:",
            "a warning has 'at' or 'before', not both",
            id="both",
        ),
    ],
)
def test_warning_before_mistakes(warn_at: str, token: str, message: str) -> None:
    text = policy(
        "",
        "resolution:\n  targets: {urgent: 4h, high: 8h, normal: 8h, low: 8h}\n"
        f"  warn_at: {warn_at}",
    )
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == ("E211", message)
    line = text.splitlines()[problem.line - 1]
    assert "warn_at" in line
    assert problem.column == line.rindex(token) + 1  # the last one: targets come first


# -- fmt keeps every new rule -------------------------------------------------------


def test_fmt_keeps_the_rules() -> None:
    from pathlib import Path

    from slaengine.policy.fmt import format_text

    source = Path(__file__).parent / "data" / "fmt" / "established_rules.yaml"
    text = source.read_text("utf-8")
    formatted = format_text(text)
    assert formatted != text  # the indentation was normalised

    def rules(document: str) -> list[tuple[object, ...]]:
        policies = loads_policies(document)
        office = policies.calendars["zammad-office"]
        return [
            (office.add(t(at("23:30")), 3600),),
            *(
                (
                    m.kind,
                    m.start_delay,
                    m.assignment_counts,
                    m.before_first_reply,
                    m.misses,
                    m.stops_at,
                    tuple(a.before for a in m.alerts),
                )
                for m in policies.policies[0].metrics
            ),
        ]

    found = rules(formatted)
    assert found == rules(text)
    assert found == [
        (t("2025-12-02T00:30:00Z"),),
        (
            "first_response",
            1800,
            ("assignee", "group", "field:supplier"),
            False,
            "once",
            "solved",
            (),
        ),
        ("next_response", 0, ("assignee",), True, "per_customer_message", "solved", ()),
        ("periodic_update", 0, ("assignee",), True, "once", "solved", ()),
        ("resolution", 0, ("assignee",), False, "once", "closed", (28800, 7200)),
    ]


# -- day_targets (GLPI "work in days") ------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "created", "days", "due"),
    [
        # GLPI G-1 (office Mon-Fri 08:00-18:00, Sat 09:00-12:00).
        ("keep_time", "2025-12-01T10:00:00Z", 2, "2025-12-03T10:00:00Z"),
        ("keep_time", "2025-12-05T10:00:00Z", 1, "2025-12-06T10:00:00Z"),
        ("keep_time", "2025-12-05T10:00:00Z", 2, "2025-12-08T10:00:00Z"),
        ("keep_time", "2025-12-05T14:00:00Z", 1, "2025-12-06T12:00:00Z"),  # Saturday ends 12:00
        ("keep_time", "2025-12-07T10:00:00Z", 1, "2025-12-09T08:00:00Z"),  # from Monday 08:00
        # GLPI G-2: the start's day counts as day 1; due at the next working day's end.
        ("end_of_working_day", "2025-12-01T10:00:00Z", 1, "2025-12-02T18:00:00Z"),
        ("end_of_working_day", "2025-11-30T10:00:00Z", 1, "2025-12-02T18:00:00Z"),
    ],
)
def test_day_targets(mode: str, created: str, days: int, due: str) -> None:
    text = policy(
        "",
        f"resolution: {{targets: {days} working days, day_targets: {mode}}}",
        "glpi-office",
        GLPI_HOURS,
    )
    res = clocks(run(text, [event(created, "created")], created))["resolution", 1]
    assert res.due == t(due)
    office = loads_policies(text).calendars["glpi-office"]
    assert res.target == office.between(t(created), t(due))


def test_day_targets_pause_moves_the_due() -> None:
    # Like GLPI's waiting time: 1 day from Monday 10:00 is Tuesday 10:00 (10 open hours);
    # pending 11:00-12:00 on Monday moves it by one open hour.
    text = policy(
        "",
        "resolution: {targets: 1 working day, day_targets: keep_time, pause_when: [pending]}",
        "glpi-office",
        GLPI_HOURS,
    )
    events = [
        event(at("10:00"), "created"),
        event(at("11:00"), "status", status="pending"),
        event(at("12:00"), "status", status="open"),
    ]
    res = clocks(run(text, events, at("13:00")))["resolution", 1]
    assert (res.target, res.due) == (36000, t("2025-12-02T11:00:00Z"))


def test_glpi_preset_accepts_day_targets_on_unequal_days() -> None:
    metric = "resolution: {targets: 1 working day}"
    with pytest.raises(PolicyError) as caught:
        loads_policies(policy("", metric, "glpi-office", GLPI_HOURS))
    assert [p.code for p in caught.value.problems] == ["E215"]
    text = policy("semantics: glpi", metric, "glpi-office", GLPI_HOURS)
    created = "2025-12-05T14:00:00Z"
    res = clocks(run(text, [event(created, "created")], created))["resolution", 1]
    assert (res.due, res.target) == (t("2025-12-06T12:00:00Z"), 4 * 3600 + 3 * 3600)


def test_day_targets_bad_value() -> None:
    text = policy("", "resolution: {targets: 1 working day, day_targets: calendar_days}")
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == (
        "E214",
        "unknown value 'calendar_days' for 'day_targets'; expected one of open_time, "
        "keep_time, end_of_working_day",
    )
    assert (problem.line, problem.column) == located(text, "calendar_days")


# -- escalations after N working days (GLPI level delays in days) ----------------------


@pytest.mark.parametrize(
    ("hours", "escalation_at"),
    [
        # GLPI G-4: 4 h from Friday 09:00 is due Friday 13:00; a level at +1 day runs Saturday
        # 13:00, no later than Saturday's last working hour (12:00) ...
        ('{mon-fri: ["08:00-18:00"], sat: ["09:00-12:00"]}', "2025-12-06T12:00:00Z"),
        # ... and on Monday 13:00 without Saturday hours.
        ('{mon-fri: ["08:00-18:00"]}', "2025-12-08T13:00:00Z"),
    ],
)
def test_escalation_after_working_days(hours: str, escalation_at: str) -> None:
    head = f"\ncalendars:\n  glpi-office:\n    timezone: UTC\n    hours: {hours}\n"
    text = policy(
        "",
        "resolution:\n  targets: 4h\n"
        "  escalations: [{after: 0m, notify: [lead]}, {after: 1 working day, notify: [boss]}]",
        "glpi-office",
        head,
    )
    res = clocks(run(text, [event("2025-12-05T09:00:00Z", "created")], "2025-12-05T14:00:00Z"))[
        "resolution", 1
    ]
    assert res.due == t("2025-12-05T13:00:00Z")
    assert [(a.level, a.at) for a in res.alerts] == [
        (1, t("2025-12-05T13:00:00Z")),
        (2, t(escalation_at)),
    ]


def test_escalation_after_working_days_not_reached_when_solved_before() -> None:
    text = policy("", "resolution: {targets: 1h, escalations: [{after: 1 working day}]}")
    events = [event(at("09:00"), "created"), event(at("11:00"), "status", status="solved")]
    [alert] = clocks(run(text, events, at("12:00")))["resolution", 1].alerts
    assert alert.at is None
    running = clocks(run(text, events[:1], at("12:00")))["resolution", 1]
    assert running.alerts[0].at == t("2025-12-02T10:00:00Z")


def test_escalation_in_working_days_before_one_in_time_is_refused() -> None:
    text = policy(
        "", "resolution: {targets: 1h, escalations: [{after: 1 working day}, {after: 2h}]}"
    )
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert problem.code == "E212"
    assert (problem.line, problem.column) == located(text, "2h}")
