"""Text formatting, colours and SVG primitives shared by the HTML report's charts and sections.

Every function returns markup as text with every value from the data escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any, Final

from slaengine.report.labels import readable_duration

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
TARGET: Final = "#cc79a7"
BACKLOG: Final = "#e69f00"
#: Sequential scales of the heat maps, light to dark.
#: Their first stop (a count of one) stays clearly apart from the grey of an empty cell.
BREACH_SCALE: Final = ("#fdcc8a", "#fc8d59", "#d7301f", "#7f0000")
VOLUME_SCALE: Final = ("#bdd7ee", "#6baed6", "#2171b5", "#08306b")

_FONT: Final = 13
#: Room above every chart for its visible title.
_TITLE_HEIGHT: Final = 30.0
_LABEL_CHARS: Final = 20
#: Height of one row of a legend.
LEGEND_ROW: Final = 18.0


# -- text ------------------------------------------------------------------------------------


def esc(value: object) -> str:
    """``value`` as HTML text or attribute value: every ``<``, ``&`` and quote escaped."""
    return escape(str(value), quote=True)


def shorten(name: str, limit: int = _LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "\u2013" if value is None else f"{value * 100:.{digits}f}%"


def fmt_count(value: int) -> str:
    return f"{value:,}"


def fmt_duration(value: float | None) -> str:
    """A duration for people in its two largest units: ``3d 4h``, ``35m 10s`` (d = 24 hours)."""
    return readable_duration(value, "\u2013")


def fmt_num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros (compact, deterministic)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def axis_duration(seconds: int) -> str:
    """A short axis or bucket label: ``1m``, ``4h 16m``, ``2d 21h`` (d = 24 hours)."""
    return readable_duration(seconds)


def key_name(row: Mapping[str, Any]) -> str:
    return " / ".join(str(value) for value in row["key"].values())


# -- svg primitives ----------------------------------------------------------------------------


def _attrs(attributes: Mapping[str, object]) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None:
            continue
        text = fmt_num(value) if isinstance(value, float) else str(value)
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{esc(text)}"')
    return "".join(parts)


def svg_text(x: float, y: float, content: str, **attributes: object) -> str:
    return f"<text{_attrs({'x': float(x), 'y': float(y), **attributes})}>{esc(content)}</text>"


def svg_rect(x: float, y: float, w: float, h: float, tip: str | None, **attributes: object) -> str:
    shape = _attrs(
        {"x": float(x), "y": float(y), "width": float(w), "height": float(h), **attributes}
    )
    if tip is None:
        return f"<rect{shape}/>"
    return f"<rect{shape}><title>{esc(tip)}</title></rect>"


def svg_line(x1: float, y1: float, x2: float, y2: float, **attributes: object) -> str:
    coords = {"x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2)}
    return f"<line{_attrs({**coords, **attributes})}/>"


class Ids:
    """Element ids numbered in order of rendering: unique on the page and deterministic."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self, prefix: str) -> str:
        self._next += 1
        return f"{prefix}-{self._next}"


def chart_svg(
    ids: Ids,
    chart_id: str,
    width: float,
    height: float,
    title: str,
    desc: str,
    body: Iterable[str],
    narrow: bool = False,
) -> str:
    """A chart with a visible title; ``<title>`` and ``<desc>`` name it for screen readers.

    A page carries each chart twice: laid out for a wide window, and ``narrow``
    for a phone; the page's styles show the one that fits.
    """
    title_id, desc_id = ids("t"), ids("d")
    height += _TITLE_HEIGHT
    # The wide layout keeps its text legible: below 3/4 of its width it scrolls instead.
    style = f"max-width:{round(width)}px"
    if not narrow:
        style = f"min-width:{round(width * 0.75)}px;" + style
    head = (
        f'<svg class="chart" id="{esc(chart_id)}" '
        f'viewBox="0 0 {fmt_num(width)} {fmt_num(height)}" width="{fmt_num(width)}" '
        f'height="{fmt_num(height)}" style="{style}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" font-size="{_FONT}" fill="{INK}" '
        f'font-family="system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, Arial, '
        f'sans-serif">'
        f'<title id="{title_id}">{esc(title)}</title><desc id="{desc_id}">{esc(desc)}</desc>'
    )
    heading = svg_text(0, 18, title, font_size="15", font_weight="700", class_="chart-title")
    shifted = f'<g transform="translate(0 {fmt_num(_TITLE_HEIGHT)})">{"".join(body)}</g>'
    layout = "narrow" if narrow else "wide"
    return f'<div class="chart-wrap {layout}">{head}{heading}{shifted}</svg></div>'


def legend_width(items: Sequence[tuple[str, str]]) -> float:
    """How wide :func:`legend` draws ``items`` in one row."""
    return sum(_legend_item(label) for _, label in items)


def legend(
    x: float, y: float, items: Sequence[tuple[str, str]], right: float | None = None
) -> list[str]:
    """Colour swatches with labels in rows from ``(x, y)``; an item that would pass ``right``
    starts a new row 18 px lower (see :func:`legend_rows`)."""
    parts = ['<g class="legend">']
    start = x
    for colour, label in items:
        if right is not None and x > start and x + _legend_item(label) - 18 > right:
            x, y = start, y + LEGEND_ROW
        parts.append(svg_rect(x, y - 10, 12, 12, None, fill=colour))
        parts.append(svg_text(x + 17, y, label, fill=MUTED))
        x += _legend_item(label)
    parts.append("</g>")
    return parts


def legend_rows(x: float, items: Sequence[tuple[str, str]], right: float) -> int:
    """How many rows :func:`legend` needs for ``items`` between ``x`` and ``right``."""
    rows, at = 1, x
    for _, label in items:
        if at > x and at + _legend_item(label) - 18 > right:
            rows, at = rows + 1, x
        at += _legend_item(label)
    return rows


def _legend_item(label: str) -> float:
    # Swatch, gap, the label at about 7.2 px a character, space to the next item.
    return 17 + 7.2 * len(label) + 18


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value`` (1 at least)."""
    if value <= 1:
        return 1
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if value <= step * power)
