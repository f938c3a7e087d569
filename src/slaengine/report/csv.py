"""Evaluation results as CSV: one row per clock instance, one row per unmatched ticket.

``agreement`` is empty for the customer SLA's clocks, ``group`` for clocks not counted
per group, ``misses`` for clocks of a metric without ``misses: per_customer_message``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

from slaengine.calendar import format_utc
from slaengine.engine import TicketResult
from slaengine.report.json import BoundedCache, HourTexts
from slaengine.vocabulary import ClockState, StopReason

TICKET_COLUMNS = ("ticket", "policy", "channel", "priority", "status")
CLOCK_COLUMNS = (
    "metric", "instance", "state", "start", "due", "stop", "stop_reason", "elapsed_seconds",
    "target_seconds", "remaining_seconds", "paused_seconds", "calendar", "agent",
    "agreement", "group", "misses",
)  # fmt: skip
COLUMNS = TICKET_COLUMNS + CLOCK_COLUMNS
# A ticket without clocks leaves the clock columns empty.
_NO_CLOCK = ("",) * len(CLOCK_COLUMNS)


def _when(t: int | None) -> str | None:
    return None if t is None else format_utc(t)


def ticket_rows(result: TicketResult) -> list[Sequence[object]]:
    """The CSV rows of one ticket, values in :data:`COLUMNS` order (``None`` is empty).

    The values of :func:`~slaengine.report.json.ticket_to_dict` under those keys.
    """
    state = result.state
    ticket = (
        result.ticket,
        result.policy.name if result.policy is not None else None,
        state.channel,
        state.priority,
        state.status,
    )
    if not result.clocks:
        return [ticket + _NO_CLOCK]
    # Lists, not tuples: a 20-value tuple is past CPython's tuple free lists, and a
    # streamed evaluation's peak memory then grows with the tickets written.
    return [
        [
            *ticket,
            clock.metric,
            clock.instance,
            clock.state,
            format_utc(clock.start),
            _when(clock.due),
            _when(clock.stop),
            clock.stop_reason,
            clock.elapsed,
            clock.target,
            clock.remaining,
            clock.paused,
            clock.calendar,
            clock.agent,
            clock.agreement,
            clock.group,
            clock.misses,
        ]
        for clock in result.clocks
    ]


def csv_header() -> str:
    """The header row's text."""
    return ",".join(COLUMNS) + "\n"


def csv_renderer() -> Callable[[TicketResult], str]:
    """A function giving one ticket's CSV rows as text (each ending in ``\n``).

    The text :mod:`csv`'s writer gives for :func:`ticket_rows`: written out directly
    when the ticket id needs no quoting (the usual ticket), by the writer otherwise.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def written(result: TicketResult) -> str:
        writer.writerows(ticket_rows(result))
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    def render(result: TicketResult) -> str:
        ticket = result.ticket
        # The writer leaves a printable id without a delimiter or a quote as it is;
        # any other id (a line break, a NUL, a comma) goes through the writer.
        if ticket.isprintable() and "," not in ticket and '"' not in ticket:
            return _plain_rows(result)
        return written(result)

    return render


def _plain_rows(result: TicketResult) -> str:
    # ticket_rows' values as the writer writes them, joined by commas: the ticket id as it
    # is (the caller checked it), names through _CELLS, numbers as str() writes them,
    # instants from the hour and second tables (subscripts: millions of rows).
    cells = _CELLS
    hours = _HOURS
    rest = _MINUTES_SECONDS
    state = result.state
    policy = result.policy
    head = (
        f"{result.ticket},{cells[None if policy is None else policy.name]},"
        f"{cells[state.channel]},{cells[state.priority]},{cells[state.status]},"
    )
    if not result.clocks:
        return head + _EMPTY_CLOCK
    rows = []
    for clock in result.clocks:
        start = clock.start
        due = clock.due
        stop = clock.stop
        misses = clock.misses
        # The state and the stop reason are enum members (plain words, written as they
        # are), whose hash is Python code: only other text goes through _CELLS.
        stands = clock.state
        if type(stands) is not ClockState:
            stands = cells[stands]
        reason = clock.stop_reason
        if reason is None:
            reason = ""
        elif type(reason) is not StopReason:
            reason = cells[reason]
        elapsed = clock.elapsed
        target = clock.target
        rows.append(
            f"{head}{cells[clock.metric]},{clock.instance},{stands},"
            f"{hours[start // 3600]}{rest[start % 3600]},"
            f"{'' if due is None else hours[due // 3600] + rest[due % 3600]},"
            f"{'' if stop is None else hours[stop // 3600] + rest[stop % 3600]},"
            f"{reason},{elapsed},{target},{target - elapsed},"
            f"{clock.paused},{cells[clock.calendar]},{cells[clock.agent]},"
            f"{cells[clock.agreement]},{cells[clock.group]},"
            f"{'' if misses is None else misses}\n"
        )
    return "".join(rows)


def _cell(value: str | None) -> str:
    # A name's cell text as the CSV writer writes it (empty for None). The writer quotes
    # each field by its own text, so a field's text in a row of two is its text in any row.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow((value, ""))
    return buffer.getvalue()[:-2]


def _hour(hour: int) -> str:
    # "YYYY-MM-DDTHH:": format_utc's text of the hour without "MM:SSZ".
    return format_utc(hour * 3600)[:-6]


# Metrics, states, calendars, agents and the like repeat on every row.
_CELLS: Final[BoundedCache[str | None, str]] = BoundedCache(_cell)
# An instant t is _HOURS[t // 3600] + _MINUTES_SECONDS[t % 3600]: format_utc's text.
_HOURS: Final = HourTexts(_hour)
_MINUTES_SECONDS: Final = tuple(f"{s // 60:02d}:{s % 60:02d}Z" for s in range(3600))
# The clock columns of a ticket without clocks, empty, and its line end.
_EMPTY_CLOCK: Final = "," * (len(CLOCK_COLUMNS) - 1) + "\n"


def csv_lines(results: Iterable[TicketResult]) -> Iterator[str]:
    """CSV text with a header row; instants in UTC ending in ``Z``, empty for none."""
    yield csv_header()
    render = csv_renderer()
    for result in results:
        yield render(result)


__all__ = ["COLUMNS", "csv_header", "csv_lines", "csv_renderer", "ticket_rows"]
