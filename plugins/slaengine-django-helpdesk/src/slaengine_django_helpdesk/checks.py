# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""Django system checks: ``manage.py check`` (and every ``runserver``) reports bad SLA settings."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from slaengine import PolicyError


def register() -> None:
    """Add :func:`check_settings` to Django's system checks (once, however often called)."""
    checks.register(check_settings)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``SLAENGINE`` readable, and its policies loading with the site's notify targets."""
    from slaengine_django_helpdesk import conf
    from slaengine_django_helpdesk.engine import runtime

    try:
        settings = conf.load()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="slaengine.E001")]
    try:
        runtime(settings)
    except PolicyError as exc:
        return [
            checks.Error(str(problem), hint="python manage.py slaengine_check", id="slaengine.E002")
            for problem in exc.problems
        ]
    except Exception as exc:  # an unreadable path, say: reported, never a crash of check
        return [checks.Error(f"the SLA policies do not load: {exc}", id="slaengine.E002")]
    return []
