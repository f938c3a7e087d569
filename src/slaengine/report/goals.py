"""Attainment against goals, from an audit document's ``goals``: terminal tables and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Final

from rich.table import Table
from rich.text import Text

from slaengine.metric_names import Labels
from slaengine.report.labels import metric_label
from slaengine.report.table import cell
from slaengine.report.terminal import Column, fitted_table

#: Columns of ``audit --goals FILE``: one row per policy, metric and scope.
GOAL_COLUMNS: Final = (
    "policy", "metric", "goal", "scope", "key", "achieved", "breached", "attainment", "met",
)  # fmt: skip
#: Missed periods named in the terminal before "and N more".
_SHOWN: Final = 8


def percent(value: float | None) -> str:
    """``95%``, ``99.5%``; ``-`` for none (goals have at most two decimals)."""
    return "-" if value is None else f"{round(value * 100, 2):g}%"


def met_text(met: bool | None) -> str:
    """``yes``, ``MISSED``, or ``-`` when no clock was decided."""
    return "-" if met is None else "yes" if met else "MISSED"


def _met_cell(met: bool | None) -> Text:
    return Text(met_text(met), style="bold red" if met is False else "")


def _attained(row: dict[str, Any]) -> str:
    decided = row["achieved"] + row["breached"]
    if row["attainment"] is None:
        return "-"
    return f"{row['attainment'] * 100:.1f}% ({row['achieved']:,} of {decided:,})"


def missed_text(row: dict[str, Any]) -> str:
    """``2 of 5: 2025-W49, 2025-W51``: the periods under the goal, of those with clocks."""
    missed = row["missed_periods"]
    decided = sum(1 for r in row["by_period"] if r["met"] is not None)
    if not missed:
        return f"none of {decided}"
    names = ", ".join(missed[:_SHOWN])
    more = f" and {len(missed) - _SHOWN} more" if len(missed) > _SHOWN else ""
    return f"{len(missed)} of {decided}: {names}{more}"


def _scope_table(
    title: str,
    label: str,
    key: str,
    rows: Sequence[dict[str, Any]],
    width: int | None,
    labels: Labels | None,
) -> Table:
    lines = [(row, scope) for row in rows for scope in row[f"by_{key}"]]
    columns = [
        Column("Policy", [cell(row["policy"]) for row, _ in lines]),
        Column("Metric", [cell(metric_label(row["metric"], labels)) for row, _ in lines]),
        Column(label, [cell(scope[key]) for _, scope in lines]),
        Column("Goal", [percent(row["goal"]) for row, _ in lines], right=True, drop=1),
        Column("Attainment", [_attained(scope) for _, scope in lines], right=True),
        Column("Met", [_met_cell(scope["met"]) for _, scope in lines]),
    ]
    return fitted_table(title, columns, width)


def goal_tables(
    rows: Sequence[dict[str, Any]],
    period: str,
    width: int | None,
    labels: Labels | None = None,
) -> list[Table]:
    """The goals table (overall, and which ``period``s missed), then per period and per group;
    ``labels`` name the metrics (the audit document's ``metric_labels``)."""
    label = period.capitalize()
    columns = [
        Column("Policy", [cell(row["policy"]) for row in rows]),
        Column("Metric", [cell(metric_label(row["metric"], labels)) for row in rows]),
        Column("Goal", [percent(row["goal"]) for row in rows], right=True),
        Column("Attainment", [_attained(row) for row in rows], right=True),
        Column("Met", [_met_cell(row["met"]) for row in rows]),
        # The first to go on a narrow terminal: the table by period that follows names them.
        Column(f"{label}s missed", [missed_text(row) for row in rows], drop=1),
    ]
    return [
        fitted_table("Attainment goals", columns, width),
        _scope_table(f"Attainment goals by {period}", label, "period", rows, width, labels),
        _scope_table("Attainment goals by group", "Group", "group", rows, width, labels),
    ]


def goal_csv(rows: Sequence[dict[str, Any]]) -> str:
    """CSV text with a header: per policy and metric, an ``overall`` row, then one per
    ``period`` and per ``group`` (``key`` the period or group). ``goal`` and ``attainment``
    are fractions; ``met`` is ``true``, ``false`` or empty when no clock was decided."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GOAL_COLUMNS)
    for row in rows:
        scopes = [("overall", "", row)]
        scopes += [("period", r["period"], r) for r in row["by_period"]]
        scopes += [("group", r["group"], r) for r in row["by_group"]]
        for scope, key, values in scopes:
            met = values["met"]
            writer.writerow(
                [
                    row["policy"],
                    row["metric"],
                    row["goal"],
                    scope,
                    key,
                    values["achieved"],
                    values["breached"],
                    "" if values["attainment"] is None else values["attainment"],
                    "" if met is None else str(met).lower(),
                ]
            )
    return buffer.getvalue()


__all__ = ["GOAL_COLUMNS", "goal_csv", "goal_tables", "met_text", "missed_text", "percent"]
