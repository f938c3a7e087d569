"""Scorecards: one row of the figures a support lead compares per agent and per group.

:func:`scorecards` builds the ``scorecards`` section of the audit document
(``docs/kpis.md``) from its ``by_agent`` and ``by_group`` rows;
:func:`scorecard_table` draws one list of them for the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from rich.table import Table
from rich.text import Text

from slaengine.audit.accumulator import NONE
from slaengine.metric_names import Labels, ordered_metrics
from slaengine.policy.model import FIRST_RESPONSE, RESOLUTION
from slaengine.report.labels import metric_label, readable_duration
from slaengine.report.table import cell
from slaengine.report.terminal import Column, fitted_table

#: Short column headers of the built-in metrics' achievement in the terminal table.
SHORT_METRICS: Final = {
    "first_response": "FR",
    "next_response": "NR",
    "periodic_update": "PU",
    "resolution": "Res",
}
#: The dimensions a scorecard is kept for.
SCORECARD_DIMENSIONS: Final = ("agent", "group")
#: What the ``(none)`` row of each scorecard holds.
NONE_NOTES: Final = {
    "agent": "clocks with no agent \u2014 unanswered or unassigned",
    "group": "tickets in no group",
}


def counts_misses(counts: dict[str, Any]) -> bool:
    """True when ``counts`` (of a metric or a group) has more misses than breached clocks
    (``misses: per_customer_message``): only then do the reports show its misses."""
    return int(counts.get("misses", 0)) > int(counts["breached"])


def _times(row: dict[str, Any], metric: str) -> dict[str, Any]:
    stats = row["metrics"].get(metric)
    if stats is None:
        return {"count": 0, "p50": None, "p90": None}
    business = stats["business_seconds"]
    return {"count": business["count"], "p50": business["p50"], "p90": business["p90"]}


def scorecard(row: dict[str, Any], dimension: str) -> dict[str, Any]:
    """One scorecard row from a ``by_<dimension>`` KPI row of the audit document."""
    name = row["key"][dimension]
    card: dict[str, Any] = {
        dimension: name,
        "tickets": row["tickets"],
        "solved": row["solved"],
        "first_response_seconds": _times(row, FIRST_RESPONSE),
        "resolution_seconds": _times(row, RESOLUTION),
        "achievement": {
            metric: {
                "achieved": stats["achieved"],
                "breached": stats["breached"],
                "compliance": stats["compliance"],
                "misses": stats["misses"],
            }
            for metric, stats in row["metrics"].items()
        },
        "fcr": row["fcr"],
        "fcr_rate": row["fcr_rate"],
        "csat": {"rated": row["csat"]["rated"], "mean": row["csat"]["mean"]},
        "reopened": row["reopened"],
        "reopen_rate": row["reopen_rate"],
        "not_measurable": dict(row["not_measurable"]),
    }
    if name == NONE:
        card["note"] = NONE_NOTES[dimension]
    return card


def scorecards(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per agent and per group, most tickets first (ties by name), ``(none)`` last."""
    out = {}
    for dimension in SCORECARD_DIMENSIONS:
        cards = [scorecard(row, dimension) for row in doc[f"by_{dimension}"]]
        cards.sort(key=lambda c: (c[dimension] == NONE, -c["tickets"], c[dimension]))
        out[dimension] = cards
    return out


def metric_columns(cards: Iterable[dict[str, Any]]) -> list[str]:
    """The metrics with clocks in any card: built-in ones in report order, then by name."""
    return ordered_metrics(metric for card in cards for metric in card["achievement"])


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _csat(mean: float | None) -> str:
    return "-" if mean is None else f"{mean:.2f}"


def _achieved(card: dict[str, Any], metric: str) -> str:
    stats = card["achievement"].get(metric)
    return "-" if stats is None else _pct(stats["compliance"])


def _measured(card: dict[str, Any], key: str, text: str) -> str:
    return "n/a" if key in card["not_measurable"] else text


def scorecard_table(
    cards: Sequence[dict[str, Any]],
    dimension: str,
    width: int | None,
    labels: Labels | None = None,
) -> Table:
    """The terminal table of one scorecard list; narrow terminals lose the least needed columns.

    Durations are business time (medians); achievement is per metric, headed by a
    built-in's short name or another metric's label (``labels``: the audit document's
    ``metric_labels``).
    """
    metrics = metric_columns(cards)
    # Kept longest: the name, tickets, first response and resolution figures.
    drops = {m: 0 if m in (FIRST_RESPONSE, RESOLUTION) else 4 for m in metrics}
    columns = [
        Column(dimension.capitalize(), [cell(str(c[dimension])) for c in cards]),
        Column("Tickets", [f"{c['tickets']:,}" for c in cards], right=True),
        Column("Solved", [f"{c['solved']:,}" for c in cards], right=True, drop=3),
        Column(
            "FRT median",
            [readable_duration(c["first_response_seconds"]["p50"]) for c in cards],
            right=True,
        ),
        Column(
            "Res median",
            [readable_duration(c["resolution_seconds"]["p50"]) for c in cards],
            right=True,
            drop=5,
        ),
        *(
            Column(
                f"{SHORT_METRICS.get(m) or metric_label(m, labels)} met",
                [_achieved(c, m) for c in cards], right=True,
                drop=drops[m],
            )
            for m in metrics
        ),
        Column("FCR", [_measured(c, "fcr_rate", _pct(c["fcr_rate"])) for c in cards],
               right=True, drop=2),
        Column(
            "CSAT",
            [_measured(c, "csat", _csat(c["csat"]["mean"])) for c in cards],
            right=True,
            drop=1,
        ),
        Column("Reopens", [f"{c['reopened']:,}" for c in cards], right=True, drop=2),
    ]  # fmt: skip
    title = f"Scorecard by {dimension}"
    return fitted_table(title, columns, width)


def scorecard_legend(cards: Sequence[dict[str, Any]]) -> Text:
    """The line under the terminal table saying what its short headers mean."""
    names = ", ".join(
        f"{SHORT_METRICS[m]} {metric_label(m).lower()}"
        for m in metric_columns(cards)
        if m in SHORT_METRICS
    )
    return Text(
        f"met: achievement ({names}); medians in business time; FCR: first contact resolution",
        style="dim",
    )


def none_note(cards: Sequence[dict[str, Any]], dimension: str) -> Text | None:
    """The line explaining the ``(none)`` row, when the scorecard has one."""
    if any(card[dimension] == NONE for card in cards):
        return Text(f"{NONE}: {NONE_NOTES[dimension]}", style="dim")
    return None


__all__ = [
    "NONE_NOTES",
    "SCORECARD_DIMENSIONS",
    "counts_misses",
    "metric_columns",
    "none_note",
    "scorecard",
    "scorecard_legend",
    "scorecard_table",
    "scorecards",
]
