"""slaengine hooks of the e-mail plugin: configured targets become notify targets, and the
digest sender runs while the worker does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slaengine.hookspecs import RegisterNotifier, hookimpl
from slaengine.logs import get_logger
from slaengine_email.config import PLUGIN, load

if TYPE_CHECKING:
    from slaengine_email.notifier import EmailNotifier

_log = get_logger("slaengine_email")

# The notifier of the last ``slaengine_configure``. The entry point loads this
# module, so its state is shared by every plugin manager of the process; each
# configure replaces it whole.
_current: list[EmailNotifier] = []


@hookimpl
def slaengine_configure(config: Mapping[str, Any]) -> None:
    """Read ``[plugins.email]``; every problem is logged with the table it is in."""
    loaded = load(config)
    for target, problem in loaded.problems:
        _log.error("e-mail configuration problem", plugin=PLUGIN, target=target, problem=problem)
    for old in _current:
        old.close()
    _current.clear()
    if loaded.server is not None and loaded.targets:
        # Imported when a server is set: smtplib, ssl and sqlite3 are start-up time that
        # every command loading the plugin would otherwise pay.
        from slaengine_email.notifier import EmailNotifier

        _current.append(EmailNotifier(loaded.server, loaded.targets))


@hookimpl
def slaengine_register_notifiers(register: RegisterNotifier) -> None:
    """One notify target per configured e-mail target."""
    for notifier in _current:
        for name, target in notifier.targets.items():
            mode = f"digest every {target.digest} s" if target.digest else "one message each"
            description = target.description or f"e-mail to {', '.join(target.to)} ({mode})"
            register(name, description, notifier.deliverer(name))


@hookimpl
def slaengine_on_worker_start() -> None:
    """The worker starts: send due digests in the background while it runs."""
    for notifier in _current:
        notifier.start_digests()


@hookimpl
def slaengine_on_worker_stop() -> None:
    """The worker stopped: stop sending digests (the spool keeps what is not sent)."""
    for notifier in _current:
        notifier.stop_digests()
