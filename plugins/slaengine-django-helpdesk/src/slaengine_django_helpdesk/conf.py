# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""The app's settings: ``SLAENGINE = {...}`` in the Django settings, read and checked.

Every key is optional but ``POLICIES``. A wrong value raises
``ImproperlyConfigured`` naming the key, so a typo shows at the first use
instead of as silently wrong clocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

# django-helpdesk's numeric statuses (helpdesk.settings: 1 open, 2 reopened,
# 3 resolved, 4 closed, 5 duplicate) as slaengine's canonical statuses.
DEFAULT_STATUSES: Mapping[int, str] = {1: "open", 2: "open", 3: "solved", 4: "closed", 5: "closed"}
# django-helpdesk's priorities run from 1 (critical) to 5 (very low).
DEFAULT_PRIORITIES: Mapping[int, str] = {1: "urgent", 2: "high", 3: "normal", 4: "low", 5: "low"}
KNOWN_KEYS = frozenset(
    {
        "POLICIES",
        "STATE",
        "CHANNEL",
        "CHANNELS",
        "EMAIL_CHANNEL",
        "STATUSES",
        "ON_HOLD_STATUS",
        "PRIORITIES",
        "OPENED_BY",
        "OPENING_GRACE",
        "EMAIL",
        "EMAIL_FROM",
        "PLUGINS",
        "CONFIG",
    }
)
AUTHORS = ("customer", "agent", "bot", "system")


@dataclass(frozen=True, slots=True)
class Settings:
    """The checked ``SLAENGINE`` settings."""

    policies: tuple[str, ...]
    state: str = "slaengine-state.db"
    channel: str = "web"
    channels: Mapping[str, str] = field(default_factory=dict)
    email_channel: str = "email"
    statuses: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_STATUSES))
    on_hold_status: str = "on_hold"
    priorities: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    opened_by: str = "customer"
    opening_grace: int = 60
    email: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    email_from: str | None = None
    plugins: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)


def _fail(key: str, message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"SLAENGINE[{key!r}]: {message}")


def _int_map(raw: Any, key: str, default: Mapping[int, str]) -> dict[int, str]:
    if raw is None:
        return dict(default)
    if not isinstance(raw, Mapping):
        raise _fail(key, f"expected a mapping of numbers to names, got {raw!r}")
    merged = dict(default)
    for number, name in raw.items():
        try:
            merged[int(number)] = str(name)
        except (TypeError, ValueError):
            raise _fail(key, f"{number!r} is not a number") from None
    return merged


def _email(raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise _fail("EMAIL", f"expected a mapping of notify target names to addresses, got {raw!r}")
    targets = {}
    for name, addresses in raw.items():
        found = (addresses,) if isinstance(addresses, str) else tuple(addresses or ())
        if not found or not all(isinstance(a, str) and a for a in found):
            raise _fail("EMAIL", f"target {name!r}: list addresses, or 'assignee'")
        targets[str(name)] = tuple(found)
    return targets


def load(raw: Any = None) -> Settings:
    """``settings.SLAENGINE`` (or ``raw``) checked; raises ``ImproperlyConfigured``."""
    if raw is None:
        raw = getattr(django_settings, "SLAENGINE", None)
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("settings.SLAENGINE must be a dict naming at least POLICIES")
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise ImproperlyConfigured(
            f"settings.SLAENGINE has unknown keys {sorted(unknown)}; expected {sorted(KNOWN_KEYS)}"
        )
    policies = raw.get("POLICIES")
    if isinstance(policies, str):
        policies = [policies]
    if not policies:
        raise _fail("POLICIES", "name the policy files or directories")
    opened_by = str(raw.get("OPENED_BY", "customer"))
    if opened_by not in AUTHORS:
        raise _fail("OPENED_BY", f"expected one of {', '.join(AUTHORS)}, got {opened_by!r}")
    channels = raw.get("CHANNELS", {})
    if not isinstance(channels, Mapping):
        raise _fail("CHANNELS", f"expected a mapping of queue slugs to channels, got {channels!r}")
    try:
        grace = int(raw.get("OPENING_GRACE", 60))
    except (TypeError, ValueError):
        raise _fail("OPENING_GRACE", "expected a number of seconds") from None
    return Settings(
        policies=tuple(str(p) for p in policies),
        state=str(raw.get("STATE", "slaengine-state.db")),
        channel=str(raw.get("CHANNEL", "web")),
        channels={str(k): str(v) for k, v in channels.items()},
        email_channel=str(raw.get("EMAIL_CHANNEL", "email")),
        statuses=_int_map(raw.get("STATUSES"), "STATUSES", DEFAULT_STATUSES),
        on_hold_status=str(raw.get("ON_HOLD_STATUS", "on_hold")),
        priorities=_int_map(raw.get("PRIORITIES"), "PRIORITIES", DEFAULT_PRIORITIES),
        opened_by=opened_by,
        opening_grace=grace,
        email=_email(raw.get("EMAIL", {})),
        email_from=raw.get("EMAIL_FROM"),
        plugins=bool(raw.get("PLUGINS", False)),
        config=dict(raw.get("CONFIG", {})),
    )


def state_url(state: str, databases: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The live store's location: a path or URL as given, or ``database:ALIAS``.

    ``database:default`` puts the live state into the site's own database (its
    SQLite file or PostgreSQL database), in tables next to the helpdesk's.
    ``databases`` defaults to the site's connections' settings.
    """
    if not state.startswith("database:"):
        return state
    alias = state.removeprefix("database:") or "default"
    if databases is None:
        from django.db import connections

        # The connection's settings: under tests they name the test database.
        databases = {a: connections[a].settings_dict for a in django_settings.DATABASES}
    if alias not in databases:
        raise _fail("STATE", f"no database {alias!r} in DATABASES")
    db = databases[alias]
    engine = str(db.get("ENGINE", ""))
    name = str(db.get("NAME", ""))
    if engine.endswith("sqlite3"):
        if name in ("", ":memory:") or name.startswith("file:memorydb"):
            raise _fail("STATE", f"database {alias!r} is in memory; name a state file instead")
        return name
    if engine.endswith("postgresql"):
        user = db.get("USER") or ""
        password = db.get("PASSWORD") or ""
        host = db.get("HOST") or "localhost"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        auth = (
            f"{quote(user, safe='')}:{quote(password, safe='')}@"
            if password
            else (f"{quote(user, safe='')}@" if user else "")
        )
        return f"postgresql://{auth}{host}{port}/{name}"
    raise _fail(
        "STATE", f"database {alias!r} uses {engine}; slaengine stores in SQLite or PostgreSQL"
    )


__all__ = ["Settings", "load", "state_url"]
