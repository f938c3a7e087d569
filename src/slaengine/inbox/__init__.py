"""Inbox webhooks: what a helpdesk or inbox vendor posts, as canonical events.

An :class:`Inbox` names a vendor (the ``{vendor}`` of ``POST /inbox/{vendor}``),
turns one parsed webhook payload into canonical event mappings
(docs/events.md) and, where the vendor signs its requests, verifies the
signature over the exact bytes received. Inboxes are contributed through the
``slaengine_register_inboxes`` hook; the bundled ones are registered like any
plugin's. Translating is pure: no I/O, no wall clock (``now`` is an argument).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class InboxError(ValueError):
    """A payload that cannot be read as the vendor's webhook (answered 400)."""


class SignatureError(InboxError):
    """A signature that is missing, stale or does not match (answered 401)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one webhook delivery means: canonical events, or why it carries none.

    ``ignored`` names an event type the vendor sends that slaengine does not
    use (acknowledged, not an error); ``events`` is then empty.
    """

    events: tuple[dict[str, Any], ...] = ()
    ignored: str | None = None


Translate = Callable[[Mapping[str, Any]], Delivery]
# (raw body, header names lower-cased, shared secret, now in epoch seconds);
# raises SignatureError.
Verify = Callable[[bytes, Mapping[str, str], str, int], None]
# (header names lower-cased) -> the JSON body to answer a vendor's set-up check
# with, or None for an ordinary delivery.
Handshake = Callable[[Mapping[str, str]], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Inbox:
    """One vendor's webhook: how to translate it and, if it signs, how to verify it.

    ``handshake``, for vendors that check a webhook URL when it is saved (echo a
    challenge), answers that check after the signature is verified.
    """

    name: str
    description: str
    translate: Translate
    verify: Verify | None = None
    handshake: Handshake | None = None

    @property
    def signed(self) -> bool:
        """Whether the vendor signs its requests (a secret is then expected)."""
        return self.verify is not None


__all__ = [
    "Delivery",
    "Handshake",
    "Inbox",
    "InboxError",
    "SignatureError",
    "Translate",
    "Verify",
]
