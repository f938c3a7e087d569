"""The HTML report's charts: compliance bars, duration histograms, hour-of-week heat maps.

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
    LEGEND_ROW,
    MUTED,
    TARGET,
    Ids,
    axis_duration,
    chart_svg,
    esc,
    fmt_count,
    fmt_duration,
    fmt_pct,
    key_name,
    legend,
    legend_rows,
    shorten,
    svg_line,
    svg_rect,
    svg_text,
)
from slaengine.report.labels import metric_label
from slaengine.report.scorecards import counts_misses
from slaengine.words import plural

# What a heat map counts, said of one: "1 ticket created", not "1 tickets created".
_ONE: Final = {"breached clocks": "breached clock", "tickets created": "ticket created"}
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
    ids: Ids,
    chart_id: str,
    title: str,
    label: str,
    rows: Sequence[Mapping[str, Any]],
    narrow: bool = False,
) -> str:
    """Horizontal 100% bars, one per row: achieved and breached shares of its settled clocks.

    ``narrow`` puts each name above its bar instead of left of it.
    """
    if narrow:
        left, track, right, row_height, top, bar_y = 0.0, 214.0, 146.0, 44.0, 40.0, 20.0
    else:
        left, track, right, row_height, top, bar_y = 170.0, 540.0, 190.0, 30.0, 40.0, 6.0
    width = left + track + right
    height = top + row_height * max(len(rows), 1) + 30
    items = [(ACHIEVED, "achieved within target"), (BREACHED, "breached")]
    body = legend(left, 18, items)
    for tick in range(0, 101, 25):
        x = left + track * tick / 100
        body.append(svg_line(x, top - 6, x, height - 26, stroke=GRID))
        anchor = "start" if narrow and tick == 0 else "middle"
        body.append(svg_text(x, height - 10, f"{tick}%", text_anchor=anchor, fill=MUTED))
    if not rows:
        body.append(svg_text(left, top + 20, "No tickets.", fill=MUTED))
    for i, row in enumerate(rows):
        name = key_name(row)
        counts = row["compliance"]
        y = top + i * row_height
        text_y = y + bar_y + 13
        if narrow:
            body.append(svg_text(0, y + 14, shorten(name, 44), font_weight="600"))
        else:
            body.append(svg_text(left - 8, text_y, shorten(name), text_anchor="end"))
        settled = counts["achieved"] + counts["breached"]
        summary = (
            f"{label} {name}: compliance {fmt_pct(counts['compliance'])}; "
            f"{fmt_count(counts['achieved'])} achieved, {fmt_count(counts['breached'])} breached "
            f"({fmt_count(counts['breached_open'])} of them still open), "
            f"{fmt_count(counts['open'])} open within target, "
            f"{fmt_count(counts['cancelled'])} cancelled; {plural(row['tickets'], 'ticket')}"
        )
        if counts_misses(counts):
            summary += f"; {fmt_count(counts['misses'])} misses"
        if not settled:
            body.append(svg_rect(left, y + bar_y, track, 18, summary, fill=EMPTY_CELL))
            body.append(svg_text(left + track + 8, text_y, "no settled clocks", fill=MUTED))
            continue
        achieved_width = track * counts["achieved"] / settled
        body.append(f'<g class="bar" data-key="{esc(name)}"><title>{esc(summary)}</title>')
        body.append(svg_rect(left, y + bar_y, achieved_width, 18, None, fill=ACHIEVED))
        body.append(
            svg_rect(
                left + achieved_width, y + bar_y, track - achieved_width, 18, None, fill=BREACHED
            )
        )
        body.append("</g>")
        body.append(
            svg_text(left + track + 8, text_y, fmt_pct(counts["compliance"]), font_weight="600")
        )
        body.append(
            svg_text(
                left + track + 62,
                text_y,
                f"{fmt_count(counts['achieved'])} of {fmt_count(settled)}",
                fill=MUTED,
                font_size="11" if narrow else None,
            )
        )
    desc = "; ".join(f"{key_name(r)} {fmt_pct(r['compliance']['compliance'])}" for r in rows)
    return chart_svg(ids, chart_id, width, height, title, desc or "no data", body, narrow)


#: Labelled instants of the histograms' time axis (the bucket edges are powers of two of
#: minutes, unreadable as labels): 1m, 5m, 15m, 1h, 4h, 1d, 3d, 7d, 21d.
AXIS_TICKS: Final = (60, 300, 900, 3600, 14_400, 86_400, 259_200, 604_800, 1_814_400)
_NARROW_TICKS: Final = (60, 900, 3600, 14_400, 86_400, 604_800)
#: Target lines drawn per histogram row at most (the targets most clocks had).
TARGET_LINES: Final = 2


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


def main_targets(stats: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The targets (seconds, clocks) most of a metric's clocks had, most common first."""
    targets = [(int(seconds), count) for seconds, count in stats.get("targets", {}).items()]
    targets.sort(key=lambda item: (-item[1], item[0]))
    return targets[:TARGET_LINES]


def histogram_chart(
    ids: Ids,
    chart_id: str,
    metric: str,
    rows: Sequence[Mapping[str, Any]],
    edges: Sequence[int],
    metric_name: str | None = None,
    narrow: bool = False,
) -> str:
    """Small multiples: one histogram per channel of a metric's business durations.

    Each row marks its median, p90 and the targets most of its clocks had; ``narrow``
    puts each channel's name and figures above its bars. ``metric_name`` names the metric
    (default: :func:`~slaengine.report.labels.metric_label` of its name).
    """
    buckets = len(edges) + 1
    if narrow:
        left, bucket_width, row_height, label_h = 0.0, 20.0, 76.0, 34.0
    else:
        left, bucket_width, row_height, label_h = 280.0, 36.0, 50.0, 0.0
    plot = bucket_width * buckets
    width = left + plot + 14
    name = metric_name or metric_label(metric)
    items = [
        (HISTOGRAM, "share of the channel's clocks"),
        (INK, "median"),
        (BREACHED, "p90"),
        (TARGET, "target"),
    ]
    right = width if narrow else None
    top = 44.0 + (legend_rows(left, items, width) - 1) * LEGEND_ROW if narrow else 44.0
    height = top + row_height * len(rows) + 34
    body = legend(left, 18, items, right)
    bottom = top + row_height * len(rows)
    for index in range(1, buckets):
        x = left + index * bucket_width
        body.append(svg_line(x, top - 4, x, bottom, stroke=GRID, stroke_dasharray="2 3"))
    for seconds in _NARROW_TICKS if narrow else AXIS_TICKS:
        x = left + bucket_width * _bucket_position(seconds, edges)
        body.append(svg_line(x, bottom, x, bottom + 4, stroke=MUTED))
        body.append(
            svg_text(x, bottom + 16, axis_duration(seconds), text_anchor="middle", fill=MUTED,
                     font_size="10.5")
        )  # fmt: skip
    body.append(
        svg_text(
            left + plot / 2,
            bottom + 31,
            "business time, log scale (d = 24 hours)",
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
        figures = (
            f"n {fmt_count(business['count'])} \u00b7 median "
            f"{fmt_duration(business['p50'])} \u00b7 p90 {fmt_duration(business['p90'])}"
        )
        if narrow:
            body.append(svg_text(0, y + 14, shorten(channel, 44), font_weight="600"))
            body.append(svg_text(0, y + 29, figures, fill=MUTED, font_size="11"))
        else:
            body.append(
                svg_text(left - 10, y + 20, shorten(channel), text_anchor="end", font_weight="600")
            )
            body.append(
                svg_text(left - 10, y + 36, figures, text_anchor="end", fill=MUTED, font_size="11")
            )
        body.append(svg_line(left, base, left + plot, base, stroke=MUTED))
        bar_top = y + label_h + 6
        for index, count in enumerate(counts):
            if not count:
                continue
            bar_height = (base - bar_top) * count / tallest
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
        clocks = sum(stats.get("targets", {}).values())
        for seconds, count in main_targets(stats):
            x = left + bucket_width * _bucket_position(seconds, edges)
            body.append(
                f'<g class="target"><title>{esc(channel)} target {esc(fmt_duration(seconds))}: '
                f"{fmt_count(count)} of {fmt_count(clocks)} clocks</title>"
            )
            body.append(
                svg_line(x, bar_top - 2, x, base, stroke=TARGET, stroke_width="2",
                         stroke_dasharray="5 3")
            )  # fmt: skip
            body.append("</g>")
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
            body.append(svg_line(x, bar_top, x, base, stroke=colour, stroke_width=stroke))
            body.append("</g>")
    desc = f"{name} business time per channel; " + "; ".join(
        f"{key_name(r)} median {fmt_duration(r['metrics'][metric]['business_seconds']['p50'])}"
        for r in rows
    )
    title = f"{name} time by channel" + ("" if narrow else " (business time)")
    return chart_svg(ids, chart_id, width, height, title, desc, body, narrow)


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
    zone: str,
    what: str,
    grid: Sequence[Sequence[int]],
    days: Sequence[str],
    stops: Sequence[str],
    narrow: bool = False,
) -> str:
    """A 7 x 24 grid of counts per local weekday and hour, on a sequential colour scale.

    Wide: a row per day. ``narrow``: a column per day and a row per hour, so that
    the cells stay large enough to read and to touch on a phone; its title leaves the
    time ``zone`` to the section's heading.
    """
    if narrow:
        left, top, cell_w, cell_h, gap = 40.0, 22.0, 44.0, 18.0, 2.0
        width, grid_h = left + 7 * cell_w + 10, 24 * cell_h
    else:
        left, top, cell_w, cell_h, gap = 60.0, 26.0, 34.0, 28.0, 2.0
        width, grid_h = left + 24 * cell_w + 10, 7 * cell_h
    highest = max((max(row) for row in grid), default=0)
    body: list[str] = []
    for hour in range(24):
        if narrow:
            x, y, anchor = left - 8, top + hour * cell_h + cell_h / 2 + 4, "end"
        else:
            x, y, anchor = left + hour * cell_w + cell_w / 2, top - 8, "middle"
        body.append(svg_text(x, y, f"{hour:02d}", text_anchor=anchor, fill=MUTED, font_size="11"))
    for d, (day, row) in enumerate(zip(days, grid, strict=True)):
        if narrow:
            body.append(
                svg_text(left + d * cell_w + cell_w / 2, top - 8, day.capitalize(),
                         text_anchor="middle")
            )  # fmt: skip
        else:
            y = top + d * cell_h
            body.append(svg_text(left - 8, y + cell_h / 2 + 4, day.capitalize(), text_anchor="end"))
        for hour, count in enumerate(row):
            tip = (
                f"{_DAY_NAMES.get(day, day)} {hour:02d}:00\u2013{hour + 1:02d}:00: "
                f"{fmt_count(count)} {_ONE.get(what, what) if count == 1 else what}"
            )
            column, line = (d, hour) if narrow else (hour, d)
            body.append(
                svg_rect(
                    left + column * cell_w + gap / 2,
                    top + line * cell_h + gap / 2,
                    cell_w - gap,
                    cell_h - gap,
                    tip,
                    fill=_scale_colour(count, highest, stops),
                    class_="cell",
                )
            )
    legend_y = top + grid_h + 22
    x0 = 0.0 if narrow else left
    body.append(svg_text(x0, legend_y + 12, f"{what}:", fill=MUTED))
    steps = sorted({0, *(max(1, round(highest * k / 4)) for k in range(1, 5) if highest)})
    # Narrow: the swatches go on a line of their own under the label.
    x = x0 if narrow else x0 + 7.2 * len(what) + 20
    if narrow:
        legend_y += 22
    for value in steps:
        body.append(
            svg_rect(
                x, legend_y, 22, 16, None, fill=_scale_colour(value, highest, stops), stroke=GRID
            )
        )
        body.append(svg_text(x + 28, legend_y + 12, fmt_count(value), fill=MUTED))
        x += 28 + 8 * len(fmt_count(value)) + 14
    height = legend_y + 40
    total = sum(sum(row) for row in grid)
    desc = f"{fmt_count(total)} {what} in all ({zone}); busiest hour {fmt_count(highest)}"
    title = title if narrow else f"{title}, {zone}"
    return chart_svg(ids, chart_id, width, height, title, desc, body, narrow)
