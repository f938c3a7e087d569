"""The helpdesk's follow-up text names a metric of any name for people."""

from __future__ import annotations

import pytest

pytest.importorskip("helpdesk")
pytest.importorskip("pytest_django")

from slaengine_django_helpdesk.actions import message

from slaengine.notifications import Notification


def _breach(metric: str, label: str = "") -> Notification:
    return Notification(
        "breach", "T-1", "desk", metric, 1, 0, 1_764_583_200, 1_764_579_600, "high",
        metric_label=label,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("metric", "label", "named"),
    [
        ("first_response", "", "first response"),
        ("time_to_own", "", "time to own"),
        ("time_to_own", "Ownership", "Ownership"),
    ],
    ids=["builtin", "user-defined", "labelled"],
)
def test_the_follow_up_names_the_metric(metric: str, label: str, named: str) -> None:
    assert message(_breach(metric, label)) == (
        f"SLA breached: {named} of policy 'desk', due 2025-12-01 09:00 UTC, 1h 0m late "
        "(priority high)."
    )
