"""The HTML report's charts over time: compliance and volume per period, created versus solved.

Both are panels of lines sharing one axis of periods (by ticket creation, or
by final solve), drawn by :func:`time_chart`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slaengine.report.html.svg import (
    ACHIEVED,
    BACKLOG,
    GRID,
    MUTED,
    VOLUME,
    Ids,
    chart_svg,
    esc,
    fmt_count,
    fmt_num,
    fmt_pct,
    key_name,
    legend,
    legend_rows,
    nice_max,
    svg_line,
    svg_text,
)
from slaengine.words import plural


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its colour and legend label, a value per period (``None``: a gap), tooltips."""

    colour: str
    label: str
    values: Sequence[float | None]
    tips: Sequence[str]


@dataclass(frozen=True, slots=True)
class Panel:
    """A band of the chart: its axis name, whether values are shares (0-100 %), its lines."""

    name: str
    share: bool
    series: Sequence[Series]
    height: float = 150.0


def time_chart(
    ids: Ids,
    chart_id: str,
    title: str,
    periods: Sequence[str],
    panels: Sequence[Panel],
    caption: str,
    desc: str,
    running: str | None = None,
    narrow: bool = False,
    unit: str = "period",
) -> str:
    """Panels of lines over one axis of ``periods`` (each a ``unit``: day, week, month);
    the period ``running`` is marked ``*``."""
    left, right = (48.0, 10.0) if narrow else (64.0, 48.0)
    n = len(periods)
    plot_w = 300.0 if narrow else max(800.0, 14.0 * n)
    width = left + plot_w + right
    items = [(s.colour, s.label) for panel in panels for s in panel.series]
    # Narrow, the first panel's name sits under the legend rather than beside it.
    top = 62.0 + (legend_rows(left, items, width) - 1) * 18 if narrow else 44.0
    body = legend(left, 18, items, width if narrow else None)

    def x_of(i: int) -> float:
        return left + plot_w / 2 if n == 1 else left + plot_w * i / (n - 1)

    y0 = top
    for panel in panels:
        _panel(body, panel, x_of, left, plot_w, y0)
        y0 += panel.height + 58
    bottom = y0 - 58
    every = max(1, math.ceil(n / (4 if narrow else 12)))
    marked = periods.index(running) if running in periods else None
    for i, period in enumerate(periods):
        near_mark = marked is not None and i != marked and abs(i - marked) < every
        if (i % every == 0 and not near_mark) or i == marked:
            text = period + (" *" if i == marked else "")
            body.append(
                svg_text(x_of(i), bottom + 18, text, text_anchor="middle", fill=MUTED,
                         font_size="11")
            )  # fmt: skip
    lines = [caption]
    if marked is not None:
        note = f"* not over at the audit instant: partial {unit}"
        lines = [caption, f"({note})"] if narrow else [f"{caption} ({note})"]
    for k, line in enumerate(lines):
        body.append(
            svg_text(left + plot_w / 2, bottom + 40 + 15 * k, line, text_anchor="middle",
                     fill=MUTED, font_size="11")
        )  # fmt: skip
    if not periods:
        body.append(svg_text(left + 10, top + 30, "No tickets.", fill=MUTED))
    height = bottom + 44 + 15 * len(lines)
    return chart_svg(ids, chart_id, width, height, title, desc or "no data", body, narrow)


def _panel(
    body: list[str],
    panel: Panel,
    x_of: Callable[[int], float],
    left: float,
    plot_w: float,
    top: float,
) -> None:
    # One band: its axis, grid lines and each series' line and points.
    height = panel.height
    body.append(svg_text(8, top - 16, panel.name, fill=MUTED, font_size="11"))
    values = [v for s in panel.series for v in s.values if v is not None]
    highest = 1.0 if panel.share else nice_max(max(values, default=0))
    steps = 4 if panel.share else 2
    for k in range(steps + 1):
        value = highest * k / steps
        y = top + height * (1 - k / steps)
        body.append(svg_line(left, y, left + plot_w, y, stroke=GRID))
        if panel.share:
            label = f"{round(value * 100)}%"
        else:
            label = fmt_count(round(value)) if value == round(value) else f"{value:,.1f}"
        body.append(svg_text(left - 8, y + 4, label, text_anchor="end", fill=MUTED))
    for series in panel.series:
        points = [
            None if v is None else (x_of(i), top + height * (1 - v / highest))
            for i, v in enumerate(series.values)
        ]
        _path(body, points, series.colour)
        for point, tip in zip(points, series.tips, strict=True):
            if point is None:
                continue
            body.append(
                f'<circle class="point" cx="{fmt_num(point[0])}" cy="{fmt_num(point[1])}" '
                f'r="4" fill="{series.colour}" stroke="#fff"><title>{esc(tip)}</title></circle>'
            )


def _path(body: list[str], points: Sequence[tuple[float, float] | None], colour: str) -> None:
    # A line through the points; None breaks it (a period without a value).
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for point in [*points, None]:
        if point is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(point)
    for segment in segments:
        steps = " ".join(
            ("M" if j == 0 else "L") + f"{fmt_num(x)} {fmt_num(y)}"
            for j, (x, y) in enumerate(segment)
        )
        body.append(
            f'<path d="{steps}" fill="none" stroke="{colour}" stroke-width="2.5"'
            ' stroke-linejoin="round"/>'
        )


def _counts(
    colour: str,
    label: str,
    rows: Sequence[Mapping[str, Any]],
    name: Callable[[Mapping[str, Any]], str],
    key: str,
    what: str,
) -> Series:
    """A line of ticket counts ``row[key]``; each tooltip reads ``<name>: N tickets <what>``."""
    return Series(
        colour,
        label,
        [row[key] for row in rows],
        [f"{name(row)}: {plural(row[key], 'ticket')} {what}" for row in rows],
    )


def trend_chart(
    ids: Ids,
    chart_id: str,
    period: str,
    rows: Sequence[Mapping[str, Any]],
    running: str | None = None,
    narrow: bool = False,
) -> str:
    """Compliance per period (top) and tickets created (bottom), by ticket creation.

    The period named ``running`` (the one the audit instant falls in) is marked: it is
    not over, so its volume and compliance are partial.
    """
    compliance = Series(
        ACHIEVED,
        "compliance",
        [row["compliance"]["compliance"] for row in rows],
        [
            f"{key_name(row)}: compliance {fmt_pct(row['compliance']['compliance'])} "
            f"({fmt_count(row['compliance']['achieved'])} achieved, "
            f"{fmt_count(row['compliance']['breached'])} breached)"
            for row in rows
        ],
    )
    created = _counts(VOLUME, "tickets created", rows, key_name, "tickets", "created")
    desc = "; ".join(
        f"{key_name(r)}: {fmt_pct(r['compliance']['compliance'])}, {plural(r['tickets'], 'ticket')}"
        for r in rows
    )
    return time_chart(
        ids,
        chart_id,
        f"Compliance and ticket volume per {period}",
        [key_name(row) for row in rows],
        [Panel("Compliance", True, [compliance], 170.0), Panel("Tickets", False, [created], 120.0)],
        f"{period} of ticket creation",
        desc,
        running,
        narrow,
        period,
    )


def flow_chart(
    ids: Ids,
    chart_id: str,
    period: str,
    flow: Sequence[Mapping[str, Any]],
    running: str | None = None,
    narrow: bool = False,
) -> str:
    """Tickets created and solved per period (top) and the backlog at each period's end."""
    names = [str(row["period"]) for row in flow]

    def period_of(row: Mapping[str, Any]) -> str:
        return str(row["period"])

    created = _counts(VOLUME, "created", flow, period_of, "created", "created")
    solved = _counts(ACHIEVED, "solved", flow, period_of, "solved", "solved")
    backlog = _counts(
        BACKLOG, "backlog (open at the end)", flow, period_of, "backlog", "open at the end"
    )
    desc = "; ".join(
        f"{row['period']}: {fmt_count(row['created'])} created, {fmt_count(row['solved'])} "
        f"solved, backlog {fmt_count(row['backlog'])}"
        for row in flow
    )
    return time_chart(
        ids,
        chart_id,
        f"{'Created' if narrow else 'Tickets created'}, solved and backlog per {period}",
        names,
        [Panel("Tickets", False, [created, solved]), Panel("Backlog", False, [backlog], 120.0)],
        f"{period} (created: by creation; solved: by final solve)",
        desc,
        running,
        narrow,
        period,
    )


__all__ = ["Panel", "Series", "flow_chart", "time_chart", "trend_chart"]
