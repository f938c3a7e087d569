"""A batch audit rendered as one self-contained HTML page with inline SVG charts.

:func:`render_html` takes the document :func:`slaengine.report.audit.audit_to_dict`
builds (``docs/kpis.md``) and returns the page as text: headline KPIs, the
inputs, compliance bars by channel and priority, response-time histograms per
channel, hour-of-week heat maps, the trend per period and the worst offenders,
each chart with a short "how to read this" (``docs/report.md``).

The page loads nothing: styles, charts and its one script are inline, and a
Content-Security-Policy forbids any other load. Every string from the data is
escaped. The output depends only on the document, so the same audit always
gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any, Final

from slaengine.audit.kpis import METRICS
from slaengine.durations import format_duration
from slaengine.report.audit import metric_label

Doc = Mapping[str, Any]

#: Colours (Okabe-Ito based, distinguishable with the common colour-vision deficiencies).
ACHIEVED: Final = "#0072b2"
BREACHED: Final = "#d55e00"
VOLUME: Final = "#009e73"
HISTOGRAM: Final = "#56b4e9"
INK: Final = "#1f2328"
MUTED: Final = "#57606a"
GRID: Final = "#d0d7de"
EMPTY_CELL: Final = "#f3f4f6"
#: Sequential scales of the heat maps, light to dark.
#: Their first stop (a count of one) stays clearly apart from the grey of an empty cell.
BREACH_SCALE: Final = ("#fdcc8a", "#fc8d59", "#d7301f", "#7f0000")
VOLUME_SCALE: Final = ("#bdd7ee", "#6baed6", "#2171b5", "#08306b")

_METRIC_NAMES: Final = {
    "first_response": "First response",
    "next_response": "Next response",
    "periodic_update": "Periodic update",
    "resolution": "Resolution",
}
_DAY_NAMES: Final = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
#: Usual priorities, most urgent first; others follow in name order.
_PRIORITY_ORDER: Final = ("urgent", "high", "normal", "low")
_FONT: Final = 13
#: Room above every chart for its visible title.
_TITLE_HEIGHT: Final = 30.0
_LABEL_CHARS: Final = 20

# Counts the charts that drew (a bounding box with an area), for people checking a page that
# looks empty and for the browser test; it reads nothing from the data.
_SCRIPT: Final = (
    "(function () {\n"
    "  var charts = document.querySelectorAll('svg.chart'), drawn = 0;\n"
    "  for (var i = 0; i < charts.length; i++) {\n"
    "    var box = charts[i].getBBox();\n"
    "    if (box.width > 0 && box.height > 0) { drawn++; }\n"
    "  }\n"
    "  document.body.dataset.chartsDrawn = String(drawn);\n"
    "  document.body.dataset.chartsTotal = String(charts.length);\n"
    "})();\n"
)
_SCRIPT_HASH: Final = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src 'sha256-{_SCRIPT_HASH}'"
)

_CSS: Final = """
:root { color-scheme: light; --ink: #1f2328; --muted: #57606a; --line: #d0d7de;
  --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.5rem 1rem 3rem; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", "Liberation Sans", sans-serif; }
main { max-width: 1080px; margin: 0 auto; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; line-height: 1.25; }
h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
p { margin: .25rem 0 .75rem; }
.subtitle { color: var(--muted); margin: 0 0 1.5rem; overflow-wrap: anywhere; }
section { margin: 0 0 2rem; padding-top: 1rem; border-top: 1px solid var(--line); }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr));
  gap: .75rem; margin: 0; }
.kpi { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: .6rem .8rem; margin: 0; }
.kpi dt { color: var(--muted); font-size: .85rem; }
.kpi dd { margin: 0; font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi dd small { display: block; font-size: .8rem; font-weight: 400; color: var(--muted); }
/* A phone fits one 11rem card a row: eleven cards, three screens, before the first chart. */
@media (max-width: 30rem) {
  .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .5rem; }
  .kpi { padding: .5rem .6rem; }
}
/* Wide charts and tables scroll inside their own box, never widening the page. A phone hides
   its scrollbars, so a shade at an edge with more beyond it says there is more to swipe to:
   the white covers scroll with the content and hide the fixed shades at an end it reached. */
.table-wrap, .chart-wrap { overflow-x: auto; max-width: 100%; margin: .25rem 0 .75rem;
  background: linear-gradient(to right, #fff 40%, #fff0) left / 2rem 100% no-repeat local,
    linear-gradient(to left, #fff 40%, #fff0) right / 2rem 100% no-repeat local,
    linear-gradient(to right, #0003, #0000) left / .8rem 100% no-repeat scroll,
    linear-gradient(to left, #0003, #0000) right / .8rem 100% no-repeat scroll; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .7rem .3rem 0; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
td.num, th.num { text-align: right; }
td.name { overflow-wrap: anywhere; min-width: 8rem; }
caption { text-align: left; font-weight: 600; padding: 0 0 .25rem; }
.offenders { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 30rem), 1fr));
  gap: 0 2rem; }
.offenders table { width: 100%; }
.howto { background: var(--panel); border-left: 4px solid #0072b2; padding: .5rem .8rem;
  margin: .5rem 0 1rem; font-size: .92rem; }
.howto strong { display: block; }
svg.chart { display: block; width: 100%; height: auto; }
.flag { white-space: nowrap; }
.none { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: .85rem; }
@media print {
  body { padding: 0; font-size: 11pt; }
  /* Chart colours carry meaning: ask the browser not to economise on them. */
  svg.chart { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  /* No ink for panels and scroll shades: white with the border left, legible in grey too. */
  .kpi, .howto { background: none; }
  .howto { border: 1px solid var(--line); border-left: 4px solid #0072b2; }
  .table-wrap, .chart-wrap { overflow: visible; background: none; }
  /* Keep a chart, a card, a row or a note whole, but let sections share a page: avoiding
     breaks in whole sections pushed each to a new page and left half of most pages blank. */
  .chart-wrap, svg.chart, .kpi, .howto, tr { break-inside: avoid; }
  h2, h3, caption { break-after: avoid; }
  /* Nothing to hover on paper. */
  .hover { display: none; }
}
"""


# -- text ------------------------------------------------------------------------------------


def _e(value: object) -> str:
    """``value`` as HTML text or attribute value: every ``<``, ``&`` and quote escaped."""
    return escape(str(value), quote=True)


def _short(name: str, limit: int = _LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def _pct(value: float | None, digits: int = 1) -> str:
    return "\u2013" if value is None else f"{value * 100:.{digits}f}%"


def _count(value: int) -> str:
    return f"{value:,}"


def _dur(value: float | None) -> str:
    """A duration for people: whole minutes from an hour up (``35h52m``, not ``35h52m29s``)."""
    if value is None:
        return "\u2013"
    seconds = round(value)
    return format_duration(seconds if abs(seconds) < 3600 else round(seconds / 60) * 60)


def _num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros (compact, deterministic)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _axis_duration(seconds: int) -> str:
    """A short axis label for a bucket edge: ``1m``, ``64m``, ``2.1h``, ``137h``."""
    minutes = seconds / 60
    if minutes <= 64:
        return f"{minutes:.0f}m"
    hours = seconds / 3600
    return f"{hours:.1f}h" if hours < 10 else f"{hours:.0f}h"


def _key_name(row: Mapping[str, Any]) -> str:
    return " / ".join(str(value) for value in row["key"].values())


# -- svg primitives ----------------------------------------------------------------------------


def _attrs(attributes: Mapping[str, object]) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None:
            continue
        text = _num(value) if isinstance(value, float) else str(value)
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{_e(text)}"')
    return "".join(parts)


def _text(x: float, y: float, content: str, **attributes: object) -> str:
    return f"<text{_attrs({'x': float(x), 'y': float(y), **attributes})}>{_e(content)}</text>"


def _rect(x: float, y: float, w: float, h: float, tip: str | None, **attributes: object) -> str:
    shape = _attrs(
        {"x": float(x), "y": float(y), "width": float(w), "height": float(h), **attributes}
    )
    if tip is None:
        return f"<rect{shape}/>"
    return f"<rect{shape}><title>{_e(tip)}</title></rect>"


def _line(x1: float, y1: float, x2: float, y2: float, **attributes: object) -> str:
    coords = {"x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2)}
    return f"<line{_attrs({**coords, **attributes})}/>"


class _Ids:
    """Element ids numbered in order of rendering: unique on the page and deterministic."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self, prefix: str) -> str:
        self._next += 1
        return f"{prefix}-{self._next}"


def _svg(
    ids: _Ids,
    chart_id: str,
    width: float,
    height: float,
    title: str,
    desc: str,
    body: Iterable[str],
) -> str:
    """A chart with a visible title; ``<title>`` and ``<desc>`` name it for screen readers."""
    title_id, desc_id = ids("t"), ids("d")
    height += _TITLE_HEIGHT
    # Keeps text legible in a narrow window: below 3/4 of its width the chart scrolls instead.
    style = f"min-width:{round(width * 0.75)}px;max-width:{round(width)}px"
    head = (
        f'<svg class="chart" id="{_e(chart_id)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" width="{_num(width)}" '
        f'height="{_num(height)}" style="{style}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" font-size="{_FONT}" fill="{INK}" '
        f'font-family="system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, Arial, '
        f'sans-serif">'
        f'<title id="{title_id}">{_e(title)}</title><desc id="{desc_id}">{_e(desc)}</desc>'
    )
    heading = _text(0, 18, title, font_size="15", font_weight="700", class_="chart-title")
    shifted = f'<g transform="translate(0 {_num(_TITLE_HEIGHT)})">{"".join(body)}</g>'
    return f'<div class="chart-wrap">{head}{heading}{shifted}</svg></div>'


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    """Colour swatches with labels in one row, from ``(x, y)``."""
    parts = ['<g class="legend">']
    for colour, label in items:
        parts.append(_rect(x, y - 10, 12, 12, None, fill=colour))
        parts.append(_text(x + 17, y, label, fill=MUTED))
        x += 17 + 7.2 * len(label) + 18
    parts.append("</g>")
    return parts


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value`` (1 at least)."""
    if value <= 1:
        return 1
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if value <= step * power)


# -- charts ------------------------------------------------------------------------------------


def _compliance_chart(
    ids: _Ids, chart_id: str, title: str, label: str, rows: Sequence[Mapping[str, Any]]
) -> str:
    """Horizontal 100% bars, one per row: achieved and breached shares of its settled clocks."""
    left, track, right, row_height, top = 170.0, 540.0, 190.0, 30.0, 40.0
    width = left + track + right
    height = top + row_height * max(len(rows), 1) + 30
    body = _legend(left, 18, [(ACHIEVED, "achieved within target"), (BREACHED, "breached")])
    for tick in range(0, 101, 25):
        x = left + track * tick / 100
        body.append(_line(x, top - 6, x, height - 26, stroke=GRID))
        body.append(_text(x, height - 10, f"{tick}%", text_anchor="middle", fill=MUTED))
    if not rows:
        body.append(_text(left, top + 20, "No tickets.", fill=MUTED))
    for i, row in enumerate(rows):
        name = _key_name(row)
        counts = row["compliance"]
        y = top + i * row_height
        body.append(_text(left - 8, y + 19, _short(name), text_anchor="end"))
        settled = counts["achieved"] + counts["breached"]
        summary = (
            f"{label} {name}: compliance {_pct(counts['compliance'])}; "
            f"{_count(counts['achieved'])} achieved, {_count(counts['breached'])} breached "
            f"({_count(counts['breached_open'])} of them still open), "
            f"{_count(counts['open'])} open within target, "
            f"{_count(counts['cancelled'])} cancelled; {_count(row['tickets'])} tickets"
        )
        if not settled:
            body.append(_rect(left, y + 6, track, 18, summary, fill=EMPTY_CELL))
            body.append(_text(left + track + 8, y + 19, "no settled clocks", fill=MUTED))
            continue
        achieved_width = track * counts["achieved"] / settled
        body.append(f'<g class="bar" data-key="{_e(name)}"><title>{_e(summary)}</title>')
        body.append(_rect(left, y + 6, achieved_width, 18, None, fill=ACHIEVED))
        body.append(
            _rect(left + achieved_width, y + 6, track - achieved_width, 18, None, fill=BREACHED)
        )
        body.append("</g>")
        body.append(_text(left + track + 8, y + 19, _pct(counts["compliance"]), font_weight="600"))
        body.append(
            _text(
                left + track + 62,
                y + 19,
                f"{_count(counts['achieved'])} of {_count(settled)}",
                fill=MUTED,
            )
        )
    desc = "; ".join(f"{_key_name(r)} {_pct(r['compliance']['compliance'])}" for r in rows)
    return _svg(ids, chart_id, width, height, title, desc or "no data", body)


def _bucket_range(index: int, edges: Sequence[int]) -> str:
    if index == 0:
        return f"under {_axis_duration(edges[0])}"
    if index >= len(edges):
        return f"{_axis_duration(edges[-1])} or more"
    return f"{_axis_duration(edges[index - 1])} to {_axis_duration(edges[index])}"


def _bucket_position(seconds: float, edges: Sequence[int]) -> float:
    """Where ``seconds`` falls on the bucket axis, in buckets (log scale inside a bucket)."""
    if seconds < edges[0]:
        return max(seconds, 0) / edges[0]
    for index in range(1, len(edges)):
        if seconds < edges[index]:
            return index + math.log2(seconds / edges[index - 1])
    return len(edges) + min(math.log2(seconds / edges[-1]), 1.0)


def _histogram_chart(
    ids: _Ids, chart_id: str, metric: str, rows: Sequence[Mapping[str, Any]], edges: Sequence[int]
) -> str:
    """Small multiples: one histogram per channel of a metric's business durations."""
    buckets = len(edges) + 1
    left, bucket_width, row_height, top = 280.0, 36.0, 50.0, 44.0
    plot = bucket_width * buckets
    width = left + plot + 14
    height = top + row_height * len(rows) + 34
    name = _METRIC_NAMES.get(metric, metric)
    body = _legend(
        left, 18, [(HISTOGRAM, "share of the channel's clocks"), (INK, "median"), (BREACHED, "p90")]
    )
    bottom = top + row_height * len(rows)
    for index in range(1, buckets):
        x = left + index * bucket_width
        body.append(_line(x, top - 4, x, bottom, stroke=GRID, stroke_dasharray="2 3"))
        body.append(
            _text(
                x,
                bottom + 16,
                _axis_duration(edges[index - 1]),
                text_anchor="middle",
                fill=MUTED,
                font_size="10.5",
            )
        )
    body.append(
        _text(
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
        channel = _key_name(row)
        y = top + i * row_height
        base = y + row_height - 6
        body.append(_text(left - 10, y + 20, _short(channel), text_anchor="end", font_weight="600"))
        body.append(
            _text(
                left - 10,
                y + 36,
                f"n {_count(business['count'])} \u00b7 median "
                f"{_dur(business['p50'])} \u00b7 p90 {_dur(business['p90'])}",
                text_anchor="end",
                fill=MUTED,
                font_size="11",
            )
        )
        body.append(_line(left, base, left + plot, base, stroke=MUTED))
        for index, count in enumerate(counts):
            if not count:
                continue
            bar_height = (row_height - 12) * count / tallest
            tip = (
                f"{channel}, {name.lower()}: {_count(count)} of {_count(total)} clocks "
                f"({_pct(count / total)}) took {_bucket_range(index, edges)} of business time"
            )
            body.append(
                _rect(
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
                f'<g class="marker"><title>{_e(channel)} {label}: {_e(_dur(business[key]))}</title>'
            )
            body.append(_line(x, y + 6, x, base, stroke=colour, stroke_width=stroke))
            body.append("</g>")
    desc = f"{name} business time per channel; " + "; ".join(
        f"{_key_name(r)} median {_dur(r['metrics'][metric]['business_seconds']['p50'])}"
        for r in rows
    )
    title = f"{name} time by channel (business time)"
    return _svg(ids, chart_id, width, height, title, desc, body)


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


def _heatmap_chart(
    ids: _Ids,
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
            _text(
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
        body.append(_text(left - 8, y + cell_h / 2 + 4, day.capitalize(), text_anchor="end"))
        for hour, count in enumerate(row):
            tip = (
                f"{_DAY_NAMES.get(day, day)} {hour:02d}:00\u2013{hour + 1:02d}:00: "
                f"{_count(count)} {what}"
            )
            body.append(
                _rect(
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
    body.append(_text(left, legend_y + 12, f"{what}:", fill=MUTED))
    steps = sorted({0, *(max(1, round(highest * k / 4)) for k in range(1, 5) if highest)})
    x = left + 7.2 * len(what) + 20
    for value in steps:
        body.append(
            _rect(x, legend_y, 22, 16, None, fill=_scale_colour(value, highest, stops), stroke=GRID)
        )
        body.append(_text(x + 28, legend_y + 12, _count(value), fill=MUTED))
        x += 28 + 8 * len(_count(value)) + 14
    total = sum(sum(row) for row in grid)
    desc = f"{_count(total)} {what} in all; busiest hour {_count(highest)}"
    return _svg(ids, chart_id, width, height, title, desc, body)


def _trend_chart(
    ids: _Ids,
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

    body = _legend(left, 18, [(ACHIEVED, "compliance"), (VOLUME, "tickets created")])
    body.append(_text(8, top - 16, "Compliance", fill=MUTED, font_size="11"))
    for tick in range(0, 101, 25):
        y = top + upper_h * (1 - tick / 100)
        body.append(_line(left, y, left + plot_w, y, stroke=GRID))
        body.append(_text(left - 8, y + 4, f"{tick}%", text_anchor="end", fill=MUTED))
    highest = _nice_max(max((row["tickets"] for row in rows), default=0))
    body.append(_text(8, lower_top - 16, "Tickets", fill=MUTED, font_size="11"))
    for k in range(3):
        value = highest * k / 2
        y = lower_top + lower_h * (1 - k / 2)
        body.append(_line(left, y, left + plot_w, y, stroke=GRID))
        label = _count(round(value)) if value == round(value) else f"{value:,.1f}"
        body.append(_text(left - 8, y + 4, label, text_anchor="end", fill=MUTED))
    every = max(1, math.ceil(n / 12))
    bottom = lower_top + lower_h
    for i, row in enumerate(rows):
        unfinished = row["key"].get("period") == running
        if i % every == 0 or unfinished:
            body.append(
                _text(
                    x_of(i),
                    bottom + 18,
                    _key_name(row) + (" *" if unfinished else ""),
                    text_anchor="middle",
                    fill=MUTED,
                    font_size="11",
                )
            )
    caption = f"{period} of ticket creation"
    if any(row["key"].get("period") == running for row in rows):
        caption += f" (* not over at the audit instant: partial {period})"
    body.append(
        _text(
            left + plot_w / 2,
            bottom + 40,
            caption,
            text_anchor="middle",
            fill=MUTED,
            font_size="11",
        )
    )
    if not rows:
        body.append(_text(left + 10, top + 30, "No tickets.", fill=MUTED))

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
                ("M" if j == 0 else "L") + f"{_num(x)} {_num(y)}"
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
                f"{_key_name(row)}: compliance {_pct(counts['compliance'])} "
                f"({_count(counts['achieved'])} achieved, {_count(counts['breached'])} "
                "breached)"
            )
            body.append(
                f'<circle class="point" cx="{_num(point[0])}" cy="{_num(point[1])}" '
                f'r="4" fill="{ACHIEVED}" stroke="#fff"><title>{_e(tip)}</title>'
                "</circle>"
            )
        x, y = lower[i] or (0.0, 0.0)
        tip = f"{_key_name(row)}: {_count(row['tickets'])} tickets created"
        body.append(
            f'<circle class="point" cx="{_num(x)}" cy="{_num(y)}" r="4" fill="{VOLUME}" '
            f'stroke="#fff"><title>{_e(tip)}</title></circle>'
        )
    desc = "; ".join(
        f"{_key_name(r)}: {_pct(r['compliance']['compliance'])}, {_count(r['tickets'])} tickets"
        for r in rows
    )
    title = f"Compliance and ticket volume per {period}"
    return _svg(ids, chart_id, width, height, title, desc or "no data", body)


# -- page --------------------------------------------------------------------------------------


def _howto(text: str) -> str:
    return f'<div class="howto"><strong>How to read this</strong>{text}</div>'


def _kpi(label: str, value: str, detail: str = "") -> str:
    small = f"<small>{_e(detail)}</small>" if detail else ""
    return f'<div class="kpi"><dt>{_e(label)}</dt><dd>{_e(value)}{small}</dd></div>'


def _headline(doc: Doc) -> str:
    kpis = doc["overall"]
    counts = kpis["compliance"]
    missing = kpis.get("not_measurable", {})

    def card(key: str, label: str, value: str, detail: str) -> str:
        # A KPI the events cannot measure says so, never 0%.
        if key in missing:
            return _kpi(label, "n/a", f"not measurable: {missing[key]}")
        return _kpi(label, value, detail)

    cards = []
    for metric, stats in kpis["metrics"].items():
        decided = stats["achieved"] + stats["breached"]
        cards.append(
            _kpi(
                f"{metric_label(metric)} achieved",
                _pct(stats["compliance"]),
                f"{_count(stats['achieved'])} of {_count(decided)} clocks",
            )
        )
    cards += [
        _kpi(
            "Tickets with a breach",
            _pct(kpis["breached_ticket_rate"]),
            f"{_count(kpis['tickets_breached'])} of {_count(kpis['tickets'])} tickets",
        ),
        _kpi(
            "All clocks achieved",
            _pct(counts["compliance"]),
            f"{_count(counts['achieved'])} achieved, {_count(counts['breached'])} breached",
        ),
        card(
            "unique_customers",
            "Tickets",
            _count(kpis["tickets"]),
            f"{_count(kpis['unique_customers'] or 0)} customers",
        ),
    ]
    for metric in METRICS:
        stats = kpis["metrics"].get(metric)
        if stats is None:
            continue
        business = stats["business_seconds"]
        cards.append(
            _kpi(
                f"{_METRIC_NAMES[metric]} time, median",
                _dur(business["p50"]),
                f"p90 {_dur(business['p90'])} \u00b7 {_count(business['count'])} measured",
            )
        )
    handle = kpis["open_time_seconds"]
    csat = kpis["csat"]
    cards += [
        card(
            "fcr_rate",
            "First contact resolution",
            _pct(kpis["fcr_rate"]),
            f"{_count(kpis['fcr'])} of {_count(kpis['solved'])} solved",
        ),
        _kpi("Time in new/open", _dur(handle["mean"]), f"median {_dur(handle['p50'])}, solved"),
        card(
            "csat",
            "CSAT",
            "\u2013" if csat["mean"] is None else f"{csat['mean']:.2f}",
            f"{_count(csat['rated'])} rating{'' if csat['rated'] == 1 else 's'}",
        ),
        card(
            "response_rate",
            "Response rate",
            _pct(kpis["response_rate"]),
            f"{_count(kpis['answered_messages'])} of {_count(kpis['customer_messages'])} "
            "customer messages",
        ),
        _kpi(
            "Reopen rate",
            _pct(kpis["reopen_rate"]),
            f"{_count(kpis['reopened'])} of {_count(kpis['ever_solved'])} ever solved",
        ),
    ]
    return (
        '<section id="kpis"><h2>Headline KPIs</h2>'
        f'<dl class="kpis">{"".join(cards)}</dl>'
        + _howto(
            "<p>Compliance is achieved / (achieved + breached) clocks: cancelled clocks and "
            "clocks still running within target count neither way. Times are business time "
            "of completed clocks (running ones are not known yet); p90 means nine in ten took "
            "at most that long. Time in new/open is calendar time in new/open status of solved "
            "tickets (what is often called handling time). A KPI the events cannot measure "
            "says n/a and why. Every formula: docs/kpis.md.</p>"
        )
        + "</section>"
    )


def _table(
    caption: str, head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Callable[[int], bool]
) -> str:
    """A table of already escaped cells."""
    cells = "".join(
        f'<th scope="col"{" class=num" if numeric(i) else ""}>{_e(h)}</th>'
        for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if numeric(i) else ' class=name' if i == 0 else ''}>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="table-wrap"><table><caption>{_e(caption)}</caption>'
        f"<thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _inputs(doc: Doc, policies: Sequence[str] | None) -> str:
    info = doc["input"]
    matched = [row["key"]["policy"] for row in doc["by_policy"] if row["key"]["policy"] != "(none)"]
    loaded = policies if policies is not None else info.get("policies")
    # (label, value), both already HTML: labels are fixed text, values escaped here.
    rows: list[tuple[str, str]] = [
        ("Source", _e(info["source"])),
        ("Evaluated at <span class=flag>(--at)</span>", _e(doc["at"])),
        ("Time zone <span class=flag>(--tz)</span>", _e(doc["timezone"])),
        ("Period <span class=flag>(--period)</span>", _e(doc["period"])),
        ("Lines read", _count(info["lines"])),
        ("Events used", _count(info["events"])),
        ("Tickets evaluated", _count(info["tickets"])),
        ("Tickets matching no policy", _count(info["tickets_unmatched"])),
        (
            "Tickets created after <span class=flag>--at</span> (left out)",
            _count(info["tickets_not_yet_created"]),
        ),
        ("Events rejected", _count(info["events_rejected"])),
        ("Tickets rejected (no created event)", _count(info["tickets_rejected"])),
        ("Duplicate events ignored", _count(info["duplicates"])),
    ]
    if isinstance(loaded, Sequence) and not isinstance(loaded, str):
        rows.append(
            ("Policies loaded", f"{_count(len(loaded))}: {_e(', '.join(map(str, loaded)))}")
        )
    elif isinstance(loaded, int):
        rows.append(("Policies loaded", _count(loaded)))
    rows.append(
        ("Policies that applied", f"{_count(len(matched))}: {_e(', '.join(matched)) or 'none'}")
    )
    body = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)
    return (
        '<section id="inputs"><h2>Inputs</h2><div class="table-wrap"><table>'
        f"<tbody>{body}</tbody></table></div></section>"
    )


def _priority_order(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    def rank(row: Mapping[str, Any]) -> tuple[int, str]:
        name = str(row["key"]["priority"])
        known = name in _PRIORITY_ORDER
        return (_PRIORITY_ORDER.index(name) if known else len(_PRIORITY_ORDER), name)

    return sorted(rows, key=rank)


def _compliance_section(doc: Doc, ids: _Ids) -> str:
    return (
        '<section id="compliance"><h2>Compliance by channel and priority</h2>'
        + _compliance_chart(
            ids,
            "chart-compliance-channel",
            "SLA compliance by channel",
            "Channel",
            doc["by_channel"],
        )
        + _compliance_chart(
            ids,
            "chart-compliance-priority",
            "SLA compliance by priority",
            "Priority",
            _priority_order(doc["by_priority"]),
        )
        + _howto(
            "<p>Each bar is one channel or priority, split into the clocks that met their "
            "target (blue) and those that breached it (orange); the figure to its right is "
            "the compliance and how many settled clocks it rests on. Clocks still running "
            "within target are not in the bar yet. A short bar made of few clocks is noise."
            '<span class="hover"> Hover a bar for the full counts, including breaches still '
            "open.</span></p>"
        )
        + "</section>"
    )


def _histogram_section(doc: Doc, ids: _Ids) -> str:
    edges: list[int] = doc["histogram_edges"]
    charts = []
    for metric in METRICS:
        rows = [
            row
            for row in doc["by_channel"]
            if metric in row["metrics"]
            and "histogram" in row["metrics"][metric]
            and sum(row["metrics"][metric]["histogram"]["business"])
        ]
        if rows:
            charts.append(_histogram_chart(ids, f"chart-times-{metric}", metric, rows, edges))
    content = "".join(charts) or '<p class="none">No completed clocks to measure.</p>'
    return (
        '<section id="times"><h2>Response and resolution times by channel</h2>'
        + content
        + _howto(
            "<p>One row per channel: each bar is a bucket of business time, and every bucket "
            "is twice as wide as the one before (1 to 2 minutes, 2 to 4 minutes, ... up to "
            "546 hours), so minutes and weeks fit on one axis. Bar heights are the share of "
            "that channel's completed clocks, scaled to its tallest bucket, so compare shapes "
            "between rows, not heights; the label on the left gives the count. The black "
            "line marks the median, the orange line the 90th percentile: a long gap between "
            "them is a long tail of slow tickets.</p>"
        )
        + "</section>"
    )


def _heatmap_section(doc: Doc, ids: _Ids) -> str:
    maps = doc["heatmaps"]
    zone = doc["timezone"]
    return (
        f'<section id="heatmap"><h2>Breaches by hour of week ({_e(zone)})</h2>'
        + _heatmap_chart(
            ids,
            "chart-heatmap-breaches",
            f"Breached clocks by hour of week, {zone}",
            "breached clocks",
            maps["breaches"],
            maps["days"],
            BREACH_SCALE,
        )
        + _heatmap_chart(
            ids,
            "chart-heatmap-volume",
            f"Tickets created by hour of week, {zone}",
            "tickets created",
            maps["volume"],
            maps["days"],
            VOLUME_SCALE,
        )
        + _howto(
            f"<p>Rows are days (Monday first), columns hours of the day in {_e(zone)}. The "
            "first grid counts breached clocks by the hour their target ran out (their due "
            "time); the darker the cell, the more breaches. Grey cells have none. The second "
            "grid is when tickets arrived: breaches piling up where arrivals are light point "
            "at staffing gaps (evenings, weekends, shift changes), breaches that follow "
            "arrivals point at capacity."
            '<span class="hover"> Hover a cell for its count.</span></p>'
        )
        + "</section>"
    )


def _running_period(doc: Doc) -> str | None:
    # The period the audit instant falls in, as the audit keys periods.
    from slaengine.audit.periods import LocalBuckets
    from slaengine.errors import UserError
    from slaengine.timeline import parse_instant

    try:
        buckets = LocalBuckets(doc["timezone"], doc["period"])
        return buckets.period_of(parse_instant(doc["at"]))
    except (KeyError, ValueError, UserError):
        return None  # a document without them: nothing is marked


def _trend_section(doc: Doc, ids: _Ids) -> str:
    return (
        '<section id="trend"><h2>Trend</h2>'
        + _trend_chart(ids, "chart-trend", doc["period"], doc["by_period"], _running_period(doc))
        + _howto(
            f"<p>One point per {_e(doc['period'])}, by when tickets were created. The upper "
            "line is the compliance of those tickets' clocks, the lower one how many tickets "
            "were created. The latest periods can look better than they will end: their "
            "clocks may still be running and count neither way until they stop. The period "
            "marked * is not over at the audit instant, so its volume is partial too. A gap "
            "in the upper line is a period without settled clocks.</p>"
        )
        + "</section>"
    )


def _offenders_section(doc: Doc) -> str:
    tables = []
    titles = {"policy": "Policies", "group": "Groups", "agent": "Agents"}
    head = ("Name", "Breached", "Breached, open", "Achieved", "Compliance")
    for dimension, title in titles.items():
        rows = doc["worst_offenders"][dimension]
        if not rows:
            tables.append(f'<h3>{title}</h3><p class="none">No breaches.</p>')
            continue
        cells = [
            (
                _e(row[dimension]),
                _count(row["breached"]),
                _count(row["breached_open"]),
                _count(row["achieved"]),
                _pct(row["compliance"]),
            )
            for row in rows
        ]
        tables.append(f"<div>{_table(title, head, cells, lambda i: i > 0)}</div>")
    return (
        '<section id="offenders"><h2>Worst offenders</h2>'
        f'<div class="offenders">{"".join(tables)}</div>'
        + _howto(
            "<p>The policies, groups and agents with the most breached clocks (up to ten "
            "each). A clock counts for the agent who fulfilled it, else the ticket's "
            "assignee; \u201c(none)\u201d collects clocks nobody owned, often the ones never "
            "answered. Many breaches with a high compliance usually means a lot of volume; "
            "low compliance is the sharper signal.</p>"
        )
        + "</section>"
    )


def render_html(audit: Doc, *, policies: Sequence[str] | None = None) -> str:
    """The audit document of ``audit_to_dict`` as one self-contained HTML page.

    ``policies`` names the policies loaded, for the inputs summary (without it
    the page lists the policies that applied). Same document, same text.
    """
    ids = _Ids()
    source = str(audit["input"]["source"])
    title = f"SLA audit at {audit['at']} \u2014 {source}"
    info = audit["input"]
    subtitle = (
        f"{_count(info['tickets'])} tickets from {source}, evaluated at {audit['at']}; "
        f"time zone {audit['timezone']}, periods by {audit['period']}."
    )
    sections = [
        _headline(audit),
        _inputs(audit, policies),
        _compliance_section(audit, ids),
        _histogram_section(audit, ids),
        _heatmap_section(audit, ids),
        _trend_section(audit, ids),
        _offenders_section(audit),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="slaengine ({_e(audit["schema"])})">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<h1>SLA audit</h1>\n<p class="subtitle">{_e(subtitle)}</p>\n'
        + "\n".join(sections)
        + "\n<footer><p>Made by <code>slaengine audit --html</code> from the audit document "
        f"{_e(audit['schema'])}. KPI definitions: docs/kpis.md; this page: docs/report.md."
        "</p></footer>\n</main>\n"
        f"<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


__all__ = ["render_html"]
