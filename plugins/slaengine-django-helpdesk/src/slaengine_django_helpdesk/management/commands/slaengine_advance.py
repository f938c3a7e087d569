# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""``manage.py slaengine_advance``: ingest recorded events, queue what fell due, deliver.

Run it from cron or celery beat (every minute, say). Safe to run repeatedly,
and to kill: every step commits on its own and a repeat does nothing twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from slaengine import SlaEngineError
from slaengine_django_helpdesk.engine import advance
from slaengine_django_helpdesk.words import counted


def parse_at(text: str | None) -> dt.datetime:
    """``--at`` as an aware instant (default: now)."""
    if text is None:
        now: dt.datetime = timezone.now()
        return now
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--at: {text!r} is not an ISO 8601 instant") from None
    if at.tzinfo is None:
        raise CommandError(f"--at: {text!r} has no UTC offset; add 'Z' or e.g. '+01:00'")
    return at


class Command(BaseCommand):
    """Advance the live SLA state to now and deliver due notifications."""

    help = "Advance slaengine's live state to now (or --at) and deliver due notifications."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", help="the instant to advance to (ISO 8601 with offset)")

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_at(options.get("at"))
        try:
            result = advance(at)
        except SlaEngineError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"ingested {counted(result.ingested, 'event')}, rejected {result.rejected}; "
            f"evaluated {counted(result.evaluated, 'ticket')}; "
            f"queued {counted(len(result.notifications), 'notification')}; "
            f"delivered {result.dispatched.delivered}, "
            f"failed {result.dispatched.failed}, dead {result.dispatched.dead}"
        )
        for problem in result.problems:
            self.stderr.write(problem)
