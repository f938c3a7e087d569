"""A what-if backtest rendered for people (rich tables) and machines (JSON, CSV)."""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from slaengine.metric_names import Labels
from slaengine.report.labels import metric_label
from slaengine.report.table import cell, short_cell
from slaengine.whatif import MISSED, Backtest, Tally
from slaengine.words import plural

SHOWN_FLIPS = 20
# The most columns a ticket id takes in the flips table: at 80 columns that leaves the
# label and the policy about ten characters each. A longer id is shortened in the middle.
_TICKET_COLUMNS = 24


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _change(tally: Tally) -> Text:
    old, new = tally.old_compliance, tally.new_compliance
    if old is None or new is None:
        return Text("-")
    points = (new - old) * 100
    style = "green" if points > 0.05 else "red" if points < -0.05 else ""
    return Text(f"{points:+.1f} pts", style=style)


def _tally_dict(tally: Tally) -> dict[str, Any]:
    return {
        "old": {
            "achieved": tally.old_met,
            "breached": tally.old_breached,
            "compliance": tally.old_compliance,
        },
        "new": {
            "achieved": tally.new_met,
            "breached": tally.new_breached,
            "compliance": tally.new_compliance,
        },
    }


def backtest_to_dict(result: Backtest) -> dict[str, Any]:
    """The whole comparison as JSON-ready data."""
    old_weekly, new_weekly = result.breaches_per_week()
    return {
        "tickets": result.tickets,
        "weeks": len(result.weeks),
        "unmatched": {"old": result.unmatched_old, "new": result.unmatched_new},
        "policy_changed": result.policy_changed,
        "total": _tally_dict(result.total()),
        "by_metric": {k: _tally_dict(v) for k, v in result.by(0).items()},
        "by_channel": {k: _tally_dict(v) for k, v in result.by(1).items()},
        "by_priority": {k: _tally_dict(v) for k, v in result.by(2).items()},
        "groups": [
            {"metric": m, "channel": c, "priority": p, **_tally_dict(t)}
            for (m, c, p), t in sorted(result.groups.items())
        ],
        "breaches_per_week": {"old": old_weekly, "new": new_weekly},
        "flips": [
            {
                "ticket": f.ticket,
                "metric": f.metric,
                "instance": f.instance,
                "old": f.old,
                "new": f.new,
                "old_policy": f.old_policy,
                "new_policy": f.new_policy,
            }
            for f in result.flips
        ],
    }


def flips_csv(result: Backtest) -> str:
    """Every flipped clock instance as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ticket", "metric", "instance", "old", "new", "old_policy", "new_policy"])
    for f in result.flips:
        writer.writerow(
            [f.ticket, f.metric, f.instance, f.old, f.new, f.old_policy or "", f.new_policy or ""]
        )
    return out.getvalue()


def _one_line(text: str) -> Text:
    """A cell kept on one line: cut with an ellipsis where its column is too narrow."""
    shown = cell(text)
    shown.no_wrap = True
    shown.overflow = "ellipsis"
    return shown


def _compliance_table(
    title: str, label: str, rows: dict[str, Tally], names: dict[str, str] | None = None
) -> Table:
    """One row per group; ``names`` shows a row's key as people read it (metric labels).

    Every row is one line: figures never wrap, breaches read "before -> after" in
    one column, as in the summary line, and a label too long for the terminal (a
    custom metric's may have 60 characters, an agreement's name before them) is
    cut with an ellipsis; JSON and CSV keep the names whole."""
    table = Table(title=title, header_style="bold", title_justify="left")
    table.add_column(label, min_width=8)
    for column in ("Before", "After", "Change", "Breaches"):
        table.add_column(column, justify="right", no_wrap=True)
    for name, tally in rows.items():
        table.add_row(
            _one_line(names.get(name, name) if names else name),
            _percent(tally.old_compliance),
            _percent(tally.new_compliance),
            _change(tally),
            f"{tally.old_breached:,} -> {tally.new_breached:,}",
        )
    return table


def _from_to(old: str, new: str) -> str:
    """``old -> new``, or the one value when both are the same."""
    return old if old == new else f"{old} -> {new}"


def backtest_renderable(
    result: Backtest, old_name: str, new_name: str, labels: Labels | None = None
) -> Group:
    """Summary, compliance tables and flipped tickets for the terminal.

    Metrics are shown by their labels (``labels``: those the definitions give; built-in
    and other metrics by :func:`slaengine.report.labels.metric_label`), as in the audit
    report; JSON and CSV keep the names."""
    total = result.total()
    old_weekly, new_weekly = result.breaches_per_week()
    lines = [
        Text(f"What if {new_name} had applied instead of {old_name}", style="bold"),
        Text(
            f"{plural(result.tickets, 'ticket')} over {plural(len(result.weeks), 'week')}; "
            f"policy changed for "
            f"{result.policy_changed:,}; unmatched {result.unmatched_old:,} -> "
            f"{result.unmatched_new:,}"
        ),
        Text(
            f"Compliance {_percent(total.old_compliance)} -> {_percent(total.new_compliance)} "
            f"({_change(total)}); breaches per week {old_weekly:.1f} -> {new_weekly:.1f} "
            f"({new_weekly - old_weekly:+.1f})"
        ),
    ]
    newly = sum(1 for f in result.flips if f.new == MISSED)
    fixed = len(result.flips) - newly
    parts: list[Any] = [*lines, Text("")]
    by_metric = result.by(0)
    shown = {name: metric_label(name, labels) for name in by_metric}
    parts.append(_compliance_table("By metric", "Metric", by_metric, shown))
    parts.append(_compliance_table("By channel", "Channel", result.by(1)))
    parts.append(_compliance_table("By priority", "Priority", result.by(2)))
    parts.append(
        Text(f"Outcomes that flip: {newly:,} newly breached, {fixed:,} no longer breached")
    )
    if result.flips:
        # One column for the outcomes and one for the policy (named once when it did
        # not change): the table stays within 80 columns, a row on one line. A long
        # label or policy name is cut with an ellipsis, the instance number in its own
        # column is not; the CSV of --flips has them whole.
        shown_flips = result.flips[:SHOWN_FLIPS]
        flips = Table(header_style="bold")
        # Ids whole up to 24 columns, the label and the policy giving way; a longer id
        # keeps its start and end around "…" (the JSON and the CSV have it whole).
        flips.add_column("Ticket", no_wrap=True)
        flips.add_column("Metric")
        flips.add_column("#", justify="right", no_wrap=True)
        flips.add_column("Outcome", no_wrap=True)
        flips.add_column("Policy")
        for f in shown_flips:
            flips.add_row(
                short_cell(f.ticket, _TICKET_COLUMNS),
                _one_line(metric_label(f.metric, labels)),
                str(f.instance),
                f"{f.old} -> {f.new}",
                _one_line(_from_to(f.old_policy or "unmatched", f.new_policy or "unmatched")),
            )
        parts.append(flips)
        if len(result.flips) > SHOWN_FLIPS:
            parts.append(
                Text(
                    f"... and {len(result.flips) - SHOWN_FLIPS:,} more; "
                    "--flips FILE writes them all as CSV"
                )
            )
    return Group(*parts)


__all__ = ["backtest_renderable", "backtest_to_dict", "flips_csv"]
