"""The HTML report's attainment goals: per policy and metric, per period and per group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slaengine.report.goals import met_text, missed_text, percent
from slaengine.report.html.svg import Doc, esc, fmt_count, fmt_pct
from slaengine.report.html.tables import howto, html_table
from slaengine.report.labels import metric_label


def _met(met: bool | None) -> str:
    text = esc(met_text(met))
    return f'<strong class="missed">{text}</strong>' if met is False else text


def _decided(row: dict[str, Any]) -> str:
    return fmt_count(row["achieved"] + row["breached"])


def _scope_rows(rows: Sequence[dict[str, Any]], key: str) -> list[tuple[str, ...]]:
    return [
        (
            esc(row[key]),
            fmt_pct(row["attainment"]),
            fmt_count(row["achieved"]),
            _decided(row),
            _met(row["met"]),
        )
        for row in rows
    ]


def goals_section(doc: Doc) -> str:
    """Attainment against each goal, the periods that missed it, and per group; ``""``
    when no policy sets a goal."""
    goals: list[dict[str, Any]] = doc.get("goals") or []
    if not goals:
        return ""
    labels = doc.get("metric_labels")
    summary = [
        (
            esc(row["policy"]),
            esc(metric_label(row["metric"], labels)),
            esc(percent(row["goal"])),
            fmt_pct(row["attainment"]),
            _decided(row),
            _met(row["met"]),
            esc(missed_text(row)),
        )
        for row in goals
    ]
    head = ("Policy", "Metric", "Goal", "Attainment", "Clocks decided", "Met", "Periods missed")
    parts = [html_table("Attainment goals", head, summary, lambda i: i in (2, 3, 4), stack=True)]
    scope_head = ("Achieved", "Decided", "Met")
    for row in goals:
        metric = metric_label(row["metric"], labels)
        name = f"{row['policy']}: {metric}, goal {percent(row['goal'])}"
        parts.append(
            "<div>"
            + html_table(
                f"{name}, by {doc['period']}",
                (doc["period"].capitalize(), "Attainment", *scope_head),
                _scope_rows(row["by_period"], "period"),
                lambda i: 0 < i < 4,
            )
            + html_table(
                f"{name}, by group",
                ("Group", "Attainment", *scope_head),
                _scope_rows(row["by_group"], "group"),
                lambda i: 0 < i < 4,
            )
            + "</div>"
        )
    return (
        '<section id="goals"><h2>Attainment goals</h2>'
        + "".join(parts)
        + howto(
            "<p>A goal is the share of a policy's (or an agreement's) clocks of a metric to meet "
            "(<code>goal: 95%</code>). Attainment is achieved clocks over achieved and breached "
            "ones (cancelled and still running clocks within target count neither way), over "
            "the policy's tickets (an agreement's: the tickets it attached to); periods are "
            "those of ticket creation, as in the trend. "
            "MISSED marks a period or group under its goal; \u2013 means no clock was decided "
            "there yet.</p>"
        )
        + "</section>"
    )


__all__ = ["goals_section"]
