"""Located YAML nodes to a validated :class:`PolicySet`, collecting every problem.

Checks run shape first (keys and types), then values (durations, times, zones,
dates), then references (calendar names, shadowed policies). Each problem names
the file, line and column, what was expected and, for a misspelling, a guess.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zoneinfo
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from types import MappingProxyType
from typing import Any

from slaengine.calendar import (
    WEEKDAYS,
    AlwaysOpen,
    BusinessCalendar,
    Shift,
    WeeklyCalendar,
    YearlyHolidays,
    country_holidays,
)
from slaengine.durations import parse_duration, parse_working_days
from slaengine.errors import EventError, Problem
from slaengine.policy.model import (
    ASSIGNMENT,
    COUNTS_FROM,
    DUE_AT_CLOSING,
    ESCALATION,
    FIRST_RESPONSE,
    FULFILMENTS,
    METRIC_KINDS,
    NEXT_RESPONSE,
    ON_REOPEN,
    PERIODIC_UPDATE,
    PRECISIONS,
    RESOLUTION,
    RESPONSE_METRICS,
    STARTS,
    WARNING,
    WHEN_SOLVED,
    AlertRule,
    Condition,
    Location,
    Match,
    MetricPolicy,
    Policy,
    PolicySet,
)
from slaengine.policy.semantics import PRESETS, Preset, preset
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.timeline import CHANNELS, PRIORITIES, STATUSES, STOPPED_STATUSES, parse_instant

ALWAYS_OPEN = "24x7"
TOP_KEYS = ("version", "calendars", "policies", "statuses")
CALENDAR_KEYS = ("timezone", "hours", "holidays", "description")
POLICY_KEYS = (
    "name",
    "description",
    "match",
    "calendar",
    "bot_replies_count",
    "semantics",
    "precision",
    "due_at_closing",
    "effective_from",
    "metrics",
)
METRIC_KEYS = (
    "targets",
    "pause_when",
    "calendar",
    "warn_at",
    "escalations",
    "fulfilled_by",
    "starts",
    "staff_created",
    "counts_from",
    "customer_message_stops",
    "when_solved",
    "on_reopen",
    "hide_when",
)
# The metrics each clock rule applies to (E213 for any other).
RULE_METRICS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "fulfilled_by": RESPONSE_METRICS,
        "starts": frozenset({FIRST_RESPONSE, RESOLUTION}),
        "staff_created": frozenset({FIRST_RESPONSE}),
        "counts_from": frozenset({NEXT_RESPONSE}),
        "customer_message_stops": frozenset({PERIODIC_UPDATE}),
        "when_solved": RESPONSE_METRICS,
        "on_reopen": frozenset({RESOLUTION}),
        "hide_when": frozenset(METRIC_KINDS),
    }
)
_CHOICES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "fulfilled_by": FULFILMENTS,
        "starts": STARTS,
        "counts_from": COUNTS_FROM,
        "when_solved": WHEN_SOLVED,
        "on_reopen": ON_REOPEN,
        "precision": PRECISIONS,
        "due_at_closing": DUE_AT_CLOSING,
        "staff_created": ("measured", "exempt"),
    }
)
WARN_KEYS = ("at", "notify")
ESCALATION_KEYS = ("after", "notify")
_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%\s*$")
MATCH_KEYS = (
    "channel",
    "priority",
    "group",
    "assignee",
    "customer",
    "tags",
    "fields",
    "conditions",
    "not",
)
TAG_KEYS = ("any", "all", "none")
HOLIDAY_KEYS = ("date", "from", "to", "yearly", "active", "name", "country", "subdivision")
_MONTH_DAY = re.compile(r"^\s*(\d{1,2})-(\d{1,2})\s*$")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


@cache
def _countries() -> dict[str, list[str]]:
    import holidays  # loading the country table is slow; only when a calendar names one

    supported: dict[str, list[str]] = holidays.list_supported_countries()
    return supported


@dataclass(slots=True)
class _FileContext:
    source: str
    problems: list[Problem] = field(default_factory=list)
    notifiers: frozenset[str] | None = None  # known notify targets; None: not checked
    conditions: Mapping[str, Condition] | None = None  # custom match conditions by name

    def report(self, node: YNode, code: str, message: str) -> None:
        self.problems.append(Problem(self.source, node.line, node.column, code, message))

    def location(self, node: YNode) -> Location:
        return Location(self.source, node.line, node.column)

    # -- shape helpers ----------------------------------------------------

    def mapping(self, node: YNode, what: str) -> YMap | None:
        if isinstance(node, YMap):
            return node
        self.report(node, "E103", f"{what} must be a mapping, got {_describe(node)}")
        return None

    def keys(self, node: YMap, allowed: Sequence[str], where: str) -> None:
        for name, (key, _value) in node.entries.items():
            if name not in allowed:
                self.report(
                    key,
                    "E101",
                    f"unknown key '{name}' in {where}; expected one of {', '.join(allowed)}"
                    f"{_did_you_mean(name, allowed)}",
                )

    def required(self, node: YMap, name: str, where: str) -> YNode | None:
        entry = node.entries.get(name)
        if entry is None:
            self.report(node, "E102", f"{where} is missing required key '{name}'")
            return None
        return entry[1]

    def text(self, node: YNode, what: str) -> str | None:
        if (
            isinstance(node, YScalar)
            and node.value is not None
            and not isinstance(node.value, bool)
        ):
            return node.text if not isinstance(node.value, str) else node.value
        self.report(node, "E103", f"{what} must be text, got {_describe(node)}")
        return None

    def text_list(self, node: YNode, what: str) -> list[tuple[str, YScalar]]:
        """A scalar or a list of scalars, each with its node."""
        items = node.items if isinstance(node, YSeq) else [node]
        out: list[tuple[str, YScalar]] = []
        for item in items:
            value = self.text(item, what)
            if value is not None and isinstance(item, YScalar):
                out.append((value, item))
        return out


def _describe(node: YNode) -> str:
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    assert isinstance(node, YScalar)
    if node.value is None:
        return "nothing (null)"
    return f"'{node.text}'"


# -- calendars ---------------------------------------------------------------


def _parse_interval(text: str) -> Shift | str:
    found = _INTERVAL.match(text)
    if found is None:
        return f"expected an interval like 09:00-17:00, got '{text}'"
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    written = text.strip().split("-")
    for (hour, minute), as_written in zip(((h1, m1), (h2, m2)), written, strict=True):
        if hour > 24 or minute > 59 or (hour == 24 and minute):
            return f"'{as_written.strip()}' is not a time of day (00:00 to 24:00)"
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == 1440:
        return "an interval cannot start at 24:00; use 00:00"
    if end <= start:
        end += 1440  # runs overnight into the next day
    return Shift(start, end)


def _day_range(name: str) -> list[int] | None:
    parts = name.split("-")
    if len(parts) == 1:
        return [WEEKDAYS.index(name)] if name in WEEKDAYS else None
    if len(parts) == 2 and parts[0] in WEEKDAYS and parts[1] in WEEKDAYS:
        first, last = WEEKDAYS.index(parts[0]), WEEKDAYS.index(parts[1])
        return [(first + i) % 7 for i in range((last - first) % 7 + 1)]
    return None


def _hours(ctx: _FileContext, node: YNode) -> dict[int, list[Shift]] | None:
    hours = ctx.mapping(node, "'hours'")
    if hours is None:
        return None
    shifts: dict[int, list[Shift]] = {}
    given_at: dict[int, YScalar] = {}
    broken = False
    for name, (key, value) in hours.entries.items():
        days = _day_range(name.strip().lower())
        if days is None:
            options = [*WEEKDAYS, "mon-fri", "sat-sun"]
            ctx.report(
                key,
                "E101",
                f"unknown day '{name}' in 'hours'; expected mon..sun or a "
                f"range like mon-fri{_did_you_mean(name, options)}",
            )
            continue
        located: list[tuple[Shift, YScalar]] = []
        if isinstance(value, YScalar) and (value.value is None or value.value == "closed"):
            pass  # explicitly closed
        else:
            for text, item in ctx.text_list(value, f"hours of '{name}'"):
                parsed = _parse_interval(text)
                if isinstance(parsed, str):
                    ctx.report(item, "E202", parsed)
                    broken = True
                else:
                    located.append((parsed, item))
        located.sort(key=lambda pair: pair[0].start)
        for (before, _), (after, item) in pairwise(located):
            if after.start < before.end:
                ctx.report(
                    item, "E206", f"intervals of '{name}' overlap; list each open period once"
                )
        day_shifts = [shift for shift, _ in located]
        for day in days:
            if day in given_at:
                ctx.report(
                    key,
                    "E104",
                    f"'{WEEKDAYS[day]}' is already given at line "
                    f"{given_at[day].line}; give each day once",
                )
                continue
            given_at[day] = key
            shifts[day] = list(day_shifts)
    # With a broken interval the calendar is reported already; do not also call it never open.
    return None if broken else shifts


def _date(ctx: _FileContext, node: YNode, what: str) -> dt.date | None:
    if isinstance(node, YScalar):
        if isinstance(node.value, dt.date):
            return node.value
        if isinstance(node.value, str):
            try:
                return dt.date.fromisoformat(node.value.strip())
            except ValueError:
                pass
    ctx.report(node, "E204", f"{what} must be a date like 2025-12-24, got {_describe(node)}")
    return None


def _month_day(ctx: _FileContext, node: YNode, what: str) -> tuple[int, int] | None:
    """A month-day like ``12-25`` (or the month and day of a full date)."""
    if isinstance(node, YScalar) and isinstance(node.value, dt.date):
        return node.value.month, node.value.day
    text = node.text if isinstance(node, YScalar) and node.value is not None else ""
    found = _MONTH_DAY.match(text)
    if found is not None:
        month, day = int(found.group(1)), int(found.group(2))
        try:
            dt.date(2024, month, day)  # a leap year: 02-29 is a valid yearly date
        except ValueError:
            pass
        else:
            return month, day
    ctx.report(
        node, "E204", f"{what} must be a month-day like 12-25 or a date, got {_describe(node)}"
    )
    return None


def _flag(ctx: _FileContext, node: YNode, what: str) -> bool | None:
    if isinstance(node, YScalar) and isinstance(node.value, bool):
        return node.value
    ctx.report(node, "E103", f"{what} must be true or false, got {_describe(node)}")
    return None


def _holidays(
    ctx: _FileContext, node: YNode
) -> tuple[set[dt.date], list[Callable[[range], set[dt.date]]]]:
    dates: set[dt.date] = set()
    providers: list[Callable[[range], set[dt.date]]] = []
    yearly_days: list[tuple[int, int]] = []
    yearly_ranges: list[tuple[tuple[int, int], tuple[int, int]]] = []
    items = node.items if isinstance(node, YSeq) else [node]
    for item in items:
        if isinstance(item, YScalar):
            if isinstance(item.value, str) and _MONTH_DAY.match(item.value):
                month_day = _month_day(ctx, item, "a yearly holiday")
                if month_day is not None:
                    yearly_days.append(month_day)
                continue
            day = _date(ctx, item, "a holiday")
            if day is not None:
                dates.add(day)
            continue
        entry = ctx.mapping(item, "a holiday")
        if entry is None:
            continue
        ctx.keys(entry, HOLIDAY_KEYS, "a holiday")
        names = entry.entries
        kinds = [k for k in ("country", "date", "from") if k in names]
        if len(kinds) > 1 or ("to" in names and "from" not in names):
            ctx.report(
                entry,
                "E103",
                "a holiday is one of: a 'date', a 'from'/'to' range, or a "
                "'country' (with an optional 'subdivision'); not a mix",
            )
            continue
        if "subdivision" in names and "country" not in names:
            ctx.report(names["subdivision"][0], "E102", "'subdivision' needs a 'country'")
            continue
        if "name" in names:
            ctx.text(names["name"][1], "a holiday's 'name'")
        active = _flag(ctx, names["active"][1], "'active'") if "active" in names else True
        yearly = _flag(ctx, names["yearly"][1], "'yearly'") if "yearly" in names else False
        if yearly is None or active is None:
            continue  # reported; the dates cannot be read without knowing which kind
        if yearly and "country" in names:
            ctx.report(
                names["yearly"][0], "E103", "'yearly' is for dates and ranges, not a country"
            )
            continue
        if "country" in names:
            provider = _country(ctx, entry)
            if provider is not None and active:
                providers.append(provider)
        elif "date" in names:
            if yearly:
                month_day = _month_day(ctx, names["date"][1], "'date'")
                if month_day is not None and active:
                    yearly_days.append(month_day)
                continue
            day = _date(ctx, names["date"][1], "'date'")
            if day is not None and active:
                dates.add(day)
        elif "from" in names and "to" in names:
            if yearly:
                first_md = _month_day(ctx, names["from"][1], "'from'")
                last_md = _month_day(ctx, names["to"][1], "'to'")
                if first_md is not None and last_md is not None and active:
                    yearly_ranges.append((first_md, last_md))
                continue
            first = _date(ctx, names["from"][1], "'from'")
            last = _date(ctx, names["to"][1], "'to'")
            if first is not None and last is not None:
                if last < first:
                    ctx.report(names["to"][1], "E204", "'to' is before 'from'")
                while first <= last and active:
                    dates.add(first)
                    first += dt.timedelta(days=1)
        else:
            ctx.report(entry, "E102", "a holiday needs 'date', 'from' and 'to', or 'country'")
    if yearly_days or yearly_ranges:
        providers.append(YearlyHolidays(yearly_days, yearly_ranges))
    return dates, providers


def _country(ctx: _FileContext, entry: YMap) -> Callable[[range], set[dt.date]] | None:
    country = ctx.text(entry.entries["country"][1], "'country'")
    if country is None:
        return None
    code = country.strip().upper()
    supported = _countries()
    if code not in supported:
        ctx.report(
            entry.entries["country"][1],
            "E205",
            f"unknown country '{country}'; expected an ISO 3166 code such as DE, US, GB"
            f"{_did_you_mean(code, supported)}",
        )
        return None
    subdivision: str | None = None
    if "subdivision" in entry.entries:
        sub_node = entry.entries["subdivision"][1]
        subdivision = ctx.text(sub_node, "'subdivision'")
        if subdivision is not None and subdivision.upper() not in [
            s.upper() for s in supported[code]
        ]:
            ctx.report(
                sub_node,
                "E205",
                f"unknown subdivision '{subdivision}' of {code}; expected one of "
                f"{', '.join(supported[code][:12])}{'...' if len(supported[code]) > 12 else ''}"
                f"{_did_you_mean(subdivision.upper(), supported[code])}",
            )
            return None
        if subdivision is not None:
            subdivision = next(s for s in supported[code] if s.upper() == subdivision.upper())
    return country_holidays(code, subdivision)


def _calendar(ctx: _FileContext, name: str, key: YScalar, node: YNode) -> BusinessCalendar | None:
    body = ctx.mapping(node, f"calendar '{name}'")
    if body is None:
        return None
    ctx.keys(body, CALENDAR_KEYS, f"calendar '{name}'")
    zone_node = ctx.required(body, "timezone", f"calendar '{name}'")
    hours_node = ctx.required(body, "hours", f"calendar '{name}'")
    zone: str | None = None
    if zone_node is not None:
        zone = ctx.text(zone_node, "'timezone'")
        if zone is not None:
            try:
                zoneinfo.ZoneInfo(zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                ctx.report(
                    zone_node,
                    "E203",
                    f"unknown time zone '{zone}'; expected an IANA name "
                    f"like Europe/Berlin{_did_you_mean(zone, _zone_names())}",
                )
                zone = None
    shifts = _hours(ctx, hours_node) if hours_node is not None else None
    if "description" in body.entries:
        ctx.text(body.entries["description"][1], "'description'")
    dates: set[dt.date] = set()
    providers: list[Callable[[range], set[dt.date]]] = []
    if "holidays" in body.entries:
        dates, providers = _holidays(ctx, body.entries["holidays"][1])
    if shifts is not None and not any(shifts.values()):
        ctx.report(
            key, "E303", f"calendar '{name}' is never open; give at least one day some hours"
        )
        return None
    if zone is None or shifts is None:
        return None
    return WeeklyCalendar(name, zone, shifts, dates, providers)


# -- policies ----------------------------------------------------------------


def _match(ctx: _FileContext, node: YNode, where: str) -> Match | None:
    if isinstance(node, YScalar) and node.value is None:
        return Match()
    body = ctx.mapping(node, f"'match' of {where}")
    if body is None:
        return None
    ctx.keys(body, MATCH_KEYS, f"'match' of {where}")
    values: dict[str, Any] = {}
    ok = _no_empty_lists(ctx, body)
    for name in ("channel", "priority", "group", "assignee", "customer"):
        if name not in body.entries:
            continue
        items = ctx.text_list(body.entries[name][1], f"'{name}'")
        if name == "priority":
            for value, item in items:
                if value not in PRIORITIES:
                    ok = False
                    ctx.report(
                        item,
                        "E207",
                        f"unknown priority '{value}'; expected one of "
                        f"{', '.join(PRIORITIES)}{_did_you_mean(value, PRIORITIES)}",
                    )
        if name == "channel":
            for value, item in items:
                guess = _did_you_mean(value.lower(), CHANNELS)
                if value.lower() not in CHANNELS and guess:
                    ctx.report(
                        item,
                        "W201",
                        f"channel '{value}' is not a known channel{guess} "
                        "(custom channels are fine; check the spelling)",
                    )
            items = [(value.lower(), item) for value, item in items]
        values[name] = frozenset(value for value, _ in items)
    if "tags" in body.entries:
        tags_node = body.entries["tags"][1]
        if isinstance(tags_node, YMap):
            ctx.keys(tags_node, TAG_KEYS, "'tags'")
            for key in TAG_KEYS:
                if key in tags_node.entries:
                    found = frozenset(
                        v for v, _ in ctx.text_list(tags_node.entries[key][1], "a tag")
                    )
                    values[f"tags_{key}"] = found
        else:
            values["tags_any"] = frozenset(v for v, _ in ctx.text_list(tags_node, "a tag"))
    if "fields" in body.entries:
        fields_node = ctx.mapping(body.entries["fields"][1], "'fields'")
        if fields_node is not None:
            fields: dict[str, tuple[Any, ...]] = {}
            for field_name, (_key, value_node) in fields_node.entries.items():
                items_nodes = value_node.items if isinstance(value_node, YSeq) else [value_node]
                scalars = [n for n in items_nodes if isinstance(n, YScalar)]
                if len(scalars) != len(items_nodes):
                    ctx.report(
                        value_node,
                        "E103",
                        f"field '{field_name}' must be a value or a list of values",
                    )
                # Events carry dates as strings; compare with what was written.
                fields[field_name] = tuple(
                    n.text if isinstance(n.value, dt.date) else n.value for n in scalars
                )
            values["fields"] = MappingProxyType(fields)
    if "conditions" in body.entries:
        custom = _conditions(ctx, body.entries["conditions"][1])
        if custom is None:
            ok = False
        else:
            values["custom"] = custom
    if "not" in body.entries:
        not_node = body.entries["not"][1]
        excluded = _match(ctx, not_node, f"'not' of {where}")
        if excluded is None:
            ok = False
        elif excluded.is_catch_all:
            ok = False
            ctx.report(
                not_node,
                "E210",
                "'not' without conditions excludes every ticket; give it conditions or remove it",
            )
        values["exclude"] = excluded
    return Match(**values) if ok else None


def _conditions(ctx: _FileContext, node: YNode) -> tuple[tuple[str, Condition], ...] | None:
    """``conditions: [vip-customer, ...]``: custom conditions registered by plugins."""
    known = ctx.conditions or {}
    found: list[tuple[str, Condition]] = []
    ok = True
    for name, item in ctx.text_list(node, "a condition name"):
        condition = known.get(name)
        if condition is None:
            ok = False
            hint = (
                f"; expected one of {', '.join(sorted(known))}{_did_you_mean(name, known)}"
                if known
                else "; no plugin registers match conditions (see docs/hooks.md)"
            )
            ctx.report(item, "E307", f"unknown match condition '{name}'{hint}")
        elif all(name != seen for seen, _ in found):
            found.append((name, condition))
    return tuple(found) if ok else None


def _no_empty_lists(ctx: _FileContext, body: YMap) -> bool:
    """Report match lists that are empty: they would match no ticket at all."""
    ok = True
    nodes = [(name, value) for name, (_key, value) in body.entries.items() if name != "not"]
    for name in ("tags", "fields"):
        inner = body.entries.get(name)
        if inner is not None and isinstance(inner[1], YMap):
            nodes += [(f"{name}.{k}", v) for k, (_key, v) in inner[1].entries.items()]
    for name, value in nodes:
        if isinstance(value, YSeq) and not value.items:
            ok = False
            ctx.report(
                value,
                "E210",
                f"'{name}: []' matches no ticket; "
                "list at least one value, or remove the key to match any",
            )
    return ok


def _target(value: object) -> int:
    """Seconds of a target, or ``-n`` for ``n`` working days (resolved with the calendar)."""
    days = parse_working_days(value)
    return -days if days is not None else parse_duration(value)


def _targets(ctx: _FileContext, node: YNode, where: str) -> dict[str, int] | None:
    """Targets per priority: seconds, or ``-n`` for ``n`` working days (see :func:`_target`)."""
    if isinstance(node, YScalar):
        try:
            seconds = _target(node.value)
        except ValueError as exc:
            ctx.report(node, "E201", f"bad target of {where}: {exc}")
            return None
        return dict.fromkeys(PRIORITIES, seconds)
    body = ctx.mapping(node, f"'targets' of {where}")
    if body is None:
        return None
    targets: dict[str, int] = {}
    for name, (key, value) in body.entries.items():
        if name not in PRIORITIES:
            ctx.report(
                key,
                "E207",
                f"unknown priority '{name}' in 'targets'; expected "
                f"{', '.join(PRIORITIES)}{_did_you_mean(name, PRIORITIES)}",
            )
            continue
        if not isinstance(value, YScalar):
            ctx.report(
                value,
                "E201",
                f"bad target for {name}: expected a duration like 90m, "
                f"2h or 1h30m, got {_describe(value)}",
            )
            continue
        try:
            targets[name] = _target(value.value)
        except ValueError as exc:
            ctx.report(value, "E201", f"bad target for {name}: {exc}")
    missing = [p for p in PRIORITIES if p not in body.entries]
    if missing:
        ctx.report(
            body,
            "E102",
            f"'targets' of {where} has no target for {', '.join(missing)}; "
            "give every priority one (or one duration for all)",
        )
    return targets if len(targets) == len(PRIORITIES) else None


def _statuses(
    ctx: _FileContext, node: YNode, allowed: Sequence[str], key: str = "pause_when"
) -> frozenset[str]:
    found: set[str] = set()
    for value, item in ctx.text_list(node, "a status"):
        if value in STOPPED_STATUSES:
            ctx.report(
                item,
                "E208",
                f"'{value}' stops clocks; it cannot pause them"
                if key == "pause_when"
                else f"'{value}' stops clocks; there is no deadline to hide",
            )
        elif value not in allowed:
            ctx.report(
                item,
                "E208",
                f"unknown status '{value}' in '{key}'; expected one of "
                f"{', '.join(allowed)}{_did_you_mean(value, allowed)}",
            )
        else:
            found.add(value)
    return frozenset(found)


@dataclass(slots=True)
class _DraftMetric:
    """A metric whose calendar name is resolved after all files are read."""

    kind: str
    key: YNode
    targets: dict[str, int] | None  # None when invalid (already reported)
    pauses: frozenset[str]
    calendar_ref: tuple[str, YNode] | None
    alerts: tuple[AlertRule, ...] | None  # None when invalid
    rules: dict[str, Any] = field(default_factory=dict)  # clock rules, preset defaults applied


def _notify(ctx: _FileContext, body: YMap) -> tuple[str, ...]:
    if "notify" not in body.entries:
        return ()
    names = ctx.text_list(body.entries["notify"][1], "a notify target")
    known = ctx.notifiers
    if known is not None:
        for name, node in names:
            if name not in known:
                hint = (
                    f"; expected one of {', '.join(sorted(known))}{_did_you_mean(name, known)}"
                    if known
                    else "; no notifier plugin is installed (see docs/hooks.md)"
                )
                ctx.report(node, "E305", f"unknown notify target '{name}'{hint}")
    return tuple(name for name, _ in names)


def _warnings(ctx: _FileContext, node: YNode) -> list[AlertRule] | None:
    """``warn_at: [50%, {at: 80%, notify: [...]}]`` as warning rules in percent order."""
    items = node.items if isinstance(node, YSeq) else [node]
    found: dict[int, tuple[str, ...]] = {}
    ok = True
    for item in items:
        notify: tuple[str, ...] = ()
        value = item
        if isinstance(item, YMap):
            ctx.keys(item, WARN_KEYS, "a warning")
            at = ctx.required(item, "at", "a warning")
            if at is None:
                ok = False
                continue
            value, notify = at, _notify(ctx, item)
        text = value.text if isinstance(value, YScalar) else ""
        percent = _PERCENT.match(text)
        if percent is None or not 1 <= int(percent.group(1)) <= 99:
            ctx.report(
                value,
                "E211",
                f"a warning is a share of the target from 1% to 99%, "
                f"like 80%; got {_describe(value)}",
            )
            ok = False
            continue
        share = int(percent.group(1))
        if share in found:
            ctx.report(value, "E211", f"warning at {share}% is given twice")
            ok = False
        found[share] = notify
    if not ok:
        return None
    return [
        AlertRule(WARNING, level, percent=share, notify=found[share])
        for level, share in enumerate(sorted(found), start=1)
    ]


def _escalations(ctx: _FileContext, node: YNode) -> list[AlertRule] | None:
    """``escalations: [{after: 0m, notify: [...]}, {after: 2h, ...}]`` in increasing order."""
    items = node.items if isinstance(node, YSeq) else [node]
    rules: list[AlertRule] = []
    ok = True
    previous = -1
    for item in items:
        body = ctx.mapping(item, "an escalation")
        if body is None:
            ok = False
            continue
        ctx.keys(body, ESCALATION_KEYS, "an escalation")
        after_node = ctx.required(body, "after", "an escalation")
        if after_node is None:
            ok = False
            continue
        raw = after_node.value if isinstance(after_node, YScalar) else None
        try:
            # 0 (at the breach) is allowed here, unlike for targets.
            zero = isinstance(raw, int | str) and str(raw).strip() in {"0", "0m", "0h", "0s"}
            after = 0 if zero else parse_duration(raw)
        except ValueError as exc:
            ctx.report(after_node, "E201", f"bad 'after' of an escalation: {exc}")
            ok = False
            continue
        if after <= previous:
            ctx.report(
                after_node,
                "E212",
                "escalations must come in increasing 'after' order, each later than the one before",
            )
            ok = False
        previous = max(previous, after)
        rules.append(AlertRule(ESCALATION, len(rules) + 1, after=after, notify=_notify(ctx, body)))
    return rules if ok else None


@dataclass(slots=True)
class _Draft:
    """A policy whose calendar names are resolved after all files are read."""

    ctx: _FileContext
    name: str
    name_node: YNode
    node: YMap
    match: Match | None
    calendar_ref: tuple[str, YNode] | None
    bot_replies_count: bool
    description: str
    metrics: list[_DraftMetric]
    rules: dict[str, Any] = field(default_factory=dict)  # policy-level clock rules


def _policy(ctx: _FileContext, node: YNode, index: int) -> _Draft | None:
    body = ctx.mapping(node, f"policy #{index + 1}")
    if body is None:
        return None
    name_node = ctx.required(body, "name", f"policy #{index + 1}")
    name = ctx.text(name_node, "'name'") if name_node is not None else None
    where = f"policy '{name}'" if name else f"policy #{index + 1}"
    ctx.keys(body, POLICY_KEYS, where)
    match = _match(ctx, body.entries["match"][1], where) if "match" in body.entries else Match()
    calendar_ref = None
    if "calendar" in body.entries:
        cal_node = body.entries["calendar"][1]
        cal_name = ctx.text(cal_node, "'calendar'")
        if cal_name is not None:
            calendar_ref = (cal_name, cal_node)
    chosen = _semantics(ctx, body)
    bot = bool(chosen.policy.get("bot_replies_count", False)) if chosen else False
    if "bot_replies_count" in body.entries:
        bot_node = body.entries["bot_replies_count"][1]
        if isinstance(bot_node, YScalar) and isinstance(bot_node.value, bool):
            bot = bot_node.value
        else:
            ctx.report(
                bot_node,
                "E103",
                f"'bot_replies_count' must be true or false, got {_describe(bot_node)}",
            )
    description = ""
    if "description" in body.entries:
        description = ctx.text(body.entries["description"][1], "'description'") or ""
    policy_rules: dict[str, Any] = {}
    if chosen is not None:
        policy_rules["semantics"] = chosen.name
        for rule in ("precision", "due_at_closing"):
            if rule in chosen.policy:
                policy_rules[rule] = chosen.policy[rule]
    for rule in ("precision", "due_at_closing"):
        if rule in body.entries:
            written = _choice(ctx, body.entries[rule][1], rule)
            if written is not None:
                policy_rules[rule] = written
    if "effective_from" in body.entries:
        effective = _instant(ctx, body.entries["effective_from"][1], "'effective_from'")
        if effective is not None:
            policy_rules["effective_from"] = effective
    metrics: list[_DraftMetric] = []
    metrics_node = ctx.required(body, "metrics", where)
    metrics_map = ctx.mapping(metrics_node, f"'metrics' of {where}") if metrics_node else None
    if metrics_map is not None:
        if not metrics_map.entries:
            ctx.report(
                metrics_map,
                "E102",
                f"{where} has no metrics; expected some of {', '.join(METRIC_KINDS)}",
            )
        for kind, (key, value) in metrics_map.entries.items():
            if kind not in METRIC_KINDS:
                ctx.report(
                    key,
                    "E101",
                    f"unknown metric '{kind}' in {where}; expected one of "
                    f"{', '.join(METRIC_KINDS)}{_did_you_mean(kind, METRIC_KINDS)}",
                )
                continue
            metric_where = f"{kind} of {where}"
            metric = ctx.mapping(value, f"metric '{kind}'")
            if metric is None:
                continue
            ctx.keys(metric, METRIC_KEYS, f"metric '{kind}'")
            targets_node = ctx.required(metric, "targets", metric_where)
            targets = _targets(ctx, targets_node, metric_where) if targets_node else None
            allowed = [s for s in STATUSES if s not in STOPPED_STATUSES]
            preset_pauses = chosen.metric_default(kind, "pause_when") if chosen else None
            pauses = (
                _statuses(ctx, metric.entries["pause_when"][1], allowed)
                if "pause_when" in metric.entries
                else frozenset(preset_pauses or ())
            )
            rules = _metric_rules(ctx, metric, kind, chosen, allowed)
            metric_calendar = None
            if "calendar" in metric.entries:
                metric_cal_name = ctx.text(metric.entries["calendar"][1], "'calendar'")
                if metric_cal_name is not None:
                    metric_calendar = (metric_cal_name, metric.entries["calendar"][1])
            alerts: list[AlertRule] | None = []
            if "warn_at" in metric.entries:
                warnings = _warnings(ctx, metric.entries["warn_at"][1])
                alerts = None if warnings is None else [*warnings]
            if "escalations" in metric.entries:
                escalations = _escalations(ctx, metric.entries["escalations"][1])
                alerts = None if alerts is None or escalations is None else alerts + escalations
            metrics.append(
                _DraftMetric(
                    kind,
                    key,
                    targets,
                    pauses,
                    metric_calendar,
                    None if alerts is None else tuple(alerts),
                    rules,
                )
            )
    if name is None or name_node is None:
        return None
    return _Draft(
        ctx, name, name_node, body, match, calendar_ref, bot, description, metrics, policy_rules
    )


def _semantics(ctx: _FileContext, body: YMap) -> Preset | None:
    """The preset named by the policy's ``semantics`` key (E306 when unknown)."""
    if "semantics" not in body.entries:
        return None
    node = body.entries["semantics"][1]
    name = ctx.text(node, "'semantics'")
    if name is None:
        return None
    chosen = preset(name)
    if chosen is None:
        ctx.report(
            node,
            "E306",
            f"unknown semantics '{name}'; expected one of {', '.join(PRESETS)}"
            f"{_did_you_mean(name.lower(), PRESETS)}",
        )
    return chosen


def _choice(ctx: _FileContext, node: YNode, rule: str) -> str | None:
    """One of the values a clock rule allows (E214 otherwise)."""
    value = ctx.text(node, f"'{rule}'")
    if value is None:
        return None
    choices = _CHOICES[rule]
    if value not in choices:
        ctx.report(
            node,
            "E214",
            f"unknown value '{value}' for '{rule}'; expected one of "
            f"{', '.join(choices)}{_did_you_mean(value, choices)}",
        )
        return None
    return value


def _instant(ctx: _FileContext, node: YNode, what: str) -> int | None:
    text = node.text if isinstance(node, YScalar) and node.value is not None else ""
    try:
        return parse_instant(text)
    except EventError:
        ctx.report(
            node,
            "E204",
            f"{what} must be a timestamp with a UTC offset like 2026-01-01T00:00:00+01:00, "
            f"got {_describe(node)}",
        )
        return None


def _metric_rules(
    ctx: _FileContext, metric: YMap, kind: str, chosen: Preset | None, allowed: Sequence[str]
) -> dict[str, Any]:
    """A metric's clock rules: written ones, else the preset's; E213 where they do not apply."""
    rules: dict[str, Any] = {}
    for rule, kinds in RULE_METRICS.items():
        if chosen is not None and kind in kinds:
            default = chosen.metric_default(kind, rule)
            if default is not None:
                rules[rule] = default
        if rule not in metric.entries:
            continue
        key, node = metric.entries[rule]
        if kind not in kinds:
            ctx.report(
                key,
                "E213",
                f"'{rule}' does not apply to {kind}; it is a rule of "
                f"{', '.join(k for k in METRIC_KINDS if k in kinds)}",
            )
            continue
        value: Any
        if rule == "hide_when":
            value = _statuses(ctx, node, allowed, "hide_when")
        elif rule == "customer_message_stops":
            value = _flag(ctx, node, f"'{rule}'")
        elif rule == "staff_created":
            choice = _choice(ctx, node, rule)
            value = None if choice is None else choice == "measured"
        else:
            value = _choice(ctx, node, rule)
            if value == ASSIGNMENT and kind != FIRST_RESPONSE:
                ctx.report(
                    node,
                    "E213",
                    f"'fulfilled_by: {ASSIGNMENT}' is for first_response (time to own), not {kind}",
                )
                value = None
        if value is not None:
            rules[rule] = value
    return rules


# -- whole files -------------------------------------------------------------


@dataclass(slots=True)
class _Collected:
    notifiers: frozenset[str] | None = None
    conditions: Mapping[str, Condition] | None = None
    calendars: dict[str, tuple[BusinessCalendar | None, _FileContext, YNode]] = field(
        default_factory=dict
    )
    drafts: list[_Draft] = field(default_factory=list)
    status_map: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # syntax problems
    contexts: list[_FileContext] = field(default_factory=list)


def _file(root: YNode, source: str, collected: _Collected) -> None:
    ctx = _FileContext(source, notifiers=collected.notifiers, conditions=collected.conditions)
    collected.contexts.append(ctx)
    body = ctx.mapping(root, "a policy file")
    if body is not None:
        ctx.keys(body, TOP_KEYS, "the policy file")
        if "version" in body.entries:
            version_node = body.entries["version"][1]
            if not (isinstance(version_node, YScalar) and version_node.value == 1):
                ctx.report(
                    version_node,
                    "E209",
                    f"unsupported version {_describe(version_node)}; expected 1",
                )
        if "statuses" in body.entries:
            _status_map(ctx, body.entries["statuses"][1], collected.status_map)
        if "calendars" in body.entries:
            calendars = ctx.mapping(body.entries["calendars"][1], "'calendars'")
            for name, (key, value) in calendars.entries.items() if calendars else ():
                if name == ALWAYS_OPEN:
                    ctx.report(
                        key,
                        "E104",
                        f"'{ALWAYS_OPEN}' is built in (always open); choose another name",
                    )
                    continue
                if name in collected.calendars:
                    first = collected.calendars[name]
                    ctx.report(
                        key,
                        "E104",
                        f"calendar '{name}' is already defined at "
                        f"{first[1].source}:{first[2].line}",
                    )
                    continue
                collected.calendars[name] = (_calendar(ctx, name, key, value), ctx, key)
        policies_node = body.entries.get("policies")
        if policies_node is None:
            if "calendars" not in body.entries:
                ctx.report(body, "E102", "the policy file has no 'policies' list")
        elif isinstance(policies_node[1], YSeq):
            for index, item in enumerate(policies_node[1].items):
                draft = _policy(ctx, item, index)
                if draft is not None:
                    collected.drafts.append(draft)
        else:
            ctx.report(
                policies_node[1],
                "E103",
                f"'policies' must be a list, got {_describe(policies_node[1])}",
            )


def _status_map(ctx: _FileContext, node: YNode, status_map: dict[str, str]) -> None:
    body = ctx.mapping(node, "'statuses'")
    if body is None:
        return
    for name, (key, value) in body.entries.items():
        target = ctx.text(value, f"status '{name}'")
        if name in STATUSES:
            ctx.report(key, "E208", f"'{name}' is a built-in status; map only custom ones")
        elif target is not None and target not in STATUSES:
            ctx.report(
                value,
                "E208",
                f"custom status '{name}' must map to one of "
                f"{', '.join(STATUSES)}{_did_you_mean(target, STATUSES)}",
            )
        elif target is not None:
            if status_map.get(name, target) != target:
                ctx.report(
                    key, "E104", f"custom status '{name}' is already mapped to '{status_map[name]}'"
                )
            status_map[name] = target


def _resolve(collected: _Collected, extra: Mapping[str, BusinessCalendar]) -> tuple[Policy, ...]:
    always = AlwaysOpen(ALWAYS_OPEN)
    # The policy files' own calendars win over those contributed by plugins.
    calendars: dict[str, BusinessCalendar | None] = {ALWAYS_OPEN: always, **extra}
    calendars.update({name: entry[0] for name, entry in collected.calendars.items()})
    known = list(calendars)

    def lookup(
        ref: tuple[str, YNode] | None, ctx: _FileContext, default: BusinessCalendar
    ) -> BusinessCalendar | None:
        if ref is None:
            return default
        name, node = ref
        if name not in calendars:
            ctx.report(
                node,
                "E301",
                f"unknown calendar '{name}'; expected one of "
                f"{', '.join(known)}{_did_you_mean(name, known)}",
            )
            return None
        return calendars[name]  # None when the calendar itself was broken (already reported)

    policies: list[Policy] = []
    names: dict[str, _Draft] = {}
    catch_all: _Draft | None = None
    for draft in collected.drafts:
        ctx = draft.ctx
        if draft.name in names:
            first = names[draft.name]
            ctx.report(
                draft.name_node,
                "E302",
                f"policy name '{draft.name}' is already used at "
                f"{first.ctx.source}:{first.name_node.line}; names must be unique",
            )
        names.setdefault(draft.name, draft)
        if catch_all is not None:
            ctx.report(
                draft.name_node,
                "E304",
                f"policy '{draft.name}' can never apply: policy "
                f"'{catch_all.name}' ({catch_all.ctx.source}:{catch_all.name_node.line}) "
                "before it matches every ticket; move it up or give that one a 'match'",
            )
        if (
            draft.match is not None
            and draft.match.is_catch_all
            and "effective_from" not in draft.rules
            and catch_all is None
        ):
            catch_all = draft
        policy_calendar = lookup(draft.calendar_ref, ctx, always)
        metrics: list[MetricPolicy] = []
        complete = draft.match is not None and policy_calendar is not None
        for draft_metric in draft.metrics:
            metric_calendar = lookup(draft_metric.calendar_ref, ctx, policy_calendar or always)
            targets = draft_metric.targets
            if targets is None or metric_calendar is None or draft_metric.alerts is None:
                complete = False
                continue
            if any(seconds < 0 for seconds in targets.values()):
                day = metric_calendar.working_day()
                if day is None:
                    ctx.report(
                        draft_metric.key,
                        "E215",
                        f"working-day targets of {draft_metric.kind} need a calendar whose open "
                        f"days are all equally long; calendar '{metric_calendar.name}' is not; "
                        "write hours instead",
                    )
                    complete = False
                    continue
                targets = {p: -s * day if s < 0 else s for p, s in targets.items()}
            metrics.append(
                MetricPolicy(
                    draft_metric.kind,
                    MappingProxyType(targets),
                    metric_calendar,
                    draft_metric.pauses,
                    ctx.location(draft_metric.key),
                    draft_metric.alerts,
                    **draft_metric.rules,
                )
            )
        if complete and draft.match is not None and policy_calendar is not None:
            policies.append(
                Policy(
                    draft.name,
                    draft.match,
                    policy_calendar,
                    tuple(metrics),
                    draft.bot_replies_count,
                    draft.description,
                    ctx.location(draft.node),
                    **draft.rules,
                )
            )
    return tuple(policies)


def build_policy_set(
    documents: Sequence[tuple[str, YNode | None, list[Problem]]],
    calendars: Mapping[str, BusinessCalendar] = MappingProxyType({}),
    notifiers: Collection[str] | None = None,
    conditions: Mapping[str, Condition] | None = None,
) -> tuple[PolicySet | None, list[Problem]]:
    """Validate parsed documents ``(source, root, parse problems)`` into one policy set.

    ``calendars`` are named calendars from elsewhere (plugins) that policies may
    use; the files' own calendars take precedence. ``notifiers`` are the known
    notify targets; when given, any other name in ``notify`` is an error (E305).
    ``conditions`` are the custom match conditions by name; any other name in a
    match's ``conditions`` is an error (E307).
    Returns the set (``None`` when any error was found) and every problem, in
    file and line order. Problems whose code starts with ``W`` are warnings.
    """
    collected = _Collected(
        notifiers=None if notifiers is None else frozenset(notifiers),
        conditions=None if conditions is None else MappingProxyType(dict(conditions)),
    )
    for source, root, parse_problems in documents:
        collected.problems.extend(parse_problems)
        if root is not None:
            _file(root, source, collected)
    policies = _resolve(collected, calendars)
    found = collected.problems + [p for ctx in collected.contexts for p in ctx.problems]
    order = {source: i for i, (source, _, _) in enumerate(documents)}
    problems = sorted(found, key=lambda p: (order.get(p.source, 0), p.line, p.column, p.code))
    if any(p.code.startswith("E") for p in problems):
        return None, problems
    calendars = {p.calendar.name: p.calendar for p in policies}
    calendars.update({name: entry[0] for name, entry in collected.calendars.items() if entry[0]})
    return (
        PolicySet(
            policies,
            MappingProxyType(calendars),
            MappingProxyType(collected.status_map),
            tuple(source for source, _, _ in documents),
        ),
        problems,
    )


__all__ = ["ALWAYS_OPEN", "build_policy_set"]
