"""What the audit report tests share: a round-the-clock policy, events on one day, the command.

Each test module keeps its own fixture (which events, which exit status it expects);
this module writes the files and runs ``slaengine audit`` at :data:`AT`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from slaengine.cli import main

# First response within 1 hour, resolution within 8, counted around the clock.
ROUND_THE_CLOCK = """\
version: 1
policies:
  - name: round-the-clock
    calendar: 24x7
    metrics:
      first_response: {targets: 1h}
      resolution: {targets: 8h}
"""
# A customer SLA with a goal, and a tier-2 OLA with its own goal and target.
AGREEMENT_POLICIES = """\
version: 1
policies:
  - name: std
    metrics:
      first_response: {targets: 1h, goal: 90%}
agreements:
  - name: tier2-ola
    kind: ola
    goal: 80%
    match: {group: tier2}
    metrics:
      first_response: {targets: 30m}
"""
# The audit instant: the afternoon of the day the events happen.
AT = "2025-12-01T16:00:00Z"


def ev(ticket: str, at: str, kind: str, **extra: object) -> dict[str, object]:
    """An event of ``ticket`` at ``at`` (``HH:MM``, UTC) on 2025-12-01."""
    return {"ticket": ticket, "at": f"2025-12-01T{at}:00Z", "type": kind, **extra}


def write_policies(folder: Path, text: str = ROUND_THE_CLOCK) -> Path:
    """A ``policies`` directory in ``folder`` holding ``text`` as its one file."""
    policies = folder / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(text, encoding="utf-8")
    return policies


def write_events(path: Path, events: Iterable[Mapping[str, object]]) -> Path:
    """``events`` written to ``path`` as JSON Lines."""
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def run_audit(
    capsys: pytest.CaptureFixture[str], policies: Path, events: Path, *extra: str
) -> tuple[int, str, str]:
    """``slaengine audit`` at :data:`AT`: (status, stdout, stderr), checked for a traceback."""
    status = main(["audit", "-p", str(policies), "-e", str(events), "--at", AT, *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err
