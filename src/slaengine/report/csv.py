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
    when no value needs quoting (the usual ticket), by the writer otherwise.
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
        text = _plain_rows(result)
        # Plain only when no value held a delimiter, a quote or a line break (which
        # the writer would quote): every row then has its commas and one line end.
        rows = len(result.clocks) or 1
        if (
            text.count(",") == _COMMAS * rows
            and text.count("\n") == rows
            and '"' not in text
            and "\r" not in text
            and "\x00" not in text
        ):
            return text
        return written(result)

    return render


_COMMAS: Final = len(COLUMNS) - 1


def _plain_rows(result: TicketResult) -> str:
    # ticket_rows' values joined by commas, None empty, numbers as str() writes them.
    state = result.state
    policy = result.policy
    head = (
        f"{result.ticket},{'' if policy is None else policy.name},{_cell(state.channel)},"
        f"{_cell(state.priority)},{_cell(state.status)}"
    )
    if not result.clocks:
        return head + "," * len(CLOCK_COLUMNS) + "\n"
    return "".join(
        [
            f"{head},{clock.metric},{clock.instance},{clock.state},{_utc(clock.start)},"
            f"{_utc(clock.due)},{_utc(clock.stop)},{_cell(clock.stop_reason)},{clock.elapsed},"
            f"{clock.target},{clock.remaining},{clock.paused},{clock.calendar},"
            f"{_cell(clock.agent)},{_cell(clock.agreement)},{_cell(clock.group)},"
            f"{_cell(clock.misses)}\n"
            for clock in result.clocks
        ]
    )


def _cell(value: object) -> object:
    return "" if value is None else value


def _utc(t: int | None) -> str:
    # format_utc's text (empty for none) from two tables: the hour's "YYYY-MM-DDTHH:"
    # and the rest's "MM:SSZ".
    if t is None:
        return ""
    hour, rest = divmod(t, 3600)
    text = _HOURS.get(hour)
    if text is None:
        if len(_HOURS) >= _MAX_HOURS:
            _HOURS.clear()
        text = _HOURS[hour] = format_utc(hour * 3600)[:14]
    return text + _MINUTES_SECONDS[rest]


_HOURS: dict[int, str] = {}
_MAX_HOURS: Final = 1 << 16
_MINUTES_SECONDS: Final = tuple(f"{s // 60:02d}:{s % 60:02d}Z" for s in range(3600))


def csv_lines(results: Iterable[TicketResult]) -> Iterator[str]:
    """CSV text with a header row; instants in UTC ending in ``Z``, empty for none."""
    yield csv_header()
    render = csv_renderer()
    for result in results:
        yield render(result)


__all__ = ["COLUMNS", "csv_header", "csv_lines", "csv_renderer", "ticket_rows"]
