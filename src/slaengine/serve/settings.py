"""The server's settings: the ``[serve]`` and ``[inbox.VENDOR]`` tables, the environment, flags.

Flags win over the environment, the environment over the settings file. The
API token and inbox secrets are kept out of every ``repr`` so they never reach
a log line or a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from slaengine.config import section
from slaengine.errors import UserError
from slaengine.live.atrisk import parse_window

ENV_TOKEN: Final = "SLAENGINE_API_TOKEN"
DEFAULT_LISTEN: Final = "127.0.0.1:8080"
DEFAULT_MAX_BODY: Final = 1024 * 1024
DEFAULT_DUE_SOON: Final = (15 * 60, 3600, 4 * 3600)
DEFAULT_AT_RISK_WINDOW: Final = 3600
_KEYS: Final = (
    "listen",
    "token",
    "token_env",
    "max_body",
    "worker",
    "due_soon",
    "at_risk_window",
)
_INBOX_KEYS: Final = ("secret", "secret_env", "verify")
_SIZE: Final = re.compile(r"^\s*(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_UNITS: Final = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


@dataclass(frozen=True, slots=True)
class InboxSecret:
    """How one vendor's webhook is verified: its shared secret, or ``verify`` off."""

    secret: str | None = field(default=None, repr=False)
    verify: bool = True
    source: str = "none"  # where the secret came from, for messages (never the secret)


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """Everything ``slaengine serve`` needs besides the live settings."""

    host: str
    port: int
    token: str = field(repr=False)
    max_body: int = DEFAULT_MAX_BODY
    worker: bool = True
    due_soon: tuple[int, ...] = DEFAULT_DUE_SOON
    at_risk_window: int = DEFAULT_AT_RISK_WINDOW
    inboxes: Mapping[str, InboxSecret] = field(default_factory=dict, repr=False)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def inbox_secret(self, vendor: str) -> InboxSecret:
        """The secret for ``vendor``: ``SLAENGINE_INBOX_<VENDOR>_SECRET``, else its table."""
        from_env = self.environ.get(inbox_env_name(vendor))
        if from_env:
            return InboxSecret(from_env, True, inbox_env_name(vendor))
        return self.inboxes.get(vendor, InboxSecret())


def inbox_env_name(vendor: str) -> str:
    """The environment variable holding ``vendor``'s secret."""
    return f"SLAENGINE_INBOX_{re.sub(r'[^A-Za-z0-9]', '_', vendor).upper()}_SECRET"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as a host and a port."""
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserError(f"listen: expected HOST:PORT such as 127.0.0.1:8080, got {text!r}")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    return host, int(port)


def parse_size(value: object, name: str = "max_body") -> int:
    """Bytes of ``value``: a number of bytes or a text such as ``512KiB`` or ``2MB``."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        found = _SIZE.match(str(value)) if isinstance(value, str) else None
        if found is None:
            raise UserError(f"[serve] {name}: expected bytes or a size like '1MiB', got {value!r}")
        size = int(found.group(1)) * _UNITS[(found.group(2) or "b").lower()]
    if size <= 0:
        raise UserError(f"[serve] {name}: must be more than zero")
    return size


def _duration(value: object, name: str) -> int:
    try:
        return parse_window(value)
    except ValueError as exc:
        raise UserError(f"[serve] {name}: {exc}") from None


def _inbox_tables(config: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, InboxSecret]:
    found = {}
    for vendor, table in section(config, "inbox").items():
        if not isinstance(table, Mapping):
            raise UserError(f"[inbox.{vendor}]: expected a table")
        unknown = sorted(set(table) - set(_INBOX_KEYS))
        if unknown:
            raise UserError(
                f"[inbox.{vendor}]: unknown setting {unknown[0]!r}; "
                "expected secret, secret_env or verify"
            )
        verify = table.get("verify", True)
        if not isinstance(verify, bool):
            raise UserError(f"[inbox.{vendor}] verify: expected true or false")
        secret: str | None = None
        source = "none"
        if table.get("secret_env"):
            name = str(table["secret_env"])
            secret = environ.get(name) or None
            source = f"${name}"
        if secret is None and table.get("secret"):
            secret, source = str(table["secret"]), f"[inbox.{vendor}] secret"
        found[str(vendor)] = InboxSecret(secret, verify, source)
    return found


def serve_settings(
    config: Mapping[str, Any],
    listen: str | None = None,
    worker: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServeSettings:
    """Settings from the ``[serve]`` table, the environment and the flags (flags win)."""
    env = dict(os.environ if environ is None else environ)
    table = section(config, "serve")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise UserError(
            f"[serve]: unknown setting {unknown[0]!r}; expected {', '.join(_KEYS[:-1])} "
            f"or {_KEYS[-1]}"
        )
    host, port = parse_listen(listen or table.get("listen") or DEFAULT_LISTEN)
    token = env.get(ENV_TOKEN) or ""
    if not token and table.get("token_env"):
        token = env.get(str(table["token_env"]), "")
    if not token:
        token = str(table.get("token") or "")
    if not token.strip():
        raise UserError(
            f"no API token: set {ENV_TOKEN}, or 'token' (or 'token_env') in the [serve] table; "
            "every endpoint but /healthz requires it"
        )
    in_process = table.get("worker", True) if worker is None else worker
    if not isinstance(in_process, bool):
        raise UserError("[serve] worker: expected true or false")
    windows = table.get("due_soon", None)
    due_soon: Sequence[object] = DEFAULT_DUE_SOON if windows is None else windows
    if isinstance(due_soon, str) or not isinstance(due_soon, Sequence):
        raise UserError("[serve] due_soon: expected a list of durations such as ['15m', '1h']")
    return ServeSettings(
        host=host,
        port=port,
        token=token,
        max_body=parse_size(table.get("max_body", DEFAULT_MAX_BODY)),
        worker=in_process,
        due_soon=tuple(sorted({_duration(w, "due_soon") for w in due_soon})),
        at_risk_window=_duration(
            table.get("at_risk_window", DEFAULT_AT_RISK_WINDOW), "at_risk_window"
        ),
        inboxes=_inbox_tables(config, env),
        environ=env,
    )


__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_MAX_BODY",
    "ENV_TOKEN",
    "InboxSecret",
    "ServeSettings",
    "inbox_env_name",
    "parse_listen",
    "parse_size",
    "serve_settings",
]
