"""A breach's write-back happens once even when the advance command is killed mid-run."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("helpdesk")
pytest.importorskip("pytest_django")

from django.conf import settings
from django.db import connection
from helpdesk.models import FollowUp, Ticket
from slaengine_django_helpdesk.models import SlaAction

HERE = Path(__file__).resolve().parent
TICKETS = 8
# Log lines of the advance command at which a run may be killed: right after a write-back
# committed (its outbox row is not yet marked delivered), or right after a delivery.
MARKS = (b"write-back performed", b"notification delivered")


def _run(database: str, state: Path, at: dt.datetime) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path]),
        "PYTHONUNBUFFERED": "1",  # each log line as it happens, so the kill lands mid-run
        "SLAENGINE_HELPDESK_TEST_DIR": str(settings.STATE_DIR),
    }
    return subprocess.Popen(
        [sys.executable, str(HERE / "helpdesk_site" / "advance.py"), database, str(state),
         at.isoformat()],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _run_and_kill(process: subprocess.Popen[bytes], after: int) -> bool:
    """Kill ``process`` with SIGKILL at its ``after``-th mark; whether it was killed."""
    assert process.stdout is not None
    seen = 0
    killed = False
    for line in process.stdout:
        seen += any(mark in line for mark in MARKS)
        if seen >= after:
            process.send_signal(signal.SIGKILL)
            killed = True
            break
    process.stdout.close()
    process.wait(timeout=180)  # a whole run, on a loaded machine
    return killed


@pytest.mark.django_db(transaction=True)
def test_killed_advance_runs_write_back_exactly_once(desk: Any, users: Any, state: Path) -> None:
    tickets = [desk.open(priority=3, title=f"Ticket {n}") for n in range(TICKETS)]
    database = str(connection.settings_dict["NAME"])
    start = max(t.created for t in tickets) + dt.timedelta(hours=2, seconds=5)
    chooser = random.Random(14)
    killed = 0
    for run in range(5):
        # Each run two minutes later, as cron would: a killed run's claimed rows are free again.
        process = _run(database, state, start + dt.timedelta(minutes=2 * run))
        killed += _run_and_kill(process, chooser.randint(1, 4))
    final = _run(database, state, start + dt.timedelta(minutes=20))
    output, _ = final.communicate(timeout=300)
    assert final.returncode == 0, output.decode()[-3000:]
    assert killed >= 3, "too few runs were killed mid-run: the test proved little"
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        assert ticket.priority == 2  # set to high
        assert ticket.assigned_to == users["lead"]
        notes = FollowUp.objects.filter(ticket=ticket, comment__startswith="SLA escalation")
        assert notes.count() == 1
        assert SlaAction.objects.filter(ticket=ticket).count() == 1
