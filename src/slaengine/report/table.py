"""Evaluation results as a terminal table for people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text

from slaengine.clocks import ACHIEVED, ACTIVE, BREACHED, CANCELLED, PAUSED
from slaengine.durations import format_duration
from slaengine.engine import TicketResult
from slaengine.policy.model import NEXT_RESPONSE, PERIODIC_UPDATE
from slaengine.safetext import printable

MULTI_INSTANCE = frozenset({NEXT_RESPONSE, PERIODIC_UPDATE})

STATE_STYLES: dict[str, str] = {
    ACTIVE: "cyan",
    PAUSED: "yellow",
    ACHIEVED: "green",
    BREACHED: "bold red",
    CANCELLED: "dim",
}


def cell(text: str, style: str = "") -> Text:
    """A table cell of text from input files: shown as written, never read as markup,
    control characters escaped (see :mod:`slaengine.safetext`)."""
    return Text(printable(text), style=style)


def local_time(t: int | None, zone: dt.tzinfo) -> str:
    """``t`` (epoch seconds) as ``YYYY-MM-DD HH:MM`` in ``zone``; ``-`` for ``None``."""
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M")


def results_table(results: Iterable[TicketResult], timezone: str = "UTC") -> Table:
    """A table with one row per clock instance (one row for an unmatched ticket)."""
    zone = ZoneInfo(timezone)
    table = Table(title=f"SLA states (times in {timezone})", header_style="bold")
    for column in ("Ticket", "Policy", "Metric", "State", "Start", "Due", "Stop"):
        table.add_column(column, no_wrap=True)
    table.add_column("Elapsed / target", justify="right", no_wrap=True)
    table.add_column("Left", justify="right", no_wrap=True)
    for result in results:
        if result.policy is None or not result.clocks:
            # One row saying why there are no clocks: no policy, or none started yet.
            policy = (
                Text("unmatched", style="magenta")
                if result.policy is None
                else cell(result.policy.name)
            )
            created = local_time(result.state.created, zone)
            table.add_row(cell(result.ticket), policy, "(no clocks)", "-", created, *["-"] * 4)
        first = True
        for clock in result.clocks:
            many = clock.metric in MULTI_INSTANCE
            metric = f"{clock.metric} #{clock.instance}" if many else clock.metric
            left = format_duration(clock.remaining) if clock.stop is None else "-"
            table.add_row(
                cell(result.ticket) if first else "",
                cell(result.policy.name) if first and result.policy else "",
                metric,
                Text(clock.state, style=STATE_STYLES.get(clock.state, "")),
                local_time(clock.start, zone),
                local_time(clock.due, zone),
                local_time(clock.stop, zone),
                f"{format_duration(clock.elapsed)} / {format_duration(clock.target)}",
                left,
            )
            first = False
        table.add_section()
    return table


__all__ = ["STATE_STYLES", "cell", "local_time", "results_table"]
