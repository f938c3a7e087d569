"""Evaluation results as a terminal table for people, fitted to the terminal's width.

What a reader needs first — ticket id, metric, state, due time, time left —
is never cut. When the table is too wide for the terminal, the layout gives
way in steps instead: the policy moves under the ticket id, times lose their
year, then the start and stop columns go, and last the elapsed and target figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from slaengine.clocks import ACHIEVED, ACTIVE, BREACHED, CANCELLED, PAUSED
from slaengine.engine import TicketResult
from slaengine.metric_names import REPEATING, instance_name, repeated, repeating
from slaengine.report.labels import readable_duration
from slaengine.report.terminal import COLUMN_EXTRA
from slaengine.safetext import printable
from slaengine.words import plural

#: Metrics whose instance number is always shown (any other shows it from a second instance).
MULTI_INSTANCE = REPEATING

STATE_STYLES: dict[str, str] = {
    ACTIVE: "cyan",
    PAUSED: "yellow",
    ACHIEVED: "green",
    BREACHED: "bold red",
    CANCELLED: "dim",
}
LONG_TIME: Final = "%Y-%m-%d %H:%M"
SHORT_TIME: Final = "%m-%d %H:%M"
# Columns that are never shortened: what the table is read for.
_KEPT: Final = frozenset({"Ticket", "Metric", "State", "Due", "Left"})


def cell(text: str, style: str = "") -> Text:
    """A table cell of text from input files: shown as written, never read as markup,
    control characters escaped (see :mod:`slaengine.safetext`)."""
    return Text(printable(text), style=style)


def short_cell(text: str, limit: int, style: str = "") -> Text:
    """:func:`cell` of at most ``limit`` terminal columns, on one line: longer text keeps
    its start and its end around ``…`` (ids differ at either end: a prefix, a counter)."""
    shown = printable(text)
    if cell_len(shown) > limit:
        head = _fitting(shown, (limit - 1) // 2)
        tail = _fitting(shown[::-1], limit - 1 - cell_len(head))[::-1]
        shown = f"{head}\u2026{tail}"
    result = Text(shown, style=style)
    result.no_wrap = True
    return result


def _fitting(text: str, width: int) -> str:
    """The longest start of ``text`` within ``width`` columns (a wide character that would
    straddle the edge is left out, never cut in half)."""
    used = 0
    for end, char in enumerate(text):
        used += cell_len(char)
        if used > width:
            return text[:end]
    return text


def local_time(t: int | None, zone: dt.tzinfo, fmt: str = LONG_TIME) -> str:
    """``t`` (epoch seconds) as ``YYYY-MM-DD HH:MM`` in ``zone``; ``-`` for ``None``."""
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, zone).strftime(fmt)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which columns to show, whether the policy has its own column, the time format."""

    columns: tuple[str, ...]
    policy_column: bool
    time_format: str


_ALL: Final = ("Ticket", "Policy", "Metric", "State", "Start", "Due", "Stop",
               "Elapsed/target", "Left")  # fmt: skip
_LAYOUTS: Final = (
    _Layout(_ALL, True, LONG_TIME),
    _Layout(tuple(c for c in _ALL if c != "Policy"), False, LONG_TIME),
    _Layout(tuple(c for c in _ALL if c != "Policy"), False, SHORT_TIME),
    _Layout(
        ("Ticket", "Metric", "State", "Due", "Stop", "Elapsed/target", "Left"), False, SHORT_TIME
    ),
    _Layout(("Ticket", "Metric", "State", "Due", "Elapsed/target", "Left"), False, SHORT_TIME),
    # Agreements' and ownership clocks' names are long ("tier2-ola: first_response #1"):
    # the figures give way before the names and states do.
    _Layout(("Ticket", "Metric", "State", "Due", "Left"), False, SHORT_TIME),
)
_RIGHT: Final = frozenset({"Elapsed/target", "Left"})


@dataclass(frozen=True, slots=True)
class _Row:
    cells: dict[str, str]
    state: str
    first: bool  # the ticket's first row: a section starts here


def _rows(
    results: Iterable[TicketResult], zone: dt.tzinfo, fmt: str, states: Sequence[str] | None
) -> list[_Row]:
    rows: list[_Row] = []
    for result in results:
        policy = "unmatched" if result.policy is None else printable(result.policy.name)
        ticket = printable(result.ticket)
        clocks = [c for c in result.clocks if not states or c.state in states]
        if not states and (result.policy is None or not result.clocks):
            # One row saying why there are no clocks: no policy, or none started yet.
            cells = dict.fromkeys(_ALL, "-")
            cells |= {"Ticket": ticket, "Policy": policy, "Metric": "(no clocks)",
                      "Start": local_time(result.state.created, zone, fmt)}  # fmt: skip
            rows.append(_Row(cells, "", True))
        many = repeated([(c.metric, c.instance) for c in result.clocks])
        many |= repeating(result.policy)
        for n, clock in enumerate(clocks):
            repeats = clock.metric in many or clock.group is not None
            name = instance_name(clock.metric, clock.instance, repeats)
            if clock.group is not None:
                name += f" ({clock.group})"
            if clock.agreement is not None:
                # The column read first says whose promise it is: the agreement's.
                name = f"{clock.agreement}: {name}"
            cells = {
                "Ticket": ticket if n == 0 else "",
                "Policy": policy if n == 0 else "",
                "Metric": printable(name),
                "State": clock.state,
                "Start": local_time(clock.start, zone, fmt),
                "Due": local_time(clock.due, zone, fmt),
                "Stop": local_time(clock.stop, zone, fmt),
                "Elapsed/target": (
                    f"{readable_duration(clock.elapsed)} / {readable_duration(clock.target)}"
                ),
                "Left": readable_duration(clock.remaining) if clock.stop is None else "-",
            }
            rows.append(_Row(cells, clock.state, n == 0))
    return rows


def _widest(rows: Sequence[_Row], layout: _Layout, column: str) -> int:
    cells = [row.cells[column] for row in rows]
    if column == "Ticket" and not layout.policy_column:
        cells += [row.cells["Policy"] for row in rows if row.first]
    return max([len(column), *(len(cell) for cell in cells)])


def _fits(rows: Sequence[_Row], layout: _Layout, width: int) -> bool:
    needed = sum(_widest(rows, layout, c) + COLUMN_EXTRA for c in layout.columns)
    return needed <= width


def select_tickets(
    results: Sequence[TicketResult], states: Sequence[str] | None, limit: int | None
) -> tuple[list[TicketResult], int]:
    """The tickets to show and how many matched: with a clock in ``states``, the first ``limit``."""
    matching = [
        result
        for result in results
        if not states or any(clock.state in states for clock in result.clocks)
    ]
    return matching[:limit] if limit is not None else matching, len(matching)


def selection_line(shown: int, matching: int, states: Sequence[str] | None) -> str:
    """``2 of 5 tickets with a breached clock shown``: what ``--state``/``--limit`` left."""
    which = f" with a {' or '.join(states)} clock" if states else ""
    return f"{shown:,} of {plural(matching, 'ticket')}{which} shown"


def results_table(
    results: Iterable[TicketResult],
    timezone: str = "UTC",
    width: int | None = None,
    states: Sequence[str] | None = None,
) -> Table:
    """A table with one row per clock instance (one row for an unmatched ticket).

    ``width`` is the terminal's width in characters: the widest layout that
    fits is chosen (``None``: every column, as for a file or pipe). With
    ``states``, only clocks in those states are listed.
    """
    zone = ZoneInfo(timezone)
    results = list(results)
    layout = _LAYOUTS[0]
    rows = _rows(results, zone, layout.time_format, states)
    if width is not None:
        for candidate in _LAYOUTS:
            if candidate.time_format != layout.time_format:
                rows = _rows(results, zone, candidate.time_format, states)
            layout = candidate
            if _fits(rows, candidate, width):
                break
    title = f"SLA states (times in {timezone})"
    if layout.time_format == SHORT_TIME:
        years = sorted({local_time(t, zone, "%Y") for t in _instants(results)})
        title = f"SLA states (times in {timezone}, {', '.join(years) or 'no times'})"
    widths = {column: _widest(rows, layout, column) for column in layout.columns}
    if width is not None and not layout.policy_column:
        # Too wide still: the policy names under the ticket ids give way first.
        excess = sum(w + COLUMN_EXTRA for w in widths.values()) - width
        ids = max([len("Ticket"), *(len(row.cells["Ticket"]) for row in rows)])
        widths["Ticket"] = max(ids, widths["Ticket"] - max(excess, 0))
    table = Table(
        title=title,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    for column in layout.columns:
        table.add_column(
            column,
            justify="right" if column in _RIGHT else "left",
            no_wrap=True,
            width=widths[column],
            min_width=widths[column] if column in _KEPT else None,
            overflow="ellipsis",
        )
    for n, row in enumerate(rows):
        if row.first and n:
            table.add_section()
        cells: list[str | Text] = []
        for column in layout.columns:
            value = row.cells[column]
            if column == "State" and row.state:
                cells.append(Text(value, style=STATE_STYLES.get(row.state, "")))
            elif column == "Ticket" and not layout.policy_column and not row.first:
                # Without a policy column, the policy is read under the ticket id.
                under = rows[n - 1].cells["Policy"] if rows[n - 1].first else ""
                cells.append(Text(under, style="dim"))
            elif column == "Policy" and value == "unmatched":
                cells.append(Text(value, style="magenta"))
            else:
                # Text, not a string: ids and names from input files are never markup.
                cells.append(Text(value))
        table.add_row(*cells)
        alone = row.first and (n + 1 == len(rows) or rows[n + 1].first)
        if alone and not layout.policy_column:
            policy = Text(row.cells["Policy"], style="dim")
            table.add_row(policy, *[""] * (len(layout.columns) - 1))
    return table


def _instants(results: Sequence[TicketResult]) -> list[int]:
    found: list[int] = []
    for result in results:
        found.append(result.state.created)
        for clock in result.clocks:
            found.extend(t for t in (clock.start, clock.due, clock.stop) if t is not None)
    return found


__all__ = [
    "STATE_STYLES",
    "local_time",
    "results_table",
    "select_tickets",
    "selection_line",
    "short_cell",
]
