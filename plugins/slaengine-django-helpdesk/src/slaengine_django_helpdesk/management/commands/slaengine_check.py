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
from slaengine_django_helpdesk.words import counted


class Command(BaseCommand):
    """Load ``SLAENGINE["POLICIES"]`` as the app does and report every problem."""

    help = "Check the site's SLA policies, with the notify targets and performers it registers."
    # The system checks report the same policy problems and point here: running them first
    # would stop this command with their summary before it prints its own.
    requires_system_checks: tuple[str, ...] = ()

    def handle(self, *args: Any, **options: Any) -> None:
        settings = conf.load()
        try:
            loaded = runtime(settings)
        except PolicyError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            found = counted(len(exc.problems), "problem")
            raise CommandError(f"{found} in the policies") from None
        names = ", ".join(sorted(loaded.routing.deliverers)) or "none"
        self.stdout.write(
            f"{counted(len(loaded.policies.policies), 'policy', 'policies')} OK; "
            f"notify targets and performers: {names}"
        )
