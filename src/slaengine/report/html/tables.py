"""The HTML report's tables: scorecards, the worst breached tickets, worst offenders.

Each section function takes the audit document (``docs/kpis.md``) and returns
one ``<section>``; cells from the data are escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from slaengine.report.html.svg import Doc, esc, fmt_count, fmt_duration, fmt_pct
from slaengine.report.labels import metric_label
from slaengine.report.scorecards import NONE_NOTES, counts_misses, metric_columns

_SCORECARD_TITLES: Final = {"agent": "Agents", "group": "Groups"}


def howto(text: str) -> str:
    """The "how to read this" note under a chart or table."""
    return f'<div class="howto"><strong>How to read this</strong>{text}</div>'


def html_table(
    caption: str,
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Callable[[int], bool],
    *,
    stack: bool = False,
) -> str:
    """A table of already escaped cells.

    ``stack``: on a narrow screen each row becomes a block of "header: value"
    lines instead of a row wider than the screen (the header rides along in
    ``data-label``).
    """
    cells = "".join(
        f'<th scope="col"{" class=num" if numeric(i) else ""}>{esc(h)}</th>'
        for i, h in enumerate(head)
    )
    labels = [f' data-label="{esc(h)}"' if stack else "" for h in head]
    # Stacked, a cell is a flex row of its label and its content: one item, kept together.
    wrap = ("<span>", "</span>") if stack else ("", "")
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if numeric(i) else ' class=name' if i == 0 else ''}{labels[i]}>"
            f"{wrap[0]}{c}{wrap[1]}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    kind = ' class="stack"' if stack else ""
    return (
        f'<div class="table-wrap"><table{kind}><caption>{esc(caption)}</caption>'
        f"<thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _scorecard_cells(card: dict[str, Any], dimension: str, metrics: Sequence[str]) -> list[str]:
    missing = card["not_measurable"]
    frt, resolution = card["first_response_seconds"], card["resolution_seconds"]

    def achieved(metric: str) -> str:
        stats = card["achievement"].get(metric)
        if stats is None:
            return "\u2013"
        decided = stats["achieved"] + stats["breached"]
        misses = f", {fmt_count(stats['misses'])} misses" if counts_misses(stats) else ""
        return f"{fmt_pct(stats['compliance'])} <small>of {fmt_count(decided)}{misses}</small>"

    csat = card["csat"]
    return [
        esc(card[dimension]),
        fmt_count(card["tickets"]),
        fmt_count(card["solved"]),
        esc(fmt_duration(frt["p50"])),
        esc(fmt_duration(resolution["p50"])),
        *(achieved(metric) for metric in metrics),
        "n/a" if "fcr_rate" in missing else fmt_pct(card["fcr_rate"]),
        "n/a" if "csat" in missing else "\u2013" if csat["mean"] is None else f"{csat['mean']:.2f}",
        fmt_count(card["reopened"]),
    ]


def scorecards_section(doc: Doc) -> str:
    """Per agent and per group: volume, times, achievement per metric, FCR, CSAT, reopens."""
    cards_by = doc.get("scorecards") or {}
    parts = []
    for dimension, title in _SCORECARD_TITLES.items():
        cards = cards_by.get(dimension) or []
        if not cards:
            parts.append(f'<h3>{title}</h3><p class="none">None in the events.</p>')
            continue
        metrics = metric_columns(cards)
        head = (
            dimension.capitalize(), "Tickets", "Solved", "First response, median",
            "Resolution, median",
            *(f"{metric_label(m, doc.get('metric_labels'))} achieved" for m in metrics),
            "FCR", "CSAT", "Reopens",
        )  # fmt: skip
        rows = [_scorecard_cells(card, dimension, metrics) for card in cards]
        parts.append(html_table(title, head, rows, lambda i: i > 0, stack=True))
        if cards[-1].get("note"):
            parts.append(
                f'<p class="note"><strong>(none)</strong>: {esc(NONE_NOTES[dimension])}.</p>'
            )
    return (
        '<section id="scorecards"><h2>Scorecards</h2>'
        + "".join(parts)
        + howto(
            "<p>One row per agent (or group), most tickets first. Tickets, solved, FCR, CSAT "
            "and reopens count the tickets assigned to the agent (else the agent of the last "
            "reply); times and achievement count the clocks the agent fulfilled (else those "
            "of the tickets assigned to them), so an agent can have clocks and no tickets. "
            "Times are the median business time of completed clocks; achievement is achieved "
            "of achieved and breached clocks, with how many it rests on. Few tickets make "
            "noisy figures: compare agents with similar volume.</p>"
        )
        + "</section>"
    )


def _instance(instance: int) -> str:
    # The first clock of a metric needs no number; a later one does (periodic updates).
    return f" <small>#{instance}</small>" if instance > 1 else ""


def _overdue(margin: int) -> str:
    return fmt_duration(-margin)


def breaches_section(doc: Doc) -> str:
    """Per metric, the most overdue breached clocks: ticket, by how much, target, policy."""
    worst = doc.get("worst_breaches") or {}
    parts = []
    head = ("Ticket", "Overdue by", "Target", "Took", "Policy", "Channel", "Priority",
            "Agent", "Due (UTC)", "State")  # fmt: skip
    for metric, records in worst.items():
        rows = [
            (
                esc(r["ticket"]) + _instance(r["instance"]),
                esc(_overdue(r["margin"])),
                esc(fmt_duration(r["target"])),
                esc(fmt_duration(r["elapsed"])),
                esc(r["policy"]),
                esc(r["channel"]),
                esc(r["priority"]),
                esc(r["agent"]),
                esc((r["due"] or "\u2013").replace("T", " ").rstrip("Z")),
                "still open" if r["stop"] is None else "stopped late",
            )
            for r in records
        ]
        title = f"{metric_label(metric, doc.get('metric_labels'))}: the {len(rows)} most overdue"
        parts.append(html_table(title, head, rows, lambda i: i in (1, 2, 3), stack=True))
    content = "".join(parts) or '<p class="none">No breached clocks.</p>'
    return (
        '<section id="breaches"><h2>Most overdue breaches</h2>'
        + content
        + howto(
            "<p>Per metric, the breached clocks that ran longest past their target, worst "
            "first (the whole list: <code>--breaches FILE</code>). Overdue by is business time "
            "past the target (took \u2212 target); a d is 24 hours of business time. A "
            "#2 after a ticket id is its second clock of that metric (periodic updates and "
            "next responses can have several per ticket). Still open: the clock was running at the "
            "audit instant, so it will end later still.</p>"
        )
        + "</section>"
    )


def offenders_section(doc: Doc) -> str:
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
                esc(row[dimension]),
                fmt_count(row["breached"]),
                fmt_count(row["breached_open"]),
                fmt_count(row["achieved"]),
                fmt_pct(row["compliance"]),
            )
            for row in rows
        ]
        tables.append(f"<div>{html_table(title, head, cells, lambda i: i > 0, stack=True)}</div>")
    return (
        '<section id="offenders"><h2>Worst offenders</h2>'
        f'<div class="offenders">{"".join(tables)}</div>'
        + howto(
            "<p>The policies, groups and agents with the most breached clocks (up to ten "
            "each). A clock counts for the agent who fulfilled it, else the ticket's "
            "assignee; \u201c(none)\u201d collects clocks nobody owned, often the ones never "
            "answered. Many breaches with a high compliance usually means a lot of volume; "
            "low compliance is the sharper signal.</p>"
        )
        + "</section>"
    )


def agreements_section(doc: Doc) -> str:
    """Compliance per agreement (``--by agreement``): one row per agreement and metric."""
    by = list(doc["by"])
    if "agreement" not in by:
        return ""
    head: tuple[str, ...] = ("Agreement", "Metric", "Tickets", "Achieved", "Breached", "Compliance")
    pairs = [(row, m, stats) for row in doc["groups"] for m, stats in row["metrics"].items()]
    misses = any(counts_misses(stats) for _row, _metric, stats in pairs)
    if misses:
        head += ("Misses",)
    cells = [
        (
            esc(str(row["key"].get("agreement", ""))),
            esc(metric_label(metric, doc.get("metric_labels"))),
            fmt_count(row["tickets"]),
            fmt_count(stats["achieved"]),
            fmt_count(stats["breached"]),
            fmt_pct(stats["compliance"]),
            *((fmt_count(stats["misses"]),) if misses else ()),
        )
        for row, metric, stats in pairs
    ]
    return (
        '<section id="agreements"><h2>By agreement</h2>'
        + html_table("Compliance per agreement and metric", head, cells, lambda i: i > 1)
        + howto(
            "<p>The customer SLA (the policy that applied) and each internal agreement "
            "(OLA, underpinning contract) with its own clocks. A ticket counts under every "
            "agreement attached to it.</p>"
        )
        + "</section>"
    )
