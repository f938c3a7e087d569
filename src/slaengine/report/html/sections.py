"""The HTML report's sections: headline KPIs, inputs, each chart with its "how to read this".

Each function takes the audit document (``docs/kpis.md``) and returns one ``<section>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from slaengine.metric_names import ordered_metrics
from slaengine.report.html.charts import compliance_chart, heatmap_chart, histogram_chart
from slaengine.report.html.svg import (
    BREACH_SCALE,
    VOLUME_SCALE,
    Doc,
    Ids,
    esc,
    fmt_count,
    fmt_duration,
    fmt_pct,
)
from slaengine.report.html.tables import howto
from slaengine.report.html.timecharts import flow_chart, trend_chart
from slaengine.report.labels import metric_label
from slaengine.words import plural

#: Usual priorities, most urgent first; others follow in name order.
_PRIORITY_ORDER: Final = ("urgent", "high", "normal", "low")


def _kpi(label: str, value: str, detail: str = "") -> str:
    small = f"<small>{esc(detail)}</small>" if detail else ""
    return f'<div class="kpi"><dt>{esc(label)}</dt><dd>{esc(value)}{small}</dd></div>'


def achievement_detail(stats: Mapping[str, Any]) -> str:
    """Under a metric's achievement: how many met the target out of how many were decided,
    and what is still running (breached, or within target), in words a support lead reads."""
    achieved, breached = stats["achieved"], stats["breached"]
    if achieved + breached:
        parts = [f"{fmt_count(achieved)} of {fmt_count(achieved + breached)} met the target"]
    else:
        parts = ["none met or breached its target yet"]
    if stats["breached_open"]:
        parts.append(f"{fmt_count(stats['breached_open'])} breached, still running")
    if stats["open"]:
        parts.append(f"{fmt_count(stats['open'])} running within target")
    return " \u00b7 ".join(parts)


def headline_section(doc: Doc) -> str:
    kpis = doc["overall"]
    counts = kpis["compliance"]
    missing = kpis.get("not_measurable", {})
    labels = doc.get("metric_labels")

    def card(key: str, label: str, value: str, detail: str) -> str:
        # A KPI the events cannot measure says so, never 0%.
        if key in missing:
            return _kpi(label, "n/a", f"not measurable: {missing[key]}")
        return _kpi(label, value, detail)

    cards = [
        _kpi(
            f"{metric_label(metric, labels)} achieved",
            fmt_pct(stats["compliance"]),
            achievement_detail(stats),
        )
        for metric, stats in kpis["metrics"].items()
    ]
    cards += [
        _kpi(
            "Tickets with a breach",
            fmt_pct(kpis["breached_ticket_rate"]),
            f"{fmt_count(kpis['tickets_breached'])} of {fmt_count(kpis['tickets'])} tickets",
        ),
        _kpi(
            "All clocks achieved",
            fmt_pct(counts["compliance"]),
            f"{fmt_count(counts['achieved'])} achieved, {fmt_count(counts['breached'])} breached",
        ),
        # The ticket count is always known; only the customers behind them may not be.
        _kpi(
            "Tickets",
            fmt_count(kpis["tickets"]),
            f"customers not measurable: {missing['unique_customers']}"
            if "unique_customers" in missing
            else f"{fmt_count(kpis['unique_customers'] or 0)} customers",
        ),
    ]
    for metric in ordered_metrics(kpis["metrics"]):
        business = kpis["metrics"][metric]["business_seconds"]
        cards.append(
            _kpi(
                f"{metric_label(metric, labels)} time, median",
                fmt_duration(business["p50"]),
                f"p90 {fmt_duration(business['p90'])} \u00b7 "
                f"{fmt_count(business['count'])} completed"
                if business["count"]
                else "none completed yet",
            )
        )
    handle = kpis["open_time_seconds"]
    csat = kpis["csat"]
    cards += [
        card(
            "fcr_rate",
            "First contact resolution",
            fmt_pct(kpis["fcr_rate"]),
            f"{fmt_count(kpis['fcr'])} of {fmt_count(kpis['solved'])} solved",
        ),
        _kpi(
            "Time in new/open",
            fmt_duration(handle["mean"]),
            f"mean of {plural(handle['count'], 'solved ticket')} \u00b7 "
            f"median {fmt_duration(handle['p50'])}"
            if handle["count"]
            else "no ticket solved yet",
        ),
        card(
            "csat",
            "CSAT",
            "\u2013" if csat["mean"] is None else f"{csat['mean']:.2f}",
            f"{fmt_count(csat['rated'])} rating{'' if csat['rated'] == 1 else 's'}",
        ),
        card(
            "response_rate",
            "Response rate",
            fmt_pct(kpis["response_rate"]),
            f"{fmt_count(kpis['answered_messages'])} of {fmt_count(kpis['customer_messages'])} "
            "customer messages",
        ),
        _kpi(
            "Reopen rate",
            fmt_pct(kpis["reopen_rate"]),
            f"{fmt_count(kpis['reopened'])} of {fmt_count(kpis['ever_solved'])} ever solved"
            if kpis["ever_solved"]
            else "no ticket solved yet",
        ),
    ]
    return (
        '<section id="kpis"><h2>Headline KPIs</h2>'
        f'<dl class="kpis">{"".join(cards)}</dl>'
        + howto(
            "<p>Compliance is achieved / (achieved + breached) clocks: cancelled clocks and "
            "clocks still running within target count neither way. Times are business time "
            "of completed clocks (running ones are not known yet); p90 means nine in ten took "
            "at most that long. Time in new/open is calendar time in new/open status of solved "
            "tickets (what is often called handling time). A KPI the events cannot measure "
            "says n/a and why. Every formula: docs/kpis.md.</p>"
        )
        + "</section>"
    )


def inputs_section(doc: Doc, policies: Sequence[str] | None) -> str:
    info = doc["input"]
    matched = [row["key"]["policy"] for row in doc["by_policy"] if row["key"]["policy"] != "(none)"]
    loaded = policies if policies is not None else info.get("policies")
    # (label, value), both already HTML: labels are fixed text, values escaped here.
    rows: list[tuple[str, str]] = [
        ("Source", esc(info["source"])),
        ("Evaluated at <span class=flag>(--at)</span>", esc(doc["at"])),
        ("Time zone <span class=flag>(--tz)</span>", esc(doc["timezone"])),
        ("Period <span class=flag>(--period)</span>", esc(doc["period"])),
        ("Lines read", fmt_count(info["lines"])),
        ("Events used", fmt_count(info["events"])),
        ("Tickets evaluated", fmt_count(info["tickets"])),
        ("Tickets matching no policy", fmt_count(info["tickets_unmatched"])),
        (
            "Tickets created after <span class=flag>--at</span> (left out)",
            fmt_count(info["tickets_not_yet_created"]),
        ),
        ("Events rejected", fmt_count(info["events_rejected"])),
        ("Tickets rejected (no created event)", fmt_count(info["tickets_rejected"])),
        ("Duplicate events ignored", fmt_count(info["duplicates"])),
    ]
    if isinstance(loaded, Sequence) and not isinstance(loaded, str):
        rows.append(
            ("Policies loaded", f"{fmt_count(len(loaded))}: {esc(', '.join(map(str, loaded)))}")
        )
    elif isinstance(loaded, int):
        rows.append(("Policies loaded", fmt_count(loaded)))
    rows.append(
        ("Policies that applied", f"{fmt_count(len(matched))}: {esc(', '.join(matched)) or 'none'}")
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


def compliance_section(doc: Doc, ids: Ids) -> str:
    return (
        '<section id="compliance"><h2>Compliance by channel and priority</h2>'
        + both(
            compliance_chart,
            ids,
            "chart-compliance-channel",
            "SLA compliance by channel",
            "Channel",
            doc["by_channel"],
        )
        + both(
            compliance_chart,
            ids,
            "chart-compliance-priority",
            "SLA compliance by priority",
            "Priority",
            _priority_order(doc["by_priority"]),
        )
        + howto(
            "<p>Each bar is one channel or priority, split into the clocks that met their "
            "target (blue) and those that breached it (orange); the figure to its right is "
            "the compliance and how many settled clocks it rests on. Clocks still running "
            "within target are not in the bar yet. A short bar made of few clocks is noise."
            '<span class="hover"> Hover a bar for the full counts, including breaches still '
            "open.</span></p>"
        )
        + "</section>"
    )


def histogram_section(doc: Doc, ids: Ids) -> str:
    edges: list[int] = doc["histogram_edges"]
    charts = []
    labels = doc.get("metric_labels")
    measured = ordered_metrics(m for row in doc["by_channel"] for m in row["metrics"])
    for metric in measured:
        rows = [
            row
            for row in doc["by_channel"]
            if metric in row["metrics"]
            and "histogram" in row["metrics"][metric]
            and sum(row["metrics"][metric]["histogram"]["business"])
        ]
        if rows:
            label = metric_label(metric, labels)
            charts.append(
                both(histogram_chart, ids, f"chart-times-{metric}", metric, rows, edges, label)
            )
    content = "".join(charts) or '<p class="none">No completed clocks to measure.</p>'
    return (
        '<section id="times"><h2>Response and resolution times by channel</h2>'
        + content
        + howto(
            "<p>One row per channel: each bar is a bucket of business time, and every bucket "
            "is twice as wide as the one before (1 to 2 minutes, 2 to 4 minutes, ... up to "
            "about 23 days), so minutes and weeks fit on one axis; a d is 24 hours of business "
            "time (three 8-hour working days), not a calendar day. Bar heights are the share "
            "of that channel's completed clocks, scaled to its tallest bucket, so compare "
            "shapes between rows, not heights; the label gives the count. The black line "
            "marks the median, the orange line the 90th percentile: a long gap between them "
            "is a long tail of slow tickets. The dashed pink lines are the targets most of "
            "the row's clocks had: bars right of them breached.</p>"
        )
        + "</section>"
    )


def heatmap_section(doc: Doc, ids: Ids) -> str:
    maps = doc["heatmaps"]
    zone = doc["timezone"]
    return (
        f'<section id="heatmap"><h2>Breaches by hour of week ({esc(zone)})</h2>'
        + both(
            heatmap_chart,
            ids,
            "chart-heatmap-breaches",
            "Breached clocks by hour of week",
            zone,
            "breached clocks",
            maps["breaches"],
            maps["days"],
            BREACH_SCALE,
        )
        + both(
            heatmap_chart,
            ids,
            "chart-heatmap-volume",
            "Tickets created by hour of week",
            zone,
            "tickets created",
            maps["volume"],
            maps["days"],
            VOLUME_SCALE,
        )
        + howto(
            f"<p>Rows are days (Monday first), columns hours of the day in {esc(zone)} (on "
            "a narrow screen, columns are days and rows hours). The "
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
    from slaengine.event_parsing import parse_instant

    try:
        buckets = LocalBuckets(doc["timezone"], doc["period"])
        return buckets.period_of(parse_instant(doc["at"]))
    except (KeyError, ValueError, UserError):
        return None  # a document without them: nothing is marked


def trend_section(doc: Doc, ids: Ids) -> str:
    running = _running_period(doc)
    return (
        '<section id="trend"><h2>Trend</h2>'
        + both(trend_chart, ids, "chart-trend", doc["period"], doc["by_period"], running)
        + howto(
            f"<p>One point per {esc(doc['period'])}, by when tickets were created. The upper "
            "line is the compliance of those tickets' clocks, the lower one how many tickets "
            "were created. The latest periods can look better than they will end: their "
            "clocks may still be running and count neither way until they stop. The period "
            "marked * is not over at the audit instant, so its volume is partial too. A gap "
            "in the upper line is a period without settled clocks.</p>"
        )
        + "</section>"
    )


def flow_section(doc: Doc, ids: Ids) -> str:
    """Tickets created and solved per period, and the backlog they leave."""
    flow = doc.get("flow") or []
    content = (
        both(flow_chart, ids, "chart-flow", doc["period"], flow, _running_period(doc))
        if flow
        else '<p class="none">No tickets.</p>'
    )
    return (
        '<section id="flow"><h2>Created, solved and backlog</h2>'
        + content
        + howto(
            f"<p>Per {esc(doc['period'])}: the upper panel counts the tickets created in it "
            "(green) and the tickets solved in it (blue, by their final solve: a ticket "
            "reopened and still open at the audit instant is not solved); the lower panel is "
            "the backlog, the tickets created by the end of the period and not yet finally "
            "solved. Created above solved week after week grows the backlog. The backlog is "
            "as the events show it at the audit instant, not as it looked at the time.</p>"
        )
        + "</section>"
    )


def both(chart: Callable[..., str], ids: Ids, chart_id: str, *args: Any) -> str:
    """``chart`` laid out for a wide window and for a phone (id ``<chart_id>-narrow``);
    the page's styles show one of them."""
    return chart(ids, chart_id, *args) + chart(ids, f"{chart_id}-narrow", *args, narrow=True)
