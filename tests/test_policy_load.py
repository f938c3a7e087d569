"""Loading policies: the shipped ones, the reference policy, every accepted syntax, selection."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slaengine import build_timelines, evaluate, parse_event
from slaengine.calendar import AlwaysOpen, Shift, WeeklyCalendar
from slaengine.errors import PolicyError
from slaengine.policy import PolicySet, load_policies, loads_policies, read_policies
from slaengine.timeline import TicketState

REPO_ROOT = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
H = 3600
M = 60

REFERENCE_POLICY = Path(__file__).resolve().parent / "data" / "policies" / "reference.yaml"


def _berlin(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=BERLIN).timestamp())  # type: ignore[misc]


def _indent(text: str, spaces: int) -> str:
    return textwrap.indent(textwrap.dedent(text).strip("\n"), " " * spaces)


@pytest.fixture
def reference_policies() -> PolicySet:
    """The reference policy (tests/data/policies/reference.yaml), loaded from a string."""
    return loads_policies(REFERENCE_POLICY.read_text(encoding="utf-8"), source="reference.yaml")


@pytest.fixture
def calendar_from_hours() -> Callable[..., WeeklyCalendar]:
    """Build a policy set around a calendar and return that calendar."""

    def build(hours: str, holidays: str = "") -> WeeklyCalendar:
        text = (
            "version: 1\ncalendars:\n  office:\n    timezone: Europe/Berlin\n    hours:\n"
            + _indent(hours, 6)
            + "\n"
            + (("    holidays:\n" + _indent(holidays, 6) + "\n") if holidays else "")
            + "policies:\n  - name: p\n    calendar: office\n"
            "    metrics:\n      first_response: {targets: 1h}\n"
        )
        calendar = loads_policies(text).calendars["office"]
        assert isinstance(calendar, WeeklyCalendar)
        return calendar

    return build


@pytest.fixture
def policies_with_match() -> Callable[[str], PolicySet]:
    """A one-policy set whose ``match`` is the given YAML flow mapping."""

    def build(match: str) -> PolicySet:
        return loads_policies(
            "version: 1\npolicies:\n  - name: matched\n"
            f"    match: {match}\n"
            "    metrics:\n      first_response: {targets: 1h}\n"
        )

    return build


@pytest.fixture
def make_ticket() -> Callable[..., TicketState]:
    """A ticket state with plain defaults, any attribute overridden."""

    def build(**overrides: object) -> TicketState:
        values: dict[str, object] = {
            "ticket": "T-1",
            "created": 0,
            "channel": "email",
            "priority": "normal",
            "status": "open",
            "customer": "anna",
            "group": "billing",
            "assignee": "jonas",
            "tags": frozenset({"vip", "de"}),
            "fields": {"tier": "gold", "seats": 12},
        }
        values.update(overrides)
        return TicketState(**values)  # type: ignore[arg-type]

    return build


# -- shipped and reference policies --------------------------------------------------------


def test_reference_policy_file_loads_from_disk() -> None:
    policies = load_policies(REFERENCE_POLICY)
    assert [p.name for p in policies.policies] == ["social-messaging", "email"]
    assert policies.sources == (str(REFERENCE_POLICY),)


def test_shipped_policies_load_in_file_order() -> None:
    policies = load_policies(REPO_ROOT / "policies")
    assert [p.name for p in policies.policies] == [
        "urgent-any-channel",
        "social-messaging",
        "live-chat",
        "phone",
        "americas-email-web",
        "email-and-web",
    ]
    assert set(policies.calendars) == {"24x7", "office-berlin", "office-new-york", "phone-lines"}
    assert [Path(s).name for s in policies.sources] == ["support.yaml"]


def test_shipped_berlin_calendar_is_closed_on_public_and_office_holidays() -> None:
    calendar = load_policies(REPO_ROOT / "policies").calendars["office-berlin"]
    assert calendar.is_open(_berlin(2025, 12, 2, 10, 0))
    assert not calendar.is_open(_berlin(2025, 12, 24, 10, 0))  # office holiday
    assert not calendar.is_open(_berlin(2025, 10, 3, 10, 0))  # German Unity Day (DE)
    assert not calendar.is_open(_berlin(2027, 3, 8, 10, 0))  # Women's Day (Berlin only)


def test_reference_policy_loads_with_its_targets(reference_policies: PolicySet) -> None:
    social, email = reference_policies.policies
    assert (social.name, email.name) == ("social-messaging", "email")
    assert social.match.channel == frozenset({"whatsapp", "messenger", "instagram", "twitter"})
    assert isinstance(social.calendar, AlwaysOpen)
    assert social.bot_replies_count is False
    assert [m.kind for m in social.metrics] == ["first_response", "next_response", "resolution"]
    assert dict(social.metrics[0].targets) == {
        "urgent": 15 * M,
        "high": 30 * M,
        "normal": H,
        "low": 4 * H,
    }
    assert social.metrics[2].pause_when == frozenset({"pending", "on_hold"})
    assert email.match.is_catch_all
    assert email.calendar.name == "office-berlin"
    assert [m.kind for m in email.metrics] == ["first_response", "periodic_update", "resolution"]
    assert email.metrics[1].target_for("low") == 40 * H
    assert email.metrics[1].pause_when == frozenset({"pending"})


def test_reference_calendar_hours_and_holidays(reference_policies: PolicySet) -> None:
    calendar = reference_policies.calendars["office-berlin"]
    assert isinstance(calendar, WeeklyCalendar)
    assert calendar.timezone == "Europe/Berlin"
    assert calendar.holidays == frozenset({dt.date(2025, 12, 24), dt.date(2025, 12, 31)})
    assert calendar.shifts[0] == (Shift(540, 1020),)
    assert calendar.shifts[5] == calendar.shifts[6] == ()


def test_metric_locations_point_at_their_keys(reference_policies: PolicySet) -> None:
    email = reference_policies.by_name("email")
    location = email.metrics[0].location
    assert location is not None
    assert (location.source, location.line, location.column) == ("reference.yaml", 28, 7)


# -- calendars -----------------------------------------------------------------------------

WEEKDAY_9_TO_5 = (Shift(540, 1020),)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        pytest.param(
            'mon-fri: ["09:00-17:00"]',
            {0: WEEKDAY_9_TO_5, 4: WEEKDAY_9_TO_5, 5: (), 6: ()},
            id="mon-fri-range",
        ),
        pytest.param(
            'fri-mon: ["10:00-12:00"]',
            {4: (Shift(600, 720),), 5: (Shift(600, 720),), 0: (Shift(600, 720),), 1: ()},
            id="range-wrapping-the-weekend",
        ),
        pytest.param(
            'mon: ["08:00-12:00", "13:00-18:00"]',
            {0: (Shift(480, 720), Shift(780, 1080))},
            id="split-shift",
        ),
        pytest.param(
            'mon: ["13:00-18:00", "08:00-12:00"]',
            {0: (Shift(480, 720), Shift(780, 1080))},
            id="split-shift-given-out-of-order",
        ),
        pytest.param('mon: ["22:00-06:00"]', {0: (Shift(1320, 1800),)}, id="overnight"),
        pytest.param('sun: ["00:00-24:00"]', {6: (Shift(0, 1440),)}, id="until-24:00"),
        pytest.param('mon: ["9:30 - 17:00"]', {0: (Shift(570, 1020),)}, id="one-digit-hour-spaces"),
        pytest.param('tue: "09:00-17:00"', {1: WEEKDAY_9_TO_5}, id="single-interval-no-list"),
        pytest.param('Mon: ["09:00-17:00"]', {0: WEEKDAY_9_TO_5}, id="capitalised-day"),
        pytest.param(
            'mon-tue: ["09:00-17:00"]\nwed: closed\nthu-fri: ["09:00-17:00"]',
            {1: WEEKDAY_9_TO_5, 2: (), 3: WEEKDAY_9_TO_5},
            id="closed-day-between-ranges",
        ),
    ],
)
def test_hours_syntax_variants(
    calendar_from_hours: Callable[..., WeeklyCalendar],
    hours: str,
    expected: dict[int, tuple[Shift, ...]],
) -> None:
    calendar = calendar_from_hours(hours)
    for day, shifts in expected.items():
        assert calendar.shifts[day] == shifts


@pytest.mark.parametrize(
    "closed",
    [
        pytest.param("closed", id="closed"),
        pytest.param("null", id="null"),
        pytest.param("[]", id="empty-list"),
    ],
)
def test_a_day_can_be_closed(
    calendar_from_hours: Callable[..., WeeklyCalendar], closed: str
) -> None:
    calendar = calendar_from_hours(f'mon: {closed}\ntue: ["09:00-17:00"]')
    assert calendar.shifts[0] == ()
    assert calendar.shifts[1] == WEEKDAY_9_TO_5


def test_overnight_interval_is_open_after_midnight(
    calendar_from_hours: Callable[..., WeeklyCalendar],
) -> None:
    calendar = calendar_from_hours('mon: ["22:00-06:00"]')
    assert calendar.is_open(_berlin(2025, 12, 2, 3, 0))  # Tuesday 03:00
    assert not calendar.is_open(_berlin(2025, 12, 2, 7, 0))
    assert calendar.between(_berlin(2025, 12, 1, 0, 0), _berlin(2025, 12, 3, 0, 0)) == 8 * H


@pytest.mark.parametrize(
    ("holidays", "closed_dates"),
    [
        pytest.param('["2025-12-24", 2025-12-31]', {"2025-12-24", "2025-12-31"}, id="dates"),
        pytest.param(
            "- {date: 2025-12-24, name: Christmas Eve}", {"2025-12-24"}, id="date-with-name"
        ),
        pytest.param(
            "- {from: 2025-12-29, to: 2025-12-31}",
            {"2025-12-29", "2025-12-30", "2025-12-31"},
            id="from-to-range",
        ),
        pytest.param("- {country: DE}", {"2025-10-03", "2025-12-25"}, id="country"),
        pytest.param("- {country: de, subdivision: be}", {"2027-03-08"}, id="country-subdivision"),
    ],
)
def test_holiday_forms_close_the_calendar(
    calendar_from_hours: Callable[..., WeeklyCalendar], holidays: str, closed_dates: set[str]
) -> None:
    calendar = calendar_from_hours('mon-fri: ["09:00-17:00"]', holidays)
    for text in closed_dates:
        day = dt.date.fromisoformat(text)
        assert not calendar.is_open(_berlin(day.year, day.month, day.day, 10, 0)), text
    assert calendar.is_open(_berlin(2025, 12, 23, 10, 0))


def test_holiday_subdivision_is_matched_case_insensitively(
    calendar_from_hours: Callable[..., WeeklyCalendar],
) -> None:
    calendar = calendar_from_hours('mon-fri: ["09:00-17:00"]', "- {country: DE, subdivision: be}")
    assert [repr(p) for p in calendar.holiday_providers] == ["holidays(DE-BE)"]


def test_country_without_subdivision_keeps_regional_holidays_open(
    calendar_from_hours: Callable[..., WeeklyCalendar],
) -> None:
    calendar = calendar_from_hours('mon-fri: ["09:00-17:00"]', "- {country: DE}")
    assert calendar.is_open(_berlin(2027, 3, 8, 10, 0))  # Women's Day is Berlin only


# -- targets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        pytest.param("15m", 15 * M, id="minutes"),
        pytest.param("2h", 2 * H, id="hours"),
        pytest.param("1h30m", 90 * M, id="hours-and-minutes"),
        pytest.param("90min", 90 * M, id="min-suffix"),
        pytest.param("45s", 45, id="seconds"),
        pytest.param("90", 90 * M, id="bare-integer-minutes"),
        pytest.param('"90"', 90 * M, id="quoted-integer-minutes"),
        pytest.param("1h 30m", 90 * M, id="with-space"),
    ],
)
def test_one_duration_for_all_priorities(written: str, seconds: int) -> None:
    policies = loads_policies(
        "version: 1\npolicies:\n  - name: p\n    metrics:\n"
        f"      first_response: {{targets: {written}}}\n"
    )
    assert dict(policies.policies[0].metrics[0].targets) == dict.fromkeys(
        ("urgent", "high", "normal", "low"), seconds
    )


def test_metric_calendar_overrides_the_policy_calendar() -> None:
    policies = loads_policies(
        "version: 1\ncalendars:\n  office:\n    timezone: UTC\n"
        '    hours: {mon-fri: ["09:00-17:00"]}\n'
        "policies:\n  - name: p\n    calendar: office\n    metrics:\n"
        "      first_response: {targets: 1h, calendar: 24x7}\n"
        "      resolution: {targets: 8h}\n"
    )
    first, resolution = policies.policies[0].metrics
    assert first.calendar.name == "24x7"
    assert resolution.calendar.name == "office"


# -- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "ticket", "holds"),
    [
        pytest.param("{channel: email}", {}, True, id="channel"),
        pytest.param("{channel: [chat, phone]}", {}, False, id="channel-list-miss"),
        pytest.param("{channel: EMAIL}", {}, True, id="channel-case-insensitive"),
        pytest.param("{priority: [urgent, high]}", {"priority": "high"}, True, id="priority"),
        pytest.param("{priority: urgent}", {}, False, id="priority-miss"),
        pytest.param("{group: billing}", {}, True, id="group"),
        pytest.param("{assignee: [mia]}", {}, False, id="assignee-miss"),
        pytest.param("{customer: anna}", {}, True, id="customer"),
        pytest.param("{tags: [spam, vip]}", {}, True, id="tags-list-is-any"),
        pytest.param("{tags: [spam]}", {}, False, id="tags-list-miss"),
        pytest.param("{tags: {any: [x, de]}}", {}, True, id="tags-any"),
        pytest.param("{tags: {all: [vip, de]}}", {}, True, id="tags-all"),
        pytest.param("{tags: {all: [vip, us]}}", {}, False, id="tags-all-miss"),
        pytest.param("{tags: {none: [spam]}}", {}, True, id="tags-none"),
        pytest.param("{tags: {none: [vip]}}", {}, False, id="tags-none-miss"),
        pytest.param("{fields: {tier: [gold, platinum]}}", {}, True, id="fields-list"),
        pytest.param("{fields: {seats: 12}}", {}, True, id="fields-integer"),
        pytest.param("{fields: {tier: silver}}", {}, False, id="fields-miss"),
        pytest.param("{fields: {region: eu}}", {}, False, id="fields-absent"),
        pytest.param("{not: {channel: chat}}", {}, True, id="not"),
        pytest.param("{not: {tags: [vip]}}", {}, False, id="not-miss"),
        pytest.param(
            "{channel: email, priority: normal, not: {group: sales}}", {}, True, id="all-hold"
        ),
        pytest.param("{channel: email, priority: low}", {}, False, id="one-fails"),
        pytest.param("{}", {}, True, id="empty-match-is-catch-all"),
    ],
)
def test_match_conditions(
    policies_with_match: Callable[[str], PolicySet],
    make_ticket: Callable[..., TicketState],
    match: str,
    ticket: dict[str, object],
    holds: bool,
) -> None:
    policy = policies_with_match(match).policies[0]
    assert policy.match.holds(make_ticket(**ticket)) is holds


def test_failed_conditions_explain_each_miss(
    policies_with_match: Callable[[str], PolicySet], make_ticket: Callable[..., TicketState]
) -> None:
    match = policies_with_match("{channel: chat, tags: {all: [us]}}").policies[0].match
    assert match.failed_conditions(make_ticket()) == [
        "channel 'email' not in ['chat']",
        "missing tags ['us']",
    ]


# -- YAML features ----------------------------------------------------------------------------


def test_anchors_aliases_and_merge_keys() -> None:
    policies = loads_policies(
        textwrap.dedent(
            """\
            version: 1
            policies:
              - name: chat
                match: {channel: chat}
                metrics:
                  first_response: &standard
                    targets: {urgent: 1h, high: 2h, normal: 8h, low: 16h}
                    pause_when: [pending]
              - name: rest
                metrics:
                  first_response:
                    <<: *standard
                    pause_when: [on_hold]
                  resolution: *standard
            """
        )
    )
    chat, rest = policies.policies
    assert dict(chat.metrics[0].targets) == dict(rest.metrics[0].targets)
    assert rest.metrics[0].targets["low"] == 16 * H
    assert rest.metrics[0].pause_when == frozenset({"on_hold"})  # own key wins over the merge
    assert rest.metrics[1].kind == "resolution"
    assert rest.metrics[1].pause_when == frozenset({"pending"})


def test_merge_key_with_a_list_of_mappings() -> None:
    policies = loads_policies(
        textwrap.dedent(
            """\
            version: 1
            calendars:
              base: &zone {timezone: Europe/Berlin, hours: {mon: ["09:00-17:00"]}}
              late:
                <<: [{hours: {mon: ["12:00-20:00"]}}, *zone]
            policies:
              - name: p
                calendar: late
                metrics: {first_response: {targets: 1h}}
            """
        )
    )
    late = policies.calendars["late"]
    assert isinstance(late, WeeklyCalendar)
    assert late.timezone == "Europe/Berlin"
    assert late.shifts[0] == (Shift(720, 1200),)  # the first mapping listed wins


def test_yaml_1_2_keeps_times_and_yes_as_text() -> None:
    policies = loads_policies(
        "version: 1\npolicies:\n  - name: p\n    match: {customer: yes, group: 09:00}\n"
        "    metrics: {first_response: {targets: 1h}}\n"
    )
    match = policies.policies[0].match
    assert match.customer == frozenset({"yes"})
    assert match.group == frozenset({"09:00"})


def test_custom_statuses_are_mapped() -> None:
    policies = loads_policies(
        "version: 1\nstatuses: {waiting_on_customer: pending, escalated: open}\n"
        "policies:\n  - name: p\n    metrics: {first_response: {targets: 1h}}\n"
    )
    assert dict(policies.status_map) == {"waiting_on_customer": "pending", "escalated": "open"}


def test_mapping_a_builtin_status_is_refused() -> None:
    with pytest.raises(PolicyError) as info:
        loads_policies(
            "version: 1\nstatuses: {pending: open}\n"
            "policies:\n  - name: p\n    metrics: {first_response: {targets: 1h}}\n"
        )
    assert [(p.code, p.line, p.column) for p in info.value.problems] == [("E208", 2, 12)]


# -- directories ----------------------------------------------------------------------------


@pytest.fixture
def policy_directory(tmp_path: Path) -> Path:
    """Policies split over files: calendars in one, policies in two, tests/ to skip."""
    (tmp_path / "10-calendars.yaml").write_text(
        "version: 1\ncalendars:\n  office:\n    timezone: Europe/Berlin\n"
        '    hours: {mon-fri: ["09:00-17:00"]}\n',
        encoding="utf-8",
    )
    (tmp_path / "30-rest.yml").write_text(
        "version: 1\npolicies:\n  - name: rest\n    calendar: office\n"
        "    metrics: {first_response: {targets: 8h}}\n",
        encoding="utf-8",
    )
    (tmp_path / "20-chat.yaml").write_text(
        "version: 1\npolicies:\n  - name: chat\n    match: {channel: chat}\n"
        "    calendar: office\n    metrics: {first_response: {targets: 10m}}\n",
        encoding="utf-8",
    )
    (tmp_path / "README.md").write_text("not a policy\n", encoding="utf-8")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "case.yaml").write_text("this: [is not a policy\n", encoding="utf-8")
    return tmp_path


def test_directory_files_load_in_name_order_sharing_calendars(policy_directory: Path) -> None:
    policies = load_policies(policy_directory)
    assert [p.name for p in policies.policies] == ["chat", "rest"]
    assert policies.by_name("rest").calendar is policies.calendars["office"]
    assert [Path(s).name for s in policies.sources] == [
        "10-calendars.yaml",
        "20-chat.yaml",
        "30-rest.yml",
    ]


def test_tests_subfolder_of_a_policy_directory_is_skipped(policy_directory: Path) -> None:
    policy_set, problems = read_policies([policy_directory])
    assert policy_set is not None
    assert problems == []


def test_nested_folders_other_than_tests_are_loaded(policy_directory: Path) -> None:
    nested = policy_directory / "15-teams"
    nested.mkdir()
    (nested / "phone.yaml").write_text(
        "version: 1\npolicies:\n  - name: phone\n    match: {channel: phone}\n"
        "    metrics: {first_response: {targets: 1h}}\n",
        encoding="utf-8",
    )
    assert "phone" in [p.name for p in load_policies(policy_directory).policies]


def test_problems_in_several_files_are_reported_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("version: 3\npolicies: []\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        "version: 1\npolicies:\n  - name: p\n    calendar: nowhere\n"
        "    metrics: {first_response: {targets: 1h}}\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    assert [(Path(p.source).name, p.line, p.code) for p in info.value.problems] == [
        ("a.yaml", 1, "E209"),
        ("b.yaml", 4, "E301"),
    ]


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        pytest.param(lambda d: d / "missing", "no such file or directory", id="missing"),
        pytest.param(lambda d: d, "no .yaml or .yml files in this directory", id="empty-dir"),
    ],
)
def test_unusable_paths_raise_policy_error(
    tmp_path: Path, make_path: Callable[[Path], Path], message: str
) -> None:
    with pytest.raises(PolicyError) as info:
        load_policies(make_path(tmp_path))
    (problem,) = info.value.problems
    assert (problem.code, problem.message) == ("E002", message)


def test_warnings_do_not_stop_loading() -> None:
    policies = loads_policies(
        "version: 1\npolicies:\n  - name: p\n    match: {channel: emial}\n"
        "    metrics: {first_response: {targets: 1h}}\n"
    )
    assert policies.policies[0].match.channel == frozenset({"emial"})


# -- selection ----------------------------------------------------------------------------


def test_first_matching_policy_wins(
    reference_policies: PolicySet, make_ticket: Callable[..., TicketState]
) -> None:
    assert reference_policies.select(make_ticket(channel="whatsapp")).name == "social-messaging"  # type: ignore[union-attr]
    assert reference_policies.select(make_ticket(channel="email")).name == "email"  # type: ignore[union-attr]
    assert reference_policies.select(make_ticket(channel="carrier-pigeon")).name == "email"  # type: ignore[union-attr]


def test_unmatched_ticket_selects_nothing(
    policies_with_match: Callable[[str], PolicySet], make_ticket: Callable[..., TicketState]
) -> None:
    assert policies_with_match("{channel: chat}").select(make_ticket()) is None


def test_update_event_changes_the_policy_that_applies(reference_policies: PolicySet) -> None:
    ticket = {"ticket": "T-9"}
    events = [
        parse_event(
            {
                **ticket,
                "at": "2025-12-01T09:00:00Z",
                "type": "created",
                "channel": "email",
                "priority": "normal",
            },
            seq=1,
        ),
        parse_event(
            {**ticket, "at": "2025-12-01T10:00:00Z", "type": "update", "channel": "WhatsApp"},
            seq=2,
        ),
    ]
    timelines = build_timelines(events)
    before = evaluate(reference_policies, timelines, dt.datetime(2025, 12, 1, 9, 30, tzinfo=dt.UTC))
    after = evaluate(reference_policies, timelines, dt.datetime(2025, 12, 1, 10, 30, tzinfo=dt.UTC))
    assert [r.policy.name for r in before if r.policy] == ["email"]
    assert [r.policy.name for r in after if r.policy] == ["social-messaging"]


def test_tag_update_changes_the_policy_that_applies(
    policies_with_match: Callable[[str], PolicySet],
) -> None:
    policies = policies_with_match("{tags: {none: [spam]}}")
    events = [
        parse_event(
            {
                "ticket": "T",
                "at": "2025-12-01T09:00:00Z",
                "type": "created",
                "channel": "email",
                "priority": "low",
                "tags": ["new"],
            },
            seq=1,
        ),
        parse_event(
            {"ticket": "T", "at": "2025-12-01T10:00:00Z", "type": "update", "tags": ["spam"]}, seq=2
        ),
    ]
    timeline = build_timelines(events).timelines["T"]
    start = events[0].at
    assert policies.select(timeline.state_at(start)) is not None
    assert policies.select(timeline.state_at(start + H)) is None


def test_match_holds_agrees_with_failed_conditions() -> None:
    """holds() is written out for speed; it must give failed_conditions()'s answer."""
    import itertools

    from slaengine.policy.model import Match
    from slaengine.timeline import TicketState

    matches = [
        Match(),
        Match(channel=frozenset({"email"})),
        Match(priority=frozenset({"urgent", "high"}), group=frozenset({"billing"})),
        Match(assignee=frozenset({"ada"}), customer=frozenset({"c1"})),
        Match(tags_any=frozenset({"vip", "gold"})),
        Match(tags_all=frozenset({"vip", "gold"}), tags_none=frozenset({"spam"})),
        Match(fields={"plan": ("enterprise", 5)}),
        Match(channel=frozenset({"email"}), exclude=Match(tags_any=frozenset({"spam"}))),
    ]
    tickets = [
        TicketState(
            ticket="t",
            created=0,
            channel=channel,
            priority=priority,
            status="open",
            customer=customer,
            group=group,
            assignee=assignee,
            tags=frozenset(tags),
            fields=fields,
        )
        for channel, priority, group, assignee, customer, tags, fields in itertools.product(
            ["email", "chat"],
            ["urgent", "low"],
            ["billing", None],
            ["ada", None],
            ["c1", "c2"],
            [(), ("vip",), ("vip", "gold"), ("gold", "spam")],
            [{}, {"plan": "enterprise"}, {"plan": 5}, {"plan": "free"}],
        )
    ]
    for match in matches:
        for ticket in tickets:
            assert match.holds(ticket) is (not match.failed_conditions(ticket))
