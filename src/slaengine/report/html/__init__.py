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

from slaengine.report.html.page import render_html

__all__ = ["render_html"]
