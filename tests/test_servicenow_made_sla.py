"""The ServiceNow instance's own ``made_sla`` verdicts, reproduced from its incident log.

The real log (../shared/data/real/servicenow_incident_log, 20,768 complete incidents) carries
the instance's verdict per incident but not its targets. The targets below are fitted to the
verdicts (one per priority, the best threshold on the measured resolution time); what the
test pins is how many verdicts a resolution clock reproduces depending on where it stops,
which is the finding behind ``semantics: servicenow-closed`` (docs/migrating.md#servicenow).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from slaengine import build_timelines, evaluate, loads_policies, parse_event
from slaengine.event_parsing import parse_instant
from slaengine.importers import IMPORTERS, ImportOptions
from slaengine.timeline import TimelineSet

LOG = (
    Path(__file__).resolve().parents[2]
    / "shared/data/real/servicenow_incident_log/incident_event_log.csv"
)
NOW = parse_instant("2030-01-01T00:00:00Z")
# Open all day Monday to Friday, in the log's clock (read as UTC) and 10 hours behind it.
WEEKDAYS = """
calendars:
  weekdays:
    timezone: UTC
    hours: {mon-fri: ["00:00-24:00"]}
  weekdays-10h:
    timezone: Etc/GMT+10
    hours: {mon-fri: ["00:00-24:00"]}
"""


def _policy(semantics: str, targets: str, calendar: str = "24x7") -> str:
    return (
        f"version: 1\n{WEEKDAYS}\npolicies:\n  - name: servicenow\n    calendar: {calendar}\n"
        f"    {semantics}\n    metrics:\n      resolution: {{targets: {targets}}}\n"
    )


@pytest.fixture(scope="module")
def incidents() -> TimelineSet:
    if not LOG.exists():
        pytest.skip(f"real data not present: {LOG}")
    events = IMPORTERS["servicenow"].events(LOG, ImportOptions())
    return build_timelines(parse_event(e, seq=i) for i, e in enumerate(events))


def _agreement(incidents: TimelineSet, text: str) -> tuple[int, int]:
    """(verdicts reproduced, closed incidents): achieved = made_sla true, breached = false."""
    agree = total = 0
    for result in evaluate(loads_policies(text), incidents, NOW):
        if result.state.status != "closed":
            continue  # INC0029233 is cut off after its first row
        [clock] = [c for c in result.clocks if c.metric == "resolution"]
        total += 1
        agree += (clock.state != "breached") == result.state.fields["made_sla"]
    return agree, total


# Fitted 24x7 targets: every high incident but one missed, critical between 6.4 h and 20.4 h.
CLOSED_24X7 = "{urgent: 8h, high: 5m, normal: 212h 55m, low: 500h}"
# The best targets for a clock that stops at Resolved (slaengine's default).
SOLVED_24X7 = "{urgent: 1m, high: 5m, normal: 91h, low: 328h 33m}"


def test_made_sla_is_reproduced_when_resolution_runs_to_closed(incidents: TimelineSet) -> None:
    agree, total = _agreement(incidents, _policy("semantics: servicenow-closed", CLOSED_24X7))
    assert total == 20768
    # Measured: 20,364 of 20,768 (98.05 %).
    assert 0.9755 <= agree / total <= 0.9810
    # The same targets on a clock that stops at Resolved agree far less ...
    solved, _ = _agreement(incidents, _policy("", CLOSED_24X7))
    assert solved / total < 0.81  # measured 80.2 %
    # ... and so do targets fitted to that clock (measured 89.45 %).
    best_solved, _ = _agreement(incidents, _policy("", SOLVED_24X7))
    assert 0.89 <= best_solved / total < 0.90


@pytest.mark.parametrize(
    ("calendar", "targets", "low", "high"),
    [
        # Counted Monday to Friday, targets fitted again: 20,622 (99.30 %).
        ("weekdays", "{urgent: 8h, high: 5m, normal: 153h 39m, low: 346h}", 0.9880, 0.9935),
        # The same 10 hours behind the log's clock: 20,728 (99.81 %).
        ("weekdays-10h", "{urgent: 8h, high: 5m, normal: 163h, low: 355h}", 0.9931, 0.9985),
    ],
)
def test_made_sla_weekend_time_explains_most_mismatches(
    incidents: TimelineSet, calendar: str, targets: str, low: float, high: float
) -> None:
    text = _policy("semantics: servicenow-closed", targets, calendar)
    agree, total = _agreement(incidents, text)
    assert low <= agree / total <= high
