# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""slaengine hooks of the app: the write-back performer and the e-mail notify targets.

The app registers this module itself when it builds its plugin manager
(:func:`.engine.runtime`); it is no entry point, because it needs Django set up.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, wraps

from django.db import connections

from slaengine.hookspecs import RegisterNotifier, RegisterPerformer, hookimpl
from slaengine.notifications import Notification
from slaengine_django_helpdesk import actions, conf, mail


def on_own_connection(deliver: Callable[[Notification], None]) -> Callable[[Notification], None]:
    """``deliver``, closing the database connections it opened when it is done.

    The live engine's dispatcher runs each delivery on a thread of its own, and
    Django opens one connection per thread: left open, they would pile up.
    """

    @wraps(deliver)
    def delivered(notification: Notification) -> None:
        try:
            deliver(notification)
        finally:
            for connection in connections.all(initialized_only=True):
                if not connection.in_atomic_block:  # never a caller's open transaction
                    connection.close()

    return delivered


@hookimpl
def slaengine_register_actions(register: RegisterPerformer) -> None:
    """Perform policies' actions (priority, assignment, internal note) on helpdesk tickets."""
    register(
        actions.PERFORMER,
        on_own_connection(actions.perform),
        "django-helpdesk: set priority, assign queue or agent, internal follow-up",
    )


@hookimpl
def slaengine_register_notifiers(register: RegisterNotifier) -> None:
    """One notify target per ``SLAENGINE["EMAIL"]`` entry, mailed through Django."""
    for target, addresses in conf.load().email.items():
        deliver = on_own_connection(partial(mail.deliver, target))
        register(target, "e-mail to " + ", ".join(addresses), deliver)
