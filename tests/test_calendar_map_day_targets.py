"""Calendar maps and working-day targets counted day by day (``day_targets``) together,
across the daylight-saving change of the chosen calendar's zone; in a policy and in an
agreement."""

from __future__ import annotations

from typing import Any

import pytest

import slaengine
from slaengine.calendar import format_utc
from slaengine.event_parsing import parse_event

# Berlin closes early on Fridays, so its days differ in length: plain working-day targets
# on this map are E215; day_targets count them day by day instead.
POLICIES = """\
version: 1
calendars:
  berlin:
    timezone: Europe/Berlin
    hours: {mon-thu: ["09:00-17:00"], fri: ["09:00-13:00"]}
  new-york: {timezone: America/New_York, hours: {mon-fri: ["09:00-17:00"]}}
calendar_maps:
  by-region:
    by: {field: region}
    map: {emea: berlin, amer: new-york}
    default: berlin
policies:
  - name: days
    calendar: by-region
    metrics:
      first_response: {targets: 2 working days, day_targets: end_of_working_day}
      resolution: {targets: 1 working day, day_targets: keep_time}
agreements:
  - name: tier2-ola
    match: {group: tier2}
    starts: created
    calendar: by-region
    metrics:
      resolution: {targets: 1 working day, day_targets: keep_time}
"""


def event(at: str, kind: str = "created", **attrs: Any) -> slaengine.Event:
    body: dict[str, Any] = {"ticket": "t1", "at": at, "type": kind, **attrs}
    if kind == "created":
        body.setdefault("channel", "email")
        body.setdefault("priority", "normal")
    return parse_event(body)


def clocks(created: str, region: str, now: str) -> dict[tuple[str | None, str], Any]:
    policies = slaengine.loads_policies(POLICIES, "p.yaml")
    events = [event(created, fields={"region": region}, group="tier2")]
    (result,) = slaengine.evaluate(policies, slaengine.build_timelines(events), event(now).at)
    return {(c.agreement, c.metric): c for c in result.clocks}


@pytest.mark.parametrize(
    ("created", "region", "now", "resolution_due", "resolution_target", "first_due"),
    [
        # Friday 15:00 EST; New York springs forward on Sunday 8 March. keep_time: Monday
        # at 15:00 EDT (19:00Z, not 20:00Z); the target is Friday's 2h and Monday's 6h.
        # end_of_working_day, 2 days: Friday and Monday, so Tuesday's closing, 17:00 EDT.
        pytest.param(
            "2026-03-06T20:00:00Z", "amer", "2026-03-09T18:00:00Z",
            "2026-03-09T19:00:00Z", 8 * 3600, "2026-03-10T21:00:00Z", id="new-york-spring",
        ),
        # The same instant in Berlin (still CET until 29 March): Friday 21:00 is after the
        # short Friday's close; keep_time's Monday 21:00 is capped at Monday's 17:00 CET.
        pytest.param(
            "2026-03-06T20:00:00Z", "emea", "2026-03-09T12:00:00Z",
            "2026-03-09T16:00:00Z", 8 * 3600, "2026-03-10T16:00:00Z", id="berlin-before",
        ),
        # Friday 27 March 10:00 CET; Berlin springs forward on Sunday 29 March: Monday at
        # 10:00 CEST (08:00Z); the target is the short Friday's 3h and Monday's 1h.
        pytest.param(
            "2026-03-27T09:00:00Z", "emea", "2026-03-30T07:00:00Z",
            "2026-03-30T08:00:00Z", 4 * 3600, "2026-03-31T15:00:00Z", id="berlin-spring",
        ),
        # Autumn: New York falls back on Sunday 1 November. Friday 30 October 16:00 EDT
        # (20:00Z) to Monday 16:00 EST (21:00Z).
        pytest.param(
            "2026-10-30T20:00:00Z", "amer", "2026-11-02T14:00:00Z",
            "2026-11-02T21:00:00Z", 8 * 3600, "2026-11-03T22:00:00Z", id="new-york-fall",
        ),
    ],
)  # fmt: skip
def test_a_mapped_calendar_counts_working_days_in_its_own_zone(
    created: str,
    region: str,
    now: str,
    resolution_due: str,
    resolution_target: int,
    first_due: str,
) -> None:
    found = clocks(created, region, now)
    calendar = "new-york" if region == "amer" else "berlin"
    for key in ((None, "resolution"), ("tier2-ola", "resolution")):
        clock = found[key]
        assert clock.calendar == calendar, key
        assert (format_utc(clock.due), clock.target, clock.state) == (
            resolution_due,
            resolution_target,
            "active",
        ), key
    first = found[(None, "first_response")]
    assert (first.calendar, format_utc(first.due)) == (calendar, first_due)


def test_without_day_targets_the_map_is_refused() -> None:
    plain = POLICIES.replace(", day_targets: keep_time", "").replace(
        ", day_targets: end_of_working_day", ""
    )
    with pytest.raises(slaengine.PolicyError) as caught:
        slaengine.loads_policies(plain, "p.yaml")
    assert "E215 working-day targets of first_response need a calendar" in str(caught.value)
    assert "the calendars of map 'by-region' differ" in str(caught.value)


def test_explain_says_which_map_entry_chose_the_agreements_calendar() -> None:
    from slaengine.explain import explain_ticket
    from slaengine.report.explain import explanation_to_dict

    policies = slaengine.loads_policies(POLICIES, "p.yaml")
    events = [event("2026-03-06T20:00:00Z", fields={"region": "amer"}, group="tier2")]
    timeline = slaengine.build_timelines(events).timelines["t1"]
    explanation = explain_ticket(policies, timeline, event("2026-03-09T18:00:00Z").at)
    calendars = {(info.agreement, metric): info for metric, info in explanation.calendars}
    ola = calendars[("tier2-ola", "resolution")]
    chosen = (
        "calendar map 'by-region': field 'region' = 'amer' (first value) -> 'new-york' "
        "(p.yaml:10:31)"
    )
    assert (ola.name, ola.chosen_by) == ("new-york", chosen)
    # JSON names the metric and its agreement as the clocks do, never a display label.
    rows = explanation_to_dict(explanation)["calendars"]
    assert [(row["metric"], row.get("agreement")) for row in rows] == [
        ("first_response", None),
        ("resolution", None),
        ("resolution", "tier2-ola"),
    ]
    assert rows[2]["chosen_by"] == chosen
    [clock] = [c for c in explanation.clocks if c.clock.agreement == "tier2-ola"]
    assert format_utc(clock.clock.due) == "2026-03-09T19:00:00Z"


def test_explain_terminal_titles_an_agreements_calendar_row(tmp_path, capsys) -> None:
    from slaengine.cli import main

    (tmp_path / "p.yaml").write_text(POLICIES, encoding="utf-8")
    (tmp_path / "e.jsonl").write_text(
        '{"ticket": "t1", "at": "2026-03-06T20:00:00Z", "type": "created", "channel": "email",'
        ' "priority": "normal", "group": "tier2", "fields": {"region": "amer"}}\n',
        encoding="utf-8",
    )
    args = ["explain", "-p", str(tmp_path / "p.yaml"), "-e", str(tmp_path / "e.jsonl")]
    assert main([*args, "-t", "t1", "--at", "2026-03-09T18:00:00Z"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "new-york" in line]
    assert any("tier2-ola: resolution" in row for row in rows)


def test_explain_names_a_working_day_target_beside_its_hours(tmp_path, capsys, monkeypatch) -> None:
    from slaengine.cli import main

    (tmp_path / "p.yaml").write_text(POLICIES, encoding="utf-8")
    (tmp_path / "e.jsonl").write_text(
        '{"ticket": "t1", "at": "2026-03-06T20:00:00Z", "type": "created", "channel": "email",'
        ' "priority": "normal", "fields": {"region": "amer"}}\n',
        encoding="utf-8",
    )
    args = ["explain", "-p", str(tmp_path / "p.yaml"), "-e", str(tmp_path / "e.jsonl")]
    monkeypatch.setenv("COLUMNS", "200")
    assert main([*args, "-t", "t1", "--at", "2026-03-09T18:00:00Z"]) == 0
    targets = [line for line in capsys.readouterr().out.splitlines() if "target " in line]
    assert any(
        "1 working day (day_targets: keep_time), for this clock 8h business time" in line
        for line in targets
    ), targets
    assert any(
        "2 working days (day_targets: end_of_working_day), for this clock" in line
        for line in targets
    ), targets
