"""Evaluation results as CSV: one row per clock instance, one row per unmatched ticket.

``agreement`` is empty for the customer SLA's clocks, ``group`` for clocks not counted
per group, ``misses`` for clocks of a metric without ``misses: per_customer_message``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence

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
    """A function giving one ticket's CSV rows as text (each ending in ``\\n``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def render(result: TicketResult) -> str:
        writer.writerows(ticket_rows(result))
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    return render


def csv_lines(results: Iterable[TicketResult]) -> Iterator[str]:
    """CSV text with a header row; instants in UTC ending in ``Z``, empty for none."""
    yield csv_header()
    render = csv_renderer()
    for result in results:
        yield render(result)


__all__ = ["COLUMNS", "csv_header", "csv_lines", "csv_renderer", "ticket_rows"]
