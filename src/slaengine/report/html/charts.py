"""The HTML report's charts: compliance bars, duration histograms, hour-of-week heat maps, trend.

Each function returns one chart (``<svg>`` in its scrolling wrapper, see :func:`chart_svg`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from slaengine.report.html.svg import (
    ACHIEVED,
    BREACHED,
    EMPTY_CELL,
    GRID,
    HISTOGRAM,
    INK,
    MUTED,
    VOLUME,
    Ids,
    axis_duration,
    chart_svg,
    esc,
    fmt_count,
    fmt_duration,
    fmt_num,
    fmt_pct,
    key_name,
    legend,
    nice_max,
    shorten,
    svg_line,
    svg_rect,
    svg_text,
)
from slaengine.report.labels import metric_label

_DAY_NAMES: Final = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}


def compliance_chart(
    ids: Ids, chart_id: str, title: str, label: str, rows: Sequence[Mapping[str, Any]]
) -> str:
    """Horizontal 100% bars, one per row: achieved and breached shares of its settled clocks."""
    left, track, right, row_height, top = 170.0, 540.0, 190.0, 30.0, 40.0
    width = left + track + right
    height = top + row_height * max(len(rows), 1) + 30
    body = legend(left, 18, [(ACHIEVED, "achieved within target"), (BREACHED, "breached")])
    for tick in range(0, 101, 25):
        x = left + track * tick / 100
        body.append(svg_line(x, top - 6, x, height - 26, stroke=GRID))
        body.append(svg_text(x, height - 10, f"{tick}%", text_anchor="middle", fill=MUTED))
    if not rows:
        body.append(svg_text(left, top + 20, "No tickets.", fill=MUTED))
    for i, row in enumerate(rows):
        name = key_name(row)
        counts = row["compliance"]
        y = top + i * row_height
        body.append(svg_text(left - 8, y + 19, shorten(name), text_anchor="end"))
        settled = counts["achieved"] + counts["breached"]
        summary = (
            f"{label} {name}: compliance {fmt_pct(counts['compliance'])}; "
            f"{fmt_count(counts['achieved'])} achieved, {fmt_count(counts['breached'])} breached "
            f"({fmt_count(counts['breached_open'])} of them still open), "
            f"{fmt_count(counts['open'])} open within target, "
            f"{fmt_count(counts['cancelled'])} cancelled; {fmt_count(row['tickets'])} tickets"
        )
        if not settled:
            body.append(svg_rect(left, y + 6, track, 18, summary, fill=EMPTY_CELL))
            body.append(svg_text(left + track + 8, y + 19, "no settled clocks", fill=MUTED))
            continue
        achieved_width = track * counts["achieved"] / settled
        body.append(f'<g class="bar" data-key="{esc(name)}"><title>{esc(summary)}</title>')
        body.append(svg_rect(left, y + 6, achieved_width, 18, None, fill=ACHIEVED))
        body.append(
            svg_rect(left + achieved_width, y + 6, track - achieved_width, 18, None, fill=BREACHED)
        )
        body.append("</g>")
        body.append(
            svg_text(left + track + 8, y + 19, fmt_pct(counts["compliance"]), font_weight="600")
        )
        body.append(
            svg_text(
                left + track + 62,
                y + 19,
                f"{fmt_count(counts['achieved'])} of {fmt_count(settled)}",
                fill=MUTED,
            )
        )
    desc = "; ".join(f"{key_name(r)} {fmt_pct(r['compliance']['compliance'])}" for r in rows)
    return chart_svg(ids, chart_id, width, height, title, desc or "no data", body)


def _bucket_range(index: int, edges: Sequence[int]) -> str:
    if index == 0:
        return f"under {axis_duration(edges[0])}"
    if index >= len(edges):
        return f"{axis_duration(edges[-1])} or more"
    return f"{axis_duration(edges[index - 1])} to {axis_duration(edges[index])}"


def _bucket_position(seconds: float, edges: Sequence[int]) -> float:
    """Where ``seconds`` falls on the bucket axis, in buckets (log scale inside a bucket)."""
    if seconds < edges[0]:
        return max(seconds, 0) / edges[0]
    for index in range(1, len(edges)):
        if seconds < edges[index]:
            return index + math.log2(seconds / edges[index - 1])
    return len(edges) + min(math.log2(seconds / edges[-1]), 1.0)


def histogram_chart(
    ids: Ids, chart_id: str, metric: str, rows: Sequence[Mapping[str, Any]], edges: Sequence[int]
) -> str:
    """Small multiples: one histogram per channel of a metric's business durations."""
    buckets = len(edges) + 1
    left, bucket_width, row_height, top = 280.0, 36.0, 50.0, 44.0
    plot = bucket_width * buckets
    width = left + plot + 14
    height = top + row_height * len(rows) + 34
    name = metric_label(metric)
    body = legend(
        left, 18, [(HISTOGRAM, "share of the channel's clocks"), (INK, "median"), (BREACHED, "p90")]
    )
    bottom = top + row_height * len(rows)
    for index in range(1, buckets):
        x = left + index * bucket_width
        body.append(svg_line(x, top - 4, x, bottom, stroke=GRID, stroke_dasharray="2 3"))
        body.append(
            svg_text(
                x,
                bottom + 16,
                axis_duration(edges[index - 1]),
                text_anchor="middle",
                fill=MUTED,
                font_size="10.5",
            )
        )
    body.append(
        svg_text(
            left + plot / 2,
            bottom + 31,
            "business time (log scale: each bucket doubles)",
            text_anchor="middle",
            fill=MUTED,
            font_size="11",
        )
    )
    for i, row in enumerate(rows):
        stats = row["metrics"][metric]
        counts: list[int] = stats["histogram"]["business"]
        business = stats["business_seconds"]
        total = sum(counts)
        tallest = max(counts)
        channel = key_name(row)
        y = top + i * row_height
        base = y + row_height - 6
        body.append(
            svg_text(left - 10, y + 20, shorten(channel), text_anchor="end", font_weight="600")
        )
        body.append(
            svg_text(
                left - 10,
                y + 36,
                f"n {fmt_count(business['count'])} \u00b7 median "
                f"{fmt_duration(business['p50'])} \u00b7 p90 {fmt_duration(business['p90'])}",
                text_anchor="end",
                fill=MUTED,
                font_size="11",
            )
        )
        body.append(svg_line(left, base, left + plot, base, stroke=MUTED))
        for index, count in enumerate(counts):
            if not count:
                continue
            bar_height = (row_height - 12) * count / tallest
            tip = (
                f"{channel}, {name.lower()}: {fmt_count(count)} of {fmt_count(total)} clocks "
                f"({fmt_pct(count / total)}) took {_bucket_range(index, edges)} of business time"
            )
            body.append(
                svg_rect(
                    left + index * bucket_width + 2,
                    base - bar_height,
                    bucket_width - 4,
                    bar_height,
                    tip,
                    fill=HISTOGRAM,
                    class_="bar",
                )
            )
        # p90 first and wider, so a median on the same spot leaves both colours visible.
        for key, colour, label, stroke in (
            ("p90", BREACHED, "p90", "4"),
            ("p50", INK, "median", "2"),
        ):
            if business[key] is None:
                continue
            x = left + bucket_width * _bucket_position(business[key], edges)
            body.append(
                f'<g class="marker"><title>{esc(channel)} {label}: '
                f"{esc(fmt_duration(business[key]))}</title>"
            )
            body.append(svg_line(x, y + 6, x, base, stroke=colour, stroke_width=stroke))
            body.append("</g>")
    desc = f"{name} business time per channel; " + "; ".join(
        f"{key_name(r)} median {fmt_duration(r['metrics'][metric]['business_seconds']['p50'])}"
        for r in rows
    )
    title = f"{name} time by channel (business time)"
    return chart_svg(ids, chart_id, width, height, title, desc, body)


def _scale_colour(value: int, highest: int, stops: Sequence[str]) -> str:
    """The colour of ``value`` on a linear scale from 1 (first stop) to ``highest`` (last)."""
    if value <= 0 or highest <= 0:
        return EMPTY_CELL
    position = 0.0 if highest == 1 else (value - 1) / (highest - 1) * (len(stops) - 1)
    low = min(int(position), len(stops) - 2)
    share = position - low
    start, end = stops[low], stops[low + 1]
    channels = [
        round(int(start[c : c + 2], 16) * (1 - share) + int(end[c : c + 2], 16) * share)
        for c in (1, 3, 5)
    ]
    return "#" + "".join(f"{channel:02x}" for channel in channels)


def heatmap_chart(
    ids: Ids,
    chart_id: str,
    title: str,
    what: str,
    grid: Sequence[Sequence[int]],
    days: Sequence[str],
    stops: Sequence[str],
) -> str:
    """A 7 x 24 grid of counts per local weekday and hour, on a sequential colour scale."""
    left, top, cell_w, cell_h, gap = 60.0, 26.0, 34.0, 28.0, 2.0
    width = left + 24 * cell_w + 10
    height = top + 7 * cell_h + 62
    highest = max((max(row) for row in grid), default=0)
    body: list[str] = []
    for hour in range(24):
        body.append(
            svg_text(
                left + hour * cell_w + cell_w / 2,
                top - 8,
                f"{hour:02d}",
                text_anchor="middle",
                fill=MUTED,
                font_size="11",
            )
        )
    for d, (day, row) in enumerate(zip(days, grid, strict=True)):
        y = top + d * cell_h
        body.append(svg_text(left - 8, y + cell_h / 2 + 4, day.capitalize(), text_anchor="end"))
        for hour, count in enumerate(row):
            tip = (
                f"{_DAY_NAMES.get(day, day)} {hour:02d}:00\u2013{hour + 1:02d}:00: "
                f"{fmt_count(count)} {what}"
            )
            body.append(
                svg_rect(
                    left + hour * cell_w + gap / 2,
                    y + gap / 2,
                    cell_w - gap,
                    cell_h - gap,
                    tip,
                    fill=_scale_colour(count, highest, stops),
                    class_="cell",
                )
            )
    legend_y = top + 7 * cell_h + 22
    body.append(svg_text(left, legend_y + 12, f"{what}:", fill=MUTED))
    steps = sorted({0, *(max(1, round(highest * k / 4)) for k in range(1, 5) if highest)})
    x = left + 7.2 * len(what) + 20
    for value in steps:
        body.append(
            svg_rect(
                x, legend_y, 22, 16, None, fill=_scale_colour(value, highest, stops), stroke=GRID
            )
        )
        body.append(svg_text(x + 28, legend_y + 12, fmt_count(value), fill=MUTED))
        x += 28 + 8 * len(fmt_count(value)) + 14
    total = sum(sum(row) for row in grid)
    desc = f"{fmt_count(total)} {what} in all; busiest hour {fmt_count(highest)}"
    return chart_svg(ids, chart_id, width, height, title, desc, body)


def trend_chart(
    ids: Ids,
    chart_id: str,
    period: str,
    rows: Sequence[Mapping[str, Any]],
    running: str | None = None,
) -> str:
    """Two panels on one time axis: compliance per period (top) and tickets created (bottom).

    The period named ``running`` (the one the audit instant falls in) is marked: it is
    not over, so its volume and compliance are partial.
    """
    left, right, top = 64.0, 48.0, 44.0
    plot_w = max(800.0, 14.0 * len(rows))
    upper_h, gap, lower_h = 170.0, 58.0, 120.0
    width = left + plot_w + right
    height = top + upper_h + gap + lower_h + 58
    lower_top = top + upper_h + gap
    n = len(rows)

    def x_of(i: int) -> float:
        return left + plot_w / 2 if n == 1 else left + plot_w * i / (n - 1)

    body = legend(left, 18, [(ACHIEVED, "compliance"), (VOLUME, "tickets created")])
    body.append(svg_text(8, top - 16, "Compliance", fill=MUTED, font_size="11"))
    for tick in range(0, 101, 25):
        y = top + upper_h * (1 - tick / 100)
        body.append(svg_line(left, y, left + plot_w, y, stroke=GRID))
        body.append(svg_text(left - 8, y + 4, f"{tick}%", text_anchor="end", fill=MUTED))
    highest = nice_max(max((row["tickets"] for row in rows), default=0))
    body.append(svg_text(8, lower_top - 16, "Tickets", fill=MUTED, font_size="11"))
    for k in range(3):
        value = highest * k / 2
        y = lower_top + lower_h * (1 - k / 2)
        body.append(svg_line(left, y, left + plot_w, y, stroke=GRID))
        label = fmt_count(round(value)) if value == round(value) else f"{value:,.1f}"
        body.append(svg_text(left - 8, y + 4, label, text_anchor="end", fill=MUTED))
    every = max(1, math.ceil(n / 12))
    bottom = lower_top + lower_h
    for i, row in enumerate(rows):
        unfinished = row["key"].get("period") == running
        if i % every == 0 or unfinished:
            body.append(
                svg_text(
                    x_of(i),
                    bottom + 18,
                    key_name(row) + (" *" if unfinished else ""),
                    text_anchor="middle",
                    fill=MUTED,
                    font_size="11",
                )
            )
    caption = f"{period} of ticket creation"
    if any(row["key"].get("period") == running for row in rows):
        caption += f" (* not over at the audit instant: partial {period})"
    body.append(
        svg_text(
            left + plot_w / 2,
            bottom + 40,
            caption,
            text_anchor="middle",
            fill=MUTED,
            font_size="11",
        )
    )
    if not rows:
        body.append(svg_text(left + 10, top + 30, "No tickets.", fill=MUTED))

    def path(points: Sequence[tuple[float, float] | None], colour: str) -> None:
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

    upper: list[tuple[float, float] | None] = []
    lower: list[tuple[float, float] | None] = []
    for i, row in enumerate(rows):
        value = row["compliance"]["compliance"]
        upper.append(None if value is None else (x_of(i), top + upper_h * (1 - value)))
        lower.append((x_of(i), bottom - lower_h * row["tickets"] / highest))
    path(upper, ACHIEVED)
    path(lower, VOLUME)
    for i, row in enumerate(rows):
        counts = row["compliance"]
        point = upper[i]
        if point is not None:
            tip = (
                f"{key_name(row)}: compliance {fmt_pct(counts['compliance'])} "
                f"({fmt_count(counts['achieved'])} achieved, {fmt_count(counts['breached'])} "
                "breached)"
            )
            body.append(
                f'<circle class="point" cx="{fmt_num(point[0])}" cy="{fmt_num(point[1])}" '
                f'r="4" fill="{ACHIEVED}" stroke="#fff"><title>{esc(tip)}</title>'
                "</circle>"
            )
        x, y = lower[i] or (0.0, 0.0)
        tip = f"{key_name(row)}: {fmt_count(row['tickets'])} tickets created"
        body.append(
            f'<circle class="point" cx="{fmt_num(x)}" cy="{fmt_num(y)}" r="4" fill="{VOLUME}" '
            f'stroke="#fff"><title>{esc(tip)}</title></circle>'
        )
    desc = "; ".join(
        f"{key_name(r)}: {fmt_pct(r['compliance']['compliance'])}, "
        f"{fmt_count(r['tickets'])} tickets"
        for r in rows
    )
    title = f"Compliance and ticket volume per {period}"
    return chart_svg(ids, chart_id, width, height, title, desc or "no data", body)
