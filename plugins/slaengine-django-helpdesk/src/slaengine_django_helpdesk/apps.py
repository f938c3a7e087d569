# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""The Django app: connects the receivers that record the helpdesk's changes as events."""

from __future__ import annotations

from django.apps import AppConfig


class SlaEngineHelpdeskConfig(AppConfig):
    """``slaengine_django_helpdesk``: records events, keeps each ticket's SLA summary."""

    name = "slaengine_django_helpdesk"
    label = "slaengine_helpdesk"
    verbose_name = "SLA (slaengine)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from slaengine_django_helpdesk import checks, recorder

        checks.register()
        recorder.connect()
