"""slaengine hooks of the webhook plugin: targets from the configuration become notify targets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slaengine.hookspecs import RegisterNotifier, hookimpl
from slaengine.logs import get_logger
from slaengine_webhook.config import PLUGIN, Target, load_targets

_log = get_logger("slaengine_webhook")

# The targets of the last ``slaengine_configure``. The entry point loads this
# module, so its state is shared by every plugin manager of the process; each
# configure replaces it whole.
_targets: dict[str, Target] = {}


@hookimpl
def slaengine_configure(config: Mapping[str, Any]) -> None:
    """Read ``[plugins.webhook.targets.*]``; a target with a mistake is logged and skipped.

    A target whose ``secret_env`` variable is not set is logged and kept, so
    that policies naming it still check; its deliveries fail (and are retried
    by the outbox) until the variable is set.
    """
    loaded = load_targets(config)
    for target, problem in loaded.problems:
        if target is None:
            _log.error("webhook configuration problem", plugin=PLUGIN, problem=problem)
        elif target in loaded.targets:  # kept, but every delivery fails until fixed
            _log.error("webhook target cannot sign", plugin=PLUGIN, target=target, problem=problem)
        else:
            _log.error("webhook target skipped", plugin=PLUGIN, target=target, problem=problem)
    _targets.clear()
    _targets.update(loaded.targets)


@hookimpl
def slaengine_register_notifiers(register: RegisterNotifier) -> None:
    """One notify target per configured webhook target, delivering through its client."""
    if not _targets:
        return
    # Imported when a target is set: http.client and ssl are start-up time that every
    # command loading the plugin would otherwise pay.
    from slaengine_webhook.client import WebhookClient

    for target in _targets.values():
        description = target.description or f"webhook {target.safe_url} ({target.format})"
        register(target.name, description, WebhookClient(target).deliver)
