"""slaengine-django-helpdesk: slaengine's SLA clocks inside a django-helpdesk site.

Add ``"slaengine_django_helpdesk"`` to ``INSTALLED_APPS`` (before ``"helpdesk"``),
name the policies in ``SLAENGINE = {...}``, migrate, backfill, and run the
advance command from cron. :mod:`.recorder` turns the helpdesk's tickets and
follow-ups into canonical events, :mod:`.engine` keeps the live state and
dispatches, :mod:`.actions` writes breaches back into the helpdesk, and the
templates show each ticket's due time to agents.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def query_class() -> Any:
    """The ticket-list query with the SLA column, for ``HELPDESK_QUERY_CLASS``.

    django-helpdesk calls the setting to get the class; importing it lazily
    lets the settings module name this function before Django is set up.
    """
    from slaengine_django_helpdesk.query import SlaQuery

    return SlaQuery


__all__ = ["__version__", "query_class"]
