# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""``manage.py slaengine_check``: the site's policies checked with the site's notify targets.

``slaengine check`` outside the site does not know the notify targets the app
registers (its ``EMAIL`` targets); this command loads the policies exactly as
the app does and prints every problem as ``file:line:col: CODE message``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from slaengine import PolicyError
from slaengine_django_helpdesk import conf
from slaengine_django_helpdesk.engine import runtime


class Command(BaseCommand):
    """Load ``SLAENGINE["POLICIES"]`` as the app does and report every problem."""

    help = "Check the site's SLA policies, with the notify targets and performers it registers."

    def handle(self, *args: Any, **options: Any) -> None:
        settings = conf.load()
        try:
            loaded = runtime(settings)
        except PolicyError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(exc.problems)} problem(s) in the policies") from None
        names = ", ".join(sorted(loaded.routing.deliverers)) or "none"
        self.stdout.write(
            f"{len(loaded.policies.policies)} policies OK; notify targets and performers: {names}"
        )
