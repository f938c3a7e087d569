"""Named presets (``semantics: ...``): each one on a timeline that shows what it sets.

The expected numbers follow each help desk's documented behaviour (see
docs/migrating.md); a rule written in the policy always wins over the preset.
"""

from __future__ import annotations

from typing import Any

import pytest

from slaengine.errors import PolicyError
from slaengine.policy import loads_policies
from slaengine.policy.semantics import PRESETS
from test_semantics import clocks, event, policy, run, t

CREATED = event("2025-12-01T09:00:00Z", "created")


def test_every_preset_loads_and_is_documented() -> None:
    from pathlib import Path

    migrating = (Path(__file__).parent.parent / "docs" / "migrating.md").read_text("utf-8")
    for name in PRESETS:
        text = policy(f"semantics: {name}", "first_response: {targets: 1h}")
        assert loads_policies(text).policies[0].semantics == name
        assert f"`semantics: {name}`" in migrating


def test_preset_name_is_case_insensitive() -> None:
    text = policy("semantics: Zendesk", "first_response: {targets: 1h}")
    assert loads_policies(text).policies[0].semantics == "zendesk"


def test_unknown_preset() -> None:
    text = policy("semantics: zendsk", "first_response: {targets: 1h}")
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert problem.code == "E306"
    assert problem.message.endswith("did you mean 'zendesk'?")


# -- zendesk ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_author", "has_first_response"),
    [
        pytest.param("agent", False, id="agent-created"),
        pytest.param("customer", True, id="end-user"),
    ],
)
def test_zendesk_no_first_reply_on_agent_created(
    first_author: str, has_first_response: bool
) -> None:
    events = [CREATED, event("2025-12-01T09:00:00Z", "message", author=first_author)]
    text = policy("semantics: zendesk", "first_response: {targets: 1h}")
    assert (("first_response", 1) in clocks(run(text, events, "2025-12-01T12:00:00Z"))) is (
        has_first_response
    )


PENDING = [
    CREATED,
    event("2025-12-01T10:00:00Z", "status", status="pending"),
    event("2025-12-01T11:00:00Z", "status", status="open"),
]


@pytest.mark.parametrize(
    ("metric", "elapsed"),
    [
        pytest.param("resolution: {targets: 8h}", 7200, id="requester-wait-pauses-pending"),
        pytest.param("resolution: {targets: 8h, pause_when: []}", 10800, id="override-wins"),
    ],
)
def test_zendesk_requester_wait_time(metric: str, elapsed: int) -> None:
    res = clocks(run(policy("semantics: zendesk", metric), PENDING, "2025-12-01T12:00:00Z"))
    assert res["resolution", 1].elapsed == elapsed


# -- zammad -------------------------------------------------------------------


def test_zammad_whole_minutes_and_pending_pauses() -> None:
    events = [
        CREATED,
        event("2025-12-01T09:10:00Z", "status", status="pending"),
        event("2025-12-01T09:40:00Z", "status", status="open"),
        event("2025-12-01T09:50:59Z", "message", author="agent"),
    ]
    fr = clocks(
        run(
            policy("semantics: zammad", "first_response: {targets: 1h}"),
            events,
            "2025-12-01T12:00:00Z",
        )
    )
    first = fr["first_response", 1]
    # 10 min before the pause, 10 min 59 s after it: 20 whole minutes.
    assert (first.elapsed, first.paused, first.state) == (1200, 1800, "achieved")


def test_zammad_solution_stays_met_after_reopen() -> None:
    events = [
        CREATED,
        event("2025-12-01T10:00:00Z", "status", status="closed"),
        event("2025-12-01T11:00:00Z", "status", status="open"),
    ]
    res = clocks(
        run(
            policy("semantics: zammad", "resolution: {targets: 8h}"), events, "2025-12-01T12:00:00Z"
        )
    )
    solution = res["resolution", 1]
    assert (solution.state, solution.stop, solution.elapsed) == (
        "achieved",
        t("2025-12-01T10:00:00Z"),
        3600,
    )


ZAMMAD = (
    "first_response: {targets: 2h}\nnext_response: {targets: 1h}\nperiodic_update: {targets: 1h}"
)


def test_zammad_response_time_before_the_first_reply() -> None:
    # Zammad Z-1: customer email 09:00, customer again 09:20, agent email 10:30.
    events = [
        CREATED,
        event("2025-12-01T09:00:00Z", "message", author="customer"),
        event("2025-12-01T09:20:00Z", "message", author="customer"),
        event("2025-12-01T10:30:00Z", "message", author="agent"),
    ]
    found = clocks(run(policy("semantics: zammad", ZAMMAD), events, "2025-12-01T11:00:00Z"))
    response = found["next_response", 1]
    assert (response.start, response.due, response.stop, response.state) == (
        t("2025-12-01T09:00:00Z"),
        t("2025-12-01T10:00:00Z"),
        t("2025-12-01T10:30:00Z"),
        "breached",
    )
    assert found["first_response", 1].state == "achieved"  # due 11:00


def test_zammad_update_time_from_creation() -> None:
    # Zammad Z-2 (zammad#5177): update time 60 min overrules a 120 min first response.
    events = [CREATED, event("2025-12-01T09:00:00Z", "message", author="customer")]
    update = clocks(run(policy("semantics: zammad", ZAMMAD), events, "2025-12-01T10:05:00Z"))[
        "periodic_update", 1
    ]
    assert (update.start, update.due, update.state) == (
        t("2025-12-01T09:00:00Z"),
        t("2025-12-01T10:00:00Z"),
        "breached",
    )


def test_zammad_response_time_continues_after_a_reopen() -> None:
    # A closed period is a break for response time: the clock continues on reopen.
    events = [
        CREATED,
        event("2025-12-01T09:00:00Z", "message", author="customer"),
        event("2025-12-01T09:20:00Z", "status", status="closed"),
        event("2025-12-01T10:20:00Z", "status", status="open"),
    ]
    found = clocks(run(policy("semantics: zammad", ZAMMAD), events, "2025-12-01T10:30:00Z"))
    response = found["next_response", 1]
    assert (response.elapsed, response.paused, response.due, response.state) == (
        1800,
        3600,
        t("2025-12-01T11:00:00Z"),
        "active",
    )


# -- rt -------------------------------------------------------------------------


def test_rt_response_by_anyone_but_the_requestor_counted_from_creation() -> None:
    events = [
        event("2025-12-06T10:00:00Z", "created"),  # a Saturday
        event("2025-12-06T10:00:00Z", "message", author="customer"),
        event("2025-12-08T08:20:00Z", "message", author="bot"),
    ]
    text = policy("semantics: rt", "first_response: {targets: 1h}", calendar="office")
    fr = clocks(run(text, events, "2025-12-08T12:00:00Z"))["first_response", 1]
    # RT computes Response from the Create transaction; on business hours that counts
    # from Monday's opening (08:00Z) all the same: 20 minutes.
    assert (fr.start, fr.stop, fr.elapsed, fr.state) == (
        t("2025-12-06T10:00:00Z"),
        t("2025-12-08T08:20:00Z"),
        1200,
        "achieved",
    )


def test_rt_keep_in_loop_and_response() -> None:
    events = [
        CREATED,
        event("2025-12-01T09:10:00Z", "message", author="agent"),
        event("2025-12-01T09:30:00Z", "message", author="customer"),
        event("2025-12-01T09:40:00Z", "message", author="customer"),
        event("2025-12-01T10:00:00Z", "message", author="agent"),
    ]
    text = policy("semantics: rt", "next_response: {targets: 1h}\nperiodic_update: {targets: 2h}")
    found = clocks(run(text, events, "2025-12-01T10:30:00Z"))
    assert found["periodic_update", 1].stop_reason == "superseded"
    assert (found["next_response", 1].start, found["next_response", 1].elapsed) == (
        t("2025-12-01T09:30:00Z"),
        1800,
    )
    assert found["periodic_update", 2].start == t("2025-12-01T10:00:00Z")


# -- znuny ----------------------------------------------------------------------


ZNUNY = "next_response: {targets: 1h}\nperiodic_update: {targets: 1h}"
# Znuny N-1 (update time 60 min): the customer creates the ticket at 09:00 and writes at
# 09:20; the agent answers at 09:50; the customer writes at 10:00 and 10:10; an internal
# agent note at 10:15 changes nothing.
ZNUNY_N1 = [
    CREATED,
    event("2025-12-01T09:00:00Z", "message", author="customer"),
    event("2025-12-01T09:20:00Z", "message", author="customer"),
    event("2025-12-01T09:50:00Z", "message", author="agent"),
    event("2025-12-01T10:00:00Z", "message", author="customer"),
    event("2025-12-01T10:10:00Z", "message", author="customer"),
    event("2025-12-01T10:15:00Z", "message", author="agent", public=False),
]


def test_znuny_update_time_counts_from_the_oldest_customer_article() -> None:
    found = clocks(run(policy("semantics: znuny", ZNUNY), ZNUNY_N1, "2025-12-01T10:30:00Z"))
    first, second = found["next_response", 1], found["next_response", 2]
    # Before the first reply the update time runs from the oldest customer article.
    assert (first.start, first.due, first.stop) == (
        t("2025-12-01T09:00:00Z"),
        t("2025-12-01T10:00:00Z"),
        t("2025-12-01T09:50:00Z"),
    )
    # After the agent article: from the agent article, until the customer writes.
    update = found["periodic_update", 1]
    assert (update.start, update.stop, update.stop_reason) == (
        t("2025-12-01T09:50:00Z"),
        t("2025-12-01T10:00:00Z"),
        "superseded",
    )
    # Then from 10:00, the oldest of the trailing customer run (not 10:10).
    assert (second.start, second.due, second.state) == (
        t("2025-12-01T10:00:00Z"),
        t("2025-12-01T11:00:00Z"),
        "active",
    )
    assert ("periodic_update", 2) not in found


def test_znuny_pending_hides_the_update_time_without_pausing_it() -> None:
    events = [
        *ZNUNY_N1,
        event("2025-12-01T10:20:00Z", "status", status="pending"),
        event("2025-12-01T10:40:00Z", "status", status="open"),
    ]
    text = policy("semantics: znuny", ZNUNY)
    during = clocks(run(text, events[:-1], "2025-12-01T10:30:00Z"))["next_response", 2]
    assert (during.due, during.elapsed) == (None, 1800)
    after = clocks(run(text, events, "2025-12-01T10:45:00Z"))["next_response", 2]
    assert (after.due, after.elapsed) == (t("2025-12-01T11:00:00Z"), 2700)


def test_znuny_solution_time_is_met_at_the_first_close() -> None:
    events = [
        CREATED,
        event("2025-12-01T10:00:00Z", "status", status="closed"),
        event("2025-12-01T10:30:00Z", "status", status="open"),
        event("2025-12-01T13:00:00Z", "status", status="closed"),
    ]
    text = policy("semantics: znuny", "resolution: {targets: 2h}")
    res = clocks(run(text, events, "2025-12-01T14:00:00Z"))["resolution", 1]
    assert (res.stop, res.elapsed, res.state) == (t("2025-12-01T10:00:00Z"), 3600, "achieved")


# -- glpi -----------------------------------------------------------------------


def test_glpi_time_to_own_ignores_waiting_but_time_to_resolve_pauses() -> None:
    events = [
        CREATED,
        event("2025-12-01T09:30:00Z", "status", status="pending"),
        event("2025-12-01T10:30:00Z", "status", status="open"),
        event("2025-12-01T10:40:00Z", "message", author="agent"),
        event("2025-12-01T11:00:00Z", "update", assignee="tech1"),
    ]
    text = policy("semantics: glpi", "first_response: {targets: 4h}\nresolution: {targets: 8h}")
    found = clocks(run(text, events, "2025-12-01T12:00:00Z"))
    tto, ttr = found["first_response", 1], found["resolution", 1]
    assert (tto.stop, tto.elapsed, tto.paused, tto.agent) == (
        t("2025-12-01T11:00:00Z"),
        7200,
        0,
        "tech1",
    )
    assert (ttr.elapsed, ttr.paused) == (7200, 3600)


# -- chatwoot -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "elapsed"),
    [
        pytest.param("semantics: chatwoot", 1800, id="bots-do-not-count"),
        pytest.param("semantics: chatwoot\nbot_replies_count: true", 60, id="override"),
    ],
)
def test_chatwoot_bots(rules: str, elapsed: int) -> None:
    events: list[dict[str, Any]] = [
        CREATED,
        event("2025-12-01T09:01:00Z", "message", author="bot"),
        event("2025-12-01T09:30:00Z", "message", author="agent"),
    ]
    fr = clocks(run(policy(rules, "first_response: {targets: 1h}"), events, "2025-12-01T12:00:00Z"))
    assert fr["first_response", 1].elapsed == elapsed
