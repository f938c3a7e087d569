"""A batch audit rendered for machines (a stable JSON document) and people (rich tables).

:func:`audit_to_dict` builds the JSON document described in ``docs/kpis.md``;
:func:`audit_renderable` draws the terminal summary from that same document,
so both always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from rich.console import Group
from rich.table import Table
from rich.text import Text

from slaengine.audit.accumulator import METRIC, AuditAccumulator, BreachRecord, GroupStats
from slaengine.audit.goals import Goals, goal_rows
from slaengine.audit.kpis import group_kpis, metric_rows
from slaengine.audit.periods import WEEKDAYS
from slaengine.audit.stats import BUCKET_EDGES
from slaengine.batches import BatchResult
from slaengine.calendar import format_utc
from slaengine.metric_names import Labels, ordered_metrics
from slaengine.report.goals import goal_tables
from slaengine.report.labels import metric_label, readable_duration
from slaengine.report.scorecards import (
    counts_misses,
    none_note,
    scorecard_legend,
    scorecard_table,
    scorecards,
)
from slaengine.report.table import cell
from slaengine.report.terminal import Column, fitted_table
from slaengine.words import plural

#: Version of the JSON document's structure; bumped when a key changes meaning or goes away.
SCHEMA: Final = "slaengine.audit/2"
#: Rows per worst-offenders list.
WORST: Final = 10
_STANDARD_SECTIONS: Final = ("channel", "priority", "policy", "group", "agent", "period")


def _rows(
    table: dict[tuple[str, ...], GroupStats], dimensions: Sequence[str], histograms: bool = False
) -> list[dict[str, Any]]:
    return [
        {"key": dict(zip(dimensions, key, strict=True)), **group_kpis(group, histograms)}
        for key, group in sorted(table.items())
    ]


def _worst(table: dict[tuple[str, ...], GroupStats], dimension: str) -> list[dict[str, Any]]:
    ranked = []
    for (name,), group in table.items():
        counts = group_kpis(group)["compliance"]
        if counts["breached"]:
            ranked.append({dimension: name, **counts})
    ranked.sort(key=lambda row: (-row["breached"], row[dimension]))
    return ranked[:WORST]


def software_versions() -> dict[str, str]:
    """The versions that decide an audit's figures: slaengine's rules, holiday and zone data.

    Holiday lists change between ``holidays`` releases and time zone rules
    between tz database releases, so the same events and policies can give
    other business times under other versions; recording them makes an audit
    reproducible.
    """
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from slaengine import __version__

    found = {"slaengine": __version__}
    for package in ("holidays", "tzdata"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "system" if package == "tzdata" else "not installed"
    found["python"] = platform.python_version()
    return found


def input_summary(batch: BatchResult[Any], audit: AuditAccumulator, source: str) -> dict[str, Any]:
    """What was read and what could not be used."""
    tickets_rejected = sum(1 for p in batch.problems if p.code == "E410")
    return {
        "source": source,
        "lines": batch.lines,
        "events": audit.events,
        "events_rejected": len(batch.problems) - tickets_rejected,
        "tickets_rejected": tickets_rejected,
        "duplicates": batch.duplicates,
        "partitions": batch.partitions,
        "tickets": audit.tickets,
        "tickets_not_yet_created": audit.not_yet_created,
        "tickets_unmatched": audit.unmatched,
    }


def audit_to_dict(
    audit: AuditAccumulator,
    batch: BatchResult[Any],
    *,
    source: str,
    now: int,
    by: Sequence[str],
    labels: Labels | None = None,
    goals: Goals | None = None,
    agreement_goals: Goals | None = None,
) -> dict[str, Any]:
    """The whole audit as a JSON-ready dict with stable keys (see ``docs/kpis.md``).

    ``labels`` are the metric labels the policies' definitions give (see
    :func:`slaengine.metric_names.labels_of`); ``metric_labels`` names every metric.
    ``goals`` are the policies' attainment goals (:func:`slaengine.audit.goals.policy_goals`);
    ``agreement_goals`` are the agreements' (:func:`slaengine.audit.goals.agreement_goals`).
    The audit must then keep the goal views (as ``audit_file`` does by default when the
    policies set goals).
    """
    buckets = audit.buckets
    overall = audit.view(()).get((), GroupStats())
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "at": format_utc(now),
        "timezone": buckets.zone_name,
        "period": buckets.period,
        "by": list(by),
        "versions": software_versions(),
        "input": input_summary(batch, audit, source),
        "overall": group_kpis(overall),
    }
    for dimension in _STANDARD_SECTIONS:
        doc[f"by_{dimension}"] = _rows(
            audit.view((dimension,)), (dimension,), histograms=dimension == "channel"
        )
    doc["by_channel_priority"] = _rows(audit.view(("channel", "priority")), ("channel", "priority"))
    doc["by_metric"] = metric_rows({"key": {}, **doc["overall"]})
    view = tuple(d for d in by if d != METRIC)
    doc["groups"] = _rows(audit.view(view), view)
    if METRIC in by:
        position = list(by).index(METRIC)
        doc["groups"] = [split for row in doc["groups"] for split in metric_rows(row, position)]
    doc["heatmaps"] = {
        "days": list(WEEKDAYS),
        "hours": list(range(24)),
        "volume": _week_grid(audit.volume_by_hour),
        "breaches": _week_grid(audit.breaches_by_hour),
    }
    doc["histogram_edges"] = list(BUCKET_EDGES)
    # An internal agreement's breaches are its own, not its ticket's customer policy's:
    # ranked by agreement (the customer policies' clocks under their names) when kept.
    by_agreement = audit.view(("agreement",)) if ("agreement",) in audit.groups else None
    doc["worst_offenders"] = {
        dimension: _worst(
            by_agreement
            if dimension == "policy" and by_agreement is not None
            else audit.view((dimension,)),
            dimension,
        )
        for dimension in ("policy", "group", "agent")
    }
    doc["scorecards"] = scorecards(doc)
    doc["flow"] = flow_rows(doc["by_period"], audit.solved_by_period)
    doc["worst_breaches"] = {
        metric: [_breach(record) for record in audit.worst_breaches[metric]]
        for metric in ordered_metrics(audit.worst_breaches)
    }
    named = ordered_metrics([*doc["overall"]["metrics"], *doc["worst_breaches"]])
    doc["metric_labels"] = {metric: metric_label(metric, labels) for metric in named}
    doc["goals"] = goal_rows(audit, goals or {}, agreement_goals)
    return doc


def flow_rows(by_period: Sequence[dict[str, Any]], solved: dict[str, int]) -> list[dict[str, Any]]:
    """Per period: tickets created, tickets solved (final solve) and the backlog at its end.

    The backlog is every ticket created up to the period's end less those finally
    solved by then, as known at the evaluation instant (a ticket reopened and still
    open counts as never solved).
    """
    created = {row["key"]["period"]: row["tickets"] for row in by_period}
    rows, backlog = [], 0
    for period in sorted(set(created) | set(solved)):
        made, done = created.get(period, 0), solved.get(period, 0)
        backlog += made - done
        rows.append({"period": period, "created": made, "solved": done, "backlog": backlog})
    return rows


def _breach(record: BreachRecord) -> dict[str, Any]:
    (margin, ticket, instance, policy, channel, priority, group, agent, start, due, stop,
     elapsed, target) = record  # fmt: skip
    return {
        "ticket": ticket,
        "instance": instance,
        "policy": policy,
        "channel": channel,
        "priority": priority,
        "group": group,
        "agent": agent,
        "start": format_utc(start),
        "due": None if due is None else format_utc(due),
        "stop": None if stop is None else format_utc(stop),
        "elapsed": elapsed,
        "target": target,
        "margin": margin,
    }


def _week_grid(counts: Sequence[int]) -> list[list[int]]:
    return [list(counts[day * 24 : day * 24 + 24]) for day in range(7)]


# -- terminal ------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _dur(value: float | None) -> str:
    return readable_duration(value)


def _count(value: int) -> str:
    return f"{value:,}"


def measured(kpis: dict[str, Any], key: str, text: str) -> str:
    """``text``, or ``n/a`` when the data cannot measure ``key`` (the reason follows the table)."""
    return "n/a" if key in kpis.get("not_measurable", {}) else text


def _not_measurable_lines(kpis: dict[str, Any]) -> list[Text]:
    # One line per reason, naming the KPIs it leaves unmeasured.
    by_reason: dict[str, list[str]] = {}
    for key, reason in kpis.get("not_measurable", {}).items():
        by_reason.setdefault(reason, []).append(_KPI_NAMES.get(key, key))
    return [
        Text(f"n/a, not measurable: {', '.join(names)} ({reason})", style="dim")
        for reason, names in by_reason.items()
    ]


_KPI_NAMES: Final = {
    "response_rate": "response rate",
    "replies_per_ticket": "replies per ticket",
    "fcr_rate": "first contact resolution",
    "unique_customers": "unique customers",
    "csat": "CSAT",
}


def _achieved(stats: dict[str, Any]) -> str:
    decided = stats["achieved"] + stats["breached"]
    misses = f"; {stats['misses']:,} misses" if counts_misses(stats) else ""
    return f"{_pct(stats['compliance'])} ({stats['achieved']:,} of {decided:,}{misses})"


def _overall_table(doc: dict[str, Any], width: int | None) -> Table:
    kpis = doc["overall"]
    compliance = kpis["compliance"]
    csat = kpis["csat"]
    handle = kpis["open_time_seconds"]
    rows = [
        ("Tickets", _count(kpis["tickets"])),
        *(
            (f"{metric_label(metric, doc.get('metric_labels'))} achieved", _achieved(stats))
            for metric, stats in kpis["metrics"].items()
        ),
        ("Tickets with a breach", f"{_pct(kpis['breached_ticket_rate'])} "
            f"({kpis['tickets_breached']:,})"),
        ("All clocks achieved (every metric)", _pct(compliance["compliance"])),
        (
            "Clocks still running: within target / breached",
            f"{compliance['open']:,} / {compliance['breached_open']:,}",
        ),
        ("Unique customers", measured(kpis, "unique_customers",
            _count(kpis["unique_customers"] or 0))),
        ("Response rate", measured(kpis, "response_rate", _pct(kpis["response_rate"]))),
        ("Replies per ticket", measured(kpis, "replies_per_ticket",
            "-" if kpis["replies_per_ticket"] is None else f"{kpis['replies_per_ticket']:.2f}")),
        ("First contact resolution", measured(kpis, "fcr_rate", _pct(kpis["fcr_rate"]))),
        ("Time in new/open, solved: mean (median)",
            f"{_dur(handle['mean'])} ({_dur(handle['p50'])})"),
        ("Reopen rate", _pct(kpis["reopen_rate"])),
        (
            "CSAT mean (ratings)",
            measured(kpis, "csat", "-" if csat["mean"] is None else
                f"{csat['mean']:.2f} ({csat['rated']:,})"),
        ),
    ]  # fmt: skip
    columns = [
        Column("KPI", [name for name, _ in rows]),
        Column("Value", [value for _, value in rows], right=True),
    ]
    return fitted_table("Overall", columns, width)


def _compliance_table(
    title: str, label: str, rows: list[dict[str, Any]], width: int | None
) -> Table:
    counts = [row["compliance"] for row in rows]
    columns = [
        Column(label, [cell(" / ".join(row["key"].values())) for row in rows]),
        Column("Tickets", [_count(row["tickets"]) for row in rows], right=True),
        Column("Compliance", [_pct(c["compliance"]) for c in counts], right=True),
        Column("Achieved", [_count(c["achieved"]) for c in counts], right=True, drop=1),
        Column("Breached", [_count(c["breached"]) for c in counts], right=True),
        Column("Open", [_count(c["open"]) for c in counts], right=True, drop=2),
        Column("Open breached", [_count(c["breached_open"]) for c in counts], right=True,
               drop=3),
    ]  # fmt: skip
    if any(counts_misses(c) for c in counts):
        columns.insert(5, Column("Misses", [_count(c["misses"]) for c in counts], right=True))
    return fitted_table(title, columns, width)


def _labelled(rows: list[dict[str, Any]], labels: Labels | None) -> list[dict[str, Any]]:
    # Metric names as people read them, in the terminal only.
    return [
        {**row, "key": {**row["key"], "metric": metric_label(row["key"]["metric"], labels)}}
        if "metric" in row["key"]
        else row
        for row in rows
    ]


def _response_table(
    rows: list[dict[str, Any]], width: int | None, labels: Labels | None = None
) -> Table:
    """Times per channel and metric; metrics by their labels, as in the other tables."""
    lines: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    for row in rows:
        first = True
        # Every metric measured, user-defined ones after the built-ins.
        for metric in ordered_metrics(row["metrics"]):
            stats = row["metrics"][metric]
            if stats is None or not stats["business_seconds"]["count"]:
                continue
            channel = row["key"]["channel"] if first else ""
            name = metric_label(metric, labels)
            lines.append((channel, name, stats["business_seconds"], stats["calendar_seconds"]))
            first = False
    columns = [
        Column("Channel", [cell(line[0]) for line in lines]),
        Column("Metric", [cell(line[1]) for line in lines]),
        Column("Count", [_count(line[2]["count"]) for line in lines], right=True),
        Column("Mean", [_dur(line[2]["mean"]) for line in lines], right=True, drop=2),
        Column("Median", [_dur(line[2]["p50"]) for line in lines], right=True),
        Column("p90", [_dur(line[2]["p90"]) for line in lines], right=True),
        Column("p95", [_dur(line[2]["p95"]) for line in lines], right=True, drop=4),
        Column("Max", [_dur(line[2]["max"]) for line in lines], right=True, drop=3),
        Column("Calendar median", [_dur(line[3]["p50"]) for line in lines], right=True,
               drop=1),
    ]  # fmt: skip
    title = "Response and resolution times by channel (business time; calendar median)"
    return fitted_table(title, columns, width)


def _worst_table(doc: dict[str, Any], width: int | None) -> Table:
    dimensions = ("policy", "group", "agent")
    lists = [doc["worst_offenders"][d] for d in dimensions]
    height = max((len(rows) for rows in lists), default=0)
    columns: list[Column] = []
    # Agents go first, then groups, when the terminal is narrow; policies stay.
    for drop, dimension, rows in zip((0, 2, 1), dimensions, lists, strict=True):
        names = [cell(str(rows[i][dimension])) if i < len(rows) else "" for i in range(height)]
        counts = [_count(rows[i]["breached"]) if i < len(rows) else "" for i in range(height)]
        columns.append(Column(dimension.capitalize(), names, drop=drop))
        columns.append(Column("Breached", counts, right=True, drop=drop))
    return fitted_table("Worst offenders (most breached clocks)", columns, width)


def _versions_line(doc: dict[str, Any]) -> str:
    versions = doc.get("versions") or {}
    return "Computed with " + ", ".join(f"{name} {value}" for name, value in versions.items())


def input_line(doc: dict[str, Any]) -> str:
    """One sentence on what was read, evaluated and rejected."""
    info = doc["input"]
    text = (
        f"Read {plural(info['lines'], 'line')}, {plural(info['events'], 'event')} used; "
        f"{plural(info['tickets'], 'ticket')} evaluated ({info['tickets_unmatched']:,} matched "
        f"no policy); rejected {plural(info['events_rejected'], 'event')} and "
        f"{plural(info['tickets_rejected'], 'ticket')}; "
        f"{plural(info['duplicates'], 'duplicate')} ignored"
    )
    if info["tickets_not_yet_created"]:
        text += f"; {info['tickets_not_yet_created']:,} created after --at left out"
    return text


def _is_note(part: Any) -> bool:
    # The lines explaining a table: not measurable KPIs, a scorecard's (none) row.
    return isinstance(part, Text) and part.plain.startswith(_NOTES)


_NOTES: Final = ("n/a, not measurable", "(none): ", "met: achievement")


def audit_renderable(doc: dict[str, Any], width: int | None = None) -> Group:
    """The terminal summary of an audit document made by :func:`audit_to_dict`.

    ``width`` is the terminal's: each table leaves out its least needed columns
    to fit, never cutting a name (``None``: every column).
    """
    labels = doc.get("metric_labels")
    parts: list[Any] = [
        Text(
            f"SLA audit at {doc['at']} (periods: {doc['period']}, time zone {doc['timezone']})",
            style="bold",
        ),
        Text(_versions_line(doc), style="dim"),
        Text(input_line(doc)),
        Text(""),
        _overall_table(doc, width),
        *_not_measurable_lines(doc["overall"]),
        _compliance_table(
            "Achievement by metric", "Metric", _labelled(doc["by_metric"], labels), width
        ),
        _compliance_table("Compliance by channel", "Channel", doc["by_channel"], width),
        _compliance_table("Compliance by priority", "Priority", doc["by_priority"], width),
        _response_table(doc["by_channel"], width, labels),
        _compliance_table(f"Trend by {doc['period']}", "Period", doc["by_period"], width),
        _worst_table(doc, width),
        # Attainment against goals, when a policy sets one.
        *(
            goal_tables(doc["goals"], doc["period"], width, doc.get("metric_labels"))
            if doc.get("goals")
            else ()
        ),
    ]
    # Alone, agent or group is its scorecard; with other dimensions, its table too.
    shown_alone = (["channel"], ["priority"], ["period"], ["metric"], ["agent"], ["group"])
    if doc["by"] and doc["by"] not in shown_alone:
        parts.append(
            _compliance_table(
                "By " + ", ".join(doc["by"]),
                " / ".join(doc["by"]),
                _labelled(doc["groups"], labels),
                width,
            )
        )
    for dimension in ("agent", "group"):
        if dimension in doc["by"] and "scorecards" in doc:
            cards = doc["scorecards"][dimension]
            parts.append(scorecard_table(cards, dimension, width, doc.get("metric_labels")))
            parts.append(scorecard_legend(cards))
            note = none_note(cards, dimension)
            if note is not None:
                parts.append(note)
    # A blank line after each table: borderless tables need it to read apart.
    spaced: list[Any] = []
    for index, part in enumerate(parts):
        spaced.append(part)
        following = parts[index + 1] if index + 1 < len(parts) else None
        # A note on a table stays with it; the blank line comes after the notes.
        if (isinstance(part, Table) or _is_note(part)) and not _is_note(following):
            spaced.append(Text(""))
    return Group(*spaced)


__all__ = [
    "SCHEMA",
    "audit_renderable",
    "audit_to_dict",
    "input_line",
    "input_summary",
    "software_versions",
]
