"""A ticket explanation rendered for people (rich panels and tables) and tools (JSON)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from slaengine.calendar import format_utc
from slaengine.clocks import ClockResult
from slaengine.explain import (
    CLOSED,
    PAUSED,
    RUNNING,
    STOPPED,
    AgreementAttachment,
    CalendarInfo,
    ClockExplanation,
    Explanation,
    Segment,
    attributes,
)
from slaengine.explain_notes import at_line
from slaengine.metric_names import instance_name, repeated, repeating
from slaengine.policy.definition import Trigger
from slaengine.report.json import alert_to_dict
from slaengine.report.labels import readable_duration
from slaengine.report.table import STATE_STYLES, cell
from slaengine.safetext import printable
from slaengine.words import plural

#: Below these widths the segment table drops the year, then the Real column and its
#: borders, so its Note still has room on an 80-column terminal.
SHORT_TIMES_BELOW = 120
COMPACT_BELOW = 100

SEGMENT_STYLES: dict[str, str] = {
    RUNNING: "cyan",
    PAUSED: "yellow",
    CLOSED: "dim",
    STOPPED: "magenta",
}


def _utc(t: int | None) -> str | None:
    return None if t is None else format_utc(t)


# -- JSON ---------------------------------------------------------------------


def _calendar_dict(info: CalendarInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "timezone": info.timezone,
        "hours": list(info.hours),
        "holidays": {"countries": list(info.holiday_countries), "dates": list(info.holiday_dates)},
        # Only for calendars a calendar map chose, so other explanations keep their shape.
        **({"chosen_by": info.chosen_by} if info.chosen_by else {}),
        # As in `metrics`: an agreement's metric is its plain name beside the agreement.
        **({"agreement": info.agreement} if info.agreement else {}),
    }


def _segment_dict(segment: Segment) -> dict[str, Any]:
    return {
        "kind": segment.kind,
        "from": format_utc(segment.start),
        "to": format_utc(segment.end),
        "status": segment.status,
        "condition": segment.condition,
        "real_seconds": segment.real,
        "business_seconds": segment.business,
        "paused_open_seconds": segment.paused_open,
        "elapsed_after_seconds": segment.elapsed_after,
        "breach_at": _utc(segment.breach_at),
    }


def _trigger_text(trigger: Trigger | None) -> str | None:
    """A recorded trigger as written in the metric's definition (``group tier2``)."""
    return None if trigger is None else trigger.text


def _detach_dict(attached: AgreementAttachment) -> dict[str, Any]:
    """An attachment's re-attachment number and detach, when it has them (JSON)."""
    out: dict[str, Any] = {}
    if attached.number > 1:
        out["attachment"] = attached.number
    if attached.detached_at is not None:
        out["detached"] = format_utc(attached.detached_at)
        out["detached_line"] = attached.detached_line
        out["failed"] = list(attached.failed)
    return out


def _alert_dicts(clock: ClockResult, now: int) -> list[dict[str, Any]]:
    """The clock's warnings and escalations as the engine computed them, each reached or not."""
    return [alert_to_dict(a, now) for a in clock.alerts]


def _alerts_text(clock: ClockResult, now: int, when: Callable[[int], str]) -> list[str]:
    """One line per alert: when it was reached, will be reached, or why not."""
    lines = []
    for alert in clock.alerts:
        if alert.at is None:
            timing = "not reached (the clock stopped or is paused first)"
        elif alert.at <= now:
            timing = f"reached {when(alert.at)}"
        else:
            timing = f"due {when(alert.at)}"
        notify = f" -> {', '.join(alert.notify)}" if alert.notify else ""
        lines.append(f"{alert.kind} {alert.level}: {timing}{notify}")
    return lines


def _clock_dict(item: ClockExplanation, now: int) -> dict[str, Any]:
    clock = item.clock
    record = clock.record
    out = {
        "metric": clock.metric,
        "instance": clock.instance,
        "state": clock.state,
        "start": format_utc(clock.start),
        "start_line": item.start_line,
        "start_trigger": _trigger_text(record.start_trigger if record else None),
        "stop": _utc(clock.stop),
        "stop_line": item.stop_line,
        "stop_trigger": _trigger_text(record.stop_trigger if record else None),
        "stop_reason": clock.stop_reason,
        "stop_text": item.stop_text,
        "agent": clock.agent,
        "due": _utc(clock.due),
        "due_hidden_by": item.due_hidden_by,
        "elapsed_seconds": clock.elapsed,
        "uncounted_seconds": item.uncounted,
        "paused_seconds": clock.paused,
        "target_seconds": clock.target,
        "remaining_seconds": clock.remaining,
        "priority": clock.priority,
        "start_priority": item.start_priority,
        "priority_changes": [
            {"at": format_utc(c.at), "line": c.line, "from": c.old, "to": c.new}
            for c in item.priority_changes
        ],
        "calendar": clock.calendar,
        "pause_when": list(item.pause_when),
        "pause_conditions": list(item.pause_conditions),
        "breach_at": _utc(b.breach_at) if (b := item.breach_segment) else None,
        "segments": [_segment_dict(s) for s in item.segments],
        "notes": [{"code": n.code, "text": n.render(format_utc)} for n in item.notes],
        "alerts": _alert_dicts(clock, now),
    }
    # Only an agreement's clock says so: the customer SLA's clocks read as before.
    if clock.agreement is not None:
        out["agreement"] = clock.agreement
    if clock.group is not None:
        out["group"] = clock.group
    if clock.misses is not None:  # only under misses: per_customer_message
        out["misses"] = clock.misses
    return out


def explanation_to_dict(explanation: Explanation) -> dict[str, Any]:
    """The explanation as a JSON-ready dict: stable keys, instants in UTC ending in ``Z``,
    durations in seconds; ``agreements`` only when some internal agreement attached."""
    out = {
        "ticket": explanation.ticket,
        "at": format_utc(explanation.now),
        "created": format_utc(explanation.created),
        "exists": explanation.exists,
        "attributes": attributes(explanation.state),
        "attribute_changes": [
            {
                "at": format_utc(c.at),
                "line": c.line,
                "attribute": c.attribute,
                "from": c.old,
                "to": c.new,
            }
            for c in explanation.attribute_changes
        ],
        "policy": explanation.policy.name if explanation.policy else None,
        "matched": explanation.matched,
        "selection": [
            {
                "policy": check.name,
                "location": check.location,
                "matched": check.matched,
                "held": list(check.held),
                "failed": list(check.why_not(format_utc)),
                "effective_from": _utc(check.effective_from),
            }
            for check in explanation.checks
        ],
        "selection_history": [
            {"from": format_utc(s.at), "line": s.line, "policy": s.policy}
            for s in explanation.selection_history
        ],
        "calendars": [
            {"metric": metric, **_calendar_dict(info)} for metric, info in explanation.calendars
        ],
        "metrics": [_clock_dict(item, explanation.now) for item in explanation.clocks],
        "events": [
            {
                "line": use.event.line,
                "at": format_utc(use.event.at),
                "type": use.event.type,
                "summary": use.summary,
                "used": use.used,
            }
            for use in explanation.events
        ],
        "notes": [{"code": n.code, "text": n.render(format_utc)} for n in explanation.notes],
    }
    if explanation.agreements:
        out["agreements"] = [
            {
                "name": a.name,
                "kind": a.kind,
                "starts": a.starts,
                "attached": format_utc(a.at),
                "line": a.line,
                "conditions": list(a.conditions),
                **_detach_dict(a),
            }
            for a in explanation.agreements
        ]
    return out


# -- terminal -----------------------------------------------------------------


def _formatter(zone: dt.tzinfo, year: bool = True) -> Callable[[int], str]:
    pattern = "%a %Y-%m-%d %H:%M" if year else "%a %m-%d %H:%M"

    def when(t: int) -> str:
        local = dt.datetime.fromtimestamp(t, zone)
        text = local.strftime(pattern)
        return text + local.strftime(":%S") if local.second else text

    return when


def _value(value: object) -> str:
    if value is None or value in ({}, []):
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v!r}" for k, v in value.items())
    return str(value)


def _plain(grid: Table, label: str, text: str) -> None:
    grid.add_row(label, cell(text))


def _ticket_panel(explanation: Explanation, when: Callable[[int], str], zone: str) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    _plain(grid, "created", when(explanation.created))
    for name, value in attributes(explanation.state).items():
        _plain(grid, name, _value(value))
    for change in explanation.attribute_changes:
        grid.add_row(
            "",
            cell(
                f"{change.attribute} changed from {_value(change.old)} to {_value(change.new)} "
                f"at {when(change.at)}{at_line(change.line)}",
                style="italic",
            ),
        )
    # Text, not a string: a ticket id from the events is never read as markup.
    title = cell(f"Ticket {explanation.ticket} at {when(explanation.now)} (times in {zone})")
    return Panel(grid, title=title, title_align="left")


def _selection(explanation: Explanation, when: Callable[[int], str]) -> RenderableType:
    table = Table(header_style="bold", show_lines=True, expand=False)
    table.add_column("Policy", no_wrap=True)
    table.add_column("Where", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    table.add_column("Why")
    for check in explanation.checks:
        result = Text("matched", style="green") if check.matched else Text("no match", style="dim")
        why = check.held if check.matched else check.why_not(when)
        table.add_row(Text(check.name), check.location or "-", result, Text("\n".join(why)))
    parts: list[RenderableType] = []
    if explanation.policy is None:
        alone = (
            "No policy matches this ticket: only its agreements' clocks run."
            if explanation.agreements
            else "No policy matches this ticket: it has no clocks."
        )
        parts.append(Text(alone, style="bold magenta"))
    else:
        parts.append(
            Text.assemble(
                "Policy ",
                (explanation.policy.name, "bold"),
                " applies: the first policy whose conditions all hold.",
            )
        )
    parts.append(table)
    for attached in explanation.agreements:
        held = "; ".join(attached.conditions) or "it matches every ticket"
        since = (
            "its clocks count from then"
            if attached.starts == "attached"
            else ("its clocks count from the creation (starts: created)")
        )
        if attached.number > 1:
            since = "its clocks count from then, as new instances"
        verb = "attached" if attached.number == 1 else "attached again"
        left = ""
        if attached.detached_at is not None:
            failed = "; ".join(attached.failed) or "its match stopped holding"
            left = (
                f" Detached at {when(attached.detached_at)}{at_line(attached.detached_line)}: "
                f"{failed}; its running clocks stopped there (on_unmatch: detach)."
            )
        parts.append(
            Text.assemble(
                "Agreement ",
                (attached.name, "bold"),
                f" ({attached.kind}) {verb} at {when(attached.at)}{at_line(attached.line)}: "
                f"{held}; {since}.{left}",
            )
        )
    parts.append(
        Text(
            "Selection uses the ticket's attributes at the evaluation instant (above); the "
            "policy then applies to the whole ticket, from its creation.",
            style="italic",
        )
    )
    history = explanation.selection_history
    if len(history) > 1:
        lines = [f"from {when(s.at)}{at_line(s.line)}: {s.policy or 'no policy'}" for s in history]
        parts.append(
            Text("Its attributes selected different policies over time:\n  " + "\n  ".join(lines))
        )
    return Panel(Group(*parts), title="Policy selection", title_align="left")


def _calendars(explanation: Explanation) -> Table:
    table = Table(title="Calendars", title_justify="left", header_style="bold")
    chosen = any(info.chosen_by for _, info in explanation.calendars)
    columns = ("Metric", "Calendar", "Time zone", "Hours", "Holidays")
    for column in (*columns, "Chosen by") if chosen else columns:
        table.add_column(column)
    for metric, info in explanation.calendars:
        holidays = [f"public holidays {c}" for c in info.holiday_countries]
        holidays += list(info.holiday_dates)
        row: list[str | Text] = [
            cell(metric if info.agreement is None else f"{info.agreement}: {metric}"),
            Text(info.name),
            info.timezone or "-",
            "\n".join(info.hours),
            "\n".join(holidays) or "-",
        ]
        if chosen:
            row.append(Text(info.chosen_by or "-"))
        table.add_row(*row)
    return table


def _clock_title(item: ClockExplanation, repeats: frozenset[str]) -> Text:
    clock = item.clock
    repeating = clock.metric in repeats or clock.group is not None
    name = instance_name(clock.metric, clock.instance, repeating)
    if clock.group is not None:
        name += f" (group {clock.group})"
    if clock.agreement is not None:
        name = f"{clock.agreement}: {name}"
    return Text.assemble(
        (printable(name), "bold"), " ", (clock.state, STATE_STYLES.get(clock.state, ""))
    )


def _segment_note(segment: Segment, when: Callable[[int], str]) -> str:
    if segment.breach_at is not None:
        return f"breached here at {when(segment.breach_at)}"
    if segment.kind == PAUSED:
        what = f"while {segment.condition}" if segment.condition else f"status {segment.status}"
        return f"{what}; {readable_duration(segment.paused_open)} open time paused"
    if segment.kind == STOPPED:
        return f"ticket {segment.status}"
    if segment.kind == CLOSED:
        return "outside open hours"
    return ""


def _misses_text(misses: int) -> str:
    """What a clock's misses (``misses: per_customer_message``) count, for people."""
    if not misses:
        return "0 (within its target; misses: per_customer_message)"
    later = misses - 1
    if not later:
        return "1: the breach (misses: per_customer_message)"
    messages = f"{later} customer message{'s' if later != 1 else ''} written after the due"
    return f"{misses}: the breach and {messages} (misses: per_customer_message)"


def _clock_panel(
    item: ClockExplanation,
    when: Callable[[int], str],
    repeats: frozenset[str],
    now: int,
    segment_when: Callable[[int], str],
    compact: bool = False,
) -> Panel:
    clock = item.clock
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    _plain(grid, "start", when(clock.start) + at_line(item.start_line))
    if clock.stop is None:
        _plain(grid, "stop", f"{item.stop_text} at {when(item.end)}")
    else:
        _plain(grid, "stop", f"{when(clock.stop)}{at_line(item.stop_line)}: {item.stop_text}")
    _plain(
        grid,
        "target",
        (
            f"{plural(item.target_days, 'working day')} (day_targets: {item.day_targets}), "
            "for this clock "
            if item.target_days
            else ""
        )
        + f"{readable_duration(clock.target)} business time, for priority {clock.priority}"
        + (f" (was {item.start_priority} at the start)" if item.priority_changes else ""),
    )
    _plain(grid, "calendar", f"{clock.calendar} ({item.calendar.timezone or 'always open'})")
    if item.pause_when or item.pause_conditions:
        _plain(grid, "paused when", ", ".join((*item.pause_when, *item.pause_conditions)))
    if item.due_hidden_by is not None:
        due = f"hidden while the ticket is {item.due_hidden_by} (hide_when)"
    elif clock.due is None:
        due = "unknown while paused"
    elif clock.stop is None and clock.start > item.end:
        due = when(clock.due) + " (counted from the start)"
    else:
        due = when(clock.due)
    _plain(grid, "due", due)
    left = f", {readable_duration(clock.remaining)} left" if clock.stop is None else ""
    _plain(
        grid,
        "elapsed",
        f"{readable_duration(clock.elapsed)} of {readable_duration(clock.target)}{left}; "
        f"paused {readable_duration(clock.paused)} of open time",
    )
    if clock.misses is not None:
        _plain(grid, "misses", _misses_text(clock.misses))
    for number, line in enumerate(_alerts_text(clock, now, when)):
        _plain(grid, "" if number else "alerts", line)
    for note in item.notes:
        _plain(grid, "note", note.render(when))
    return Panel(
        Group(grid, _segments(item, segment_when, compact)),
        title=_clock_title(item, repeats),
        title_align="left",
    )


def _segments(item: ClockExplanation, at: Callable[[int], str], compact: bool) -> Table:
    """The segment table; ``compact`` (a narrow terminal) drops the Real column and borders."""
    table = Table(
        header_style="bold",
        expand=False,
        box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
        show_edge=not compact,
        padding=(0, 0 if compact else 1),  # compact: the box's blank separator is the gap
    )
    table.add_column("Segment", no_wrap=True)
    table.add_column("From", no_wrap=True)
    table.add_column("To", no_wrap=True)
    if not compact:
        table.add_column("Real", justify="right", no_wrap=True)
    table.add_column("Counts", justify="right", no_wrap=True)
    table.add_column("Elapsed", justify="right", no_wrap=True)
    table.add_column("Note", min_width=12)
    for segment in item.segments:
        real = () if compact else (readable_duration(segment.real),)
        table.add_row(
            Text(segment.kind, style=SEGMENT_STYLES.get(segment.kind, "")),
            at(segment.start),
            at(segment.end),
            *real,
            readable_duration(segment.business) if segment.kind == RUNNING else "-",
            readable_duration(segment.elapsed_after),
            Text(
                _segment_note(segment, at),
                style="bold red" if segment.breach_at is not None else "",
            ),
        )
    return table


def _events(explanation: Explanation, when: Callable[[int], str]) -> Table:
    table = Table(title="Events", title_justify="left", header_style="bold")
    # Events from the live state have no line in a file (line 0): no column for it.
    lines = any(use.event.line for use in explanation.events)
    if lines:
        table.add_column("Line", justify="right", no_wrap=True)
    table.add_column("At", no_wrap=True)
    table.add_column("Event")
    table.add_column("Used", no_wrap=True)
    for use in explanation.events:
        table.add_row(
            *([str(use.event.line)] if lines else []),
            when(use.event.at),
            cell(use.summary),
            "yes" if use.used else Text("ignored (after --at)", style="dim"),
        )
    return table


def explanation_renderables(
    explanation: Explanation, timezone: str = "UTC", width: int | None = None
) -> Iterator[RenderableType]:
    """Panels and tables for a terminal, in reading order; times in ``timezone``.

    ``width`` is the terminal's, when the output must fit one (``None``: a file).
    """
    zone = ZoneInfo(timezone)
    when = _formatter(zone)
    short = width is not None and width < SHORT_TIMES_BELOW
    segment_when = _formatter(zone, year=False) if short else when
    compact = width is not None and width < COMPACT_BELOW
    if not explanation.exists:
        yield cell(
            f"Ticket {explanation.ticket} was created at {when(explanation.created)}, after the "
            f"evaluation instant {when(explanation.now)}: it has no policy or clocks yet."
        )
        yield _events(explanation, when)
        return
    yield _ticket_panel(explanation, when, timezone)
    yield _selection(explanation, when)
    if explanation.calendars:
        yield _calendars(explanation)
    for note in explanation.notes:
        yield Text(note.render(when))
    if explanation.policy is not None and not explanation.clocks and not explanation.notes:
        yield Text("No clock has started (the ticket was created solved or closed).")
    repeats = repeated([(item.clock.metric, item.clock.instance) for item in explanation.clocks])
    repeats |= repeating(explanation.policy)
    for item in explanation.clocks:
        yield _clock_panel(item, when, repeats, explanation.now, segment_when, compact)
    yield _events(explanation, when)


__all__ = ["explanation_renderables", "explanation_to_dict"]
