"""The HTML report's page: styles, its one script, a Content-Security-Policy, the sections."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Final

from slaengine.report.html.goals import goals_section
from slaengine.report.html.sections import (
    compliance_section,
    flow_section,
    headline_section,
    heatmap_section,
    histogram_section,
    inputs_section,
    trend_section,
)
from slaengine.report.html.svg import Doc, Ids, esc
from slaengine.report.html.tables import (
    agreements_section,
    breaches_section,
    offenders_section,
    scorecards_section,
)
from slaengine.words import plural

# Counts the charts shown (the layout that fits the window) and those of them that drew (a
# bounding box with an area), for people checking a page that looks empty and for the browser
# test; it reads nothing from the data.
_SCRIPT: Final = (
    "(function () {\n"
    "  var charts = document.querySelectorAll('svg.chart'), drawn = 0, shown = 0;\n"
    "  for (var i = 0; i < charts.length; i++) {\n"
    "    if (!charts[i].getClientRects().length) { continue; }\n"
    "    shown++;\n"
    "    var box = charts[i].getBBox();\n"
    "    if (box.width > 0 && box.height > 0) { drawn++; }\n"
    "  }\n"
    "  document.body.dataset.chartsDrawn = String(drawn);\n"
    "  document.body.dataset.chartsTotal = String(shown);\n"
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
.missed { color: #a40e26; }
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
td.num { white-space: nowrap; }
td.name { overflow-wrap: anywhere; min-width: 8rem; }
caption { text-align: left; font-weight: 600; padding: 0 0 .25rem; }
td small { color: var(--muted); }
/* Scorecards and breach lists have many columns: a little tighter, to fit 1080 px. */
table.stack { font-size: .9rem; }
table.stack th, table.stack td { padding-right: .55rem; }
.note { color: var(--muted); font-size: .9rem; }
/* Every chart comes twice: laid out for a wide window and, shown on a phone instead, for a
   narrow one. On a phone, a wide table's rows become blocks of "header: value" lines too. */
.chart-wrap.narrow { display: none; }
@media (max-width: 40rem) {
  .chart-wrap.wide { display: none; }
  .chart-wrap.narrow { display: block; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack thead { display: none; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: .35rem 0; }
  table.stack td { border: 0; padding: .05rem 0; display: flex; justify-content: space-between;
    gap: 1rem; text-align: right; }
  table.stack td::before { content: attr(data-label); color: var(--muted); text-align: left; }
  table.stack td.name { font-weight: 600; }
  table.stack td.name::before { content: none; }
}
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
  /* Paper is wide enough for the wide layout, whatever the window. */
  .chart-wrap.wide { display: block; }
  .chart-wrap.narrow { display: none; }
  /* Keep a chart, a card, a row or a note whole, but let sections share a page: avoiding
     breaks in whole sections pushed each to a new page and left half of most pages blank. */
  .chart-wrap, svg.chart, .kpi, .howto, tr { break-inside: avoid; }
  h2, h3, caption { break-after: avoid; }
  /* Nothing to hover on paper. */
  .hover { display: none; }
}
"""


def render_html(audit: Doc, *, policies: Sequence[str] | None = None) -> str:
    """The audit document of ``audit_to_dict`` as one self-contained HTML page.

    ``policies`` names the policies loaded, for the inputs summary (without it
    the page lists the policies that applied). Same document, same text.
    """
    ids = Ids()
    source = str(audit["input"]["source"])
    title = f"SLA audit at {audit['at']} \u2014 {source}"
    info = audit["input"]
    subtitle = (
        f"{plural(info['tickets'], 'ticket')} from {source}, evaluated at {audit['at']}; "
        f"time zone {audit['timezone']}, periods by {audit['period']}."
    )
    sections = [
        headline_section(audit),
        inputs_section(audit, policies),
        compliance_section(audit, ids),
        agreements_section(audit),
        histogram_section(audit, ids),
        heatmap_section(audit, ids),
        trend_section(audit, ids),
        goals_section(audit),
        flow_section(audit, ids),
        scorecards_section(audit),
        breaches_section(audit),
        offenders_section(audit),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="slaengine ({esc(audit["schema"])})">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<h1>SLA audit</h1>\n<p class="subtitle">{esc(subtitle)}</p>\n'
        + "\n".join(sections)
        + "\n<footer><p>Made by <code>slaengine audit --html</code> from the audit document "
        f"{esc(audit['schema'])}. KPI definitions: docs/kpis.md; this page: docs/report.md."
        "</p></footer>\n</main>\n"
        f"<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


__all__ = ["render_html"]
