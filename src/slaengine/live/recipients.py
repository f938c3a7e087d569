"""Who receives a notification: the policy's notify targets and plugins' ``on_*`` hooks.

The only part of the live engine that knows plugins exist. Each recipient has
its own outbox row, so one that fails is retried without repeating the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slaengine.live.dispatch import Deliver
from slaengine.notifications import KINDS, Notification
from slaengine.plugins import Plugins, Subscriber

HOOK_PREFIX = "plugin:"
ACTION_PREFIX = "actions:"


@dataclass(frozen=True, slots=True)
class Routing:
    """Recipient names per notification, and how to deliver to each name."""

    recipients: Callable[[Notification], Sequence[str]]
    deliverers: dict[str, Deliver]


def plugin_routing(plugins: Plugins) -> Routing:
    """Routing from the plugins' notify targets and ``slaengine_on_*`` implementations.

    A notify target is a recipient under its own name; a plugin implementing
    ``slaengine_on_breach`` (say) is recipient ``plugin:NAME`` of every breach;
    a performer of write-back actions is recipient ``actions:NAME`` of every
    notification that carries actions.
    """
    deliverers: dict[str, Deliver] = {
        name: notifier.deliver
        for name, notifier in plugins.notifiers().items()
        if notifier.deliver is not None
    }
    by_kind: dict[str, list[str]] = {}
    hooks: dict[tuple[str, str], Subscriber] = {}
    for kind in KINDS:
        for subscriber in plugins.subscribers(kind):
            name = HOOK_PREFIX + subscriber.plugin
            by_kind.setdefault(kind, []).append(name)
            hooks[(name, kind)] = subscriber
    for name in {name for name, _ in hooks}:
        deliverers[name] = _hook_deliverer(name, hooks)
    performers = []
    for name, performer in plugins.performers().items():
        performers.append(ACTION_PREFIX + name)
        deliverers[ACTION_PREFIX + name] = performer.perform

    def recipients(notification: Notification) -> Sequence[str]:
        acting = performers if notification.actions else ()
        return (*notification.notify, *by_kind.get(notification.kind, ()), *acting)

    return Routing(recipients, deliverers)


def _hook_deliverer(name: str, hooks: dict[tuple[str, str], Subscriber]) -> Deliver:
    def deliver(notification: Notification) -> None:
        hooks[(name, notification.kind)].call(notification)

    return deliver


__all__ = ["ACTION_PREFIX", "HOOK_PREFIX", "Routing", "plugin_routing"]
