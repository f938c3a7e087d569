"""slaengine hooks of the app: each configured write-back action is a notify target.

The app registers this module itself when it builds its plugin manager
(:func:`.engine.runtime`); it is no entry point, because it needs Django set up.
"""

from __future__ import annotations

from functools import partial

from slaengine.hookspecs import RegisterNotifier, hookimpl
from slaengine_django_helpdesk import actions, conf


@hookimpl
def slaengine_register_notifiers(register: RegisterNotifier) -> None:
    """One notify target per ``SLAENGINE["ACTIONS"]`` entry, performed on the ticket."""
    for action in conf.load().actions.values():
        register(action.name, actions.describe(action), partial(actions.perform, action))
