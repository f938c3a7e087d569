"""The server's settings: the ``[serve]`` and ``[inbox.VENDOR]`` tables, the environment, flags.

Flags win over the environment, the environment over the settings file. The
API token and inbox secrets are kept out of every ``repr`` so they never reach
a log line or a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from slaengine.config import locate, setting_error, setting_value, text_setting
from slaengine.errors import UserError
from slaengine.live.atrisk import parse_window
from slaengine.problems import did_you_mean

T = TypeVar("T")

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
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:8080, got {text!r}")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    return host, int(port)


def parse_size(value: object) -> int:
    """Bytes of ``value``: a number of bytes or a text such as ``512KiB`` or ``2MB``."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        found = _SIZE.match(str(value)) if isinstance(value, str) else None
        if found is None:
            raise ValueError(f"expected bytes or a size like '1MiB', got {value!r}")
        size = int(found.group(1)) * _UNITS[(found.group(2) or "b").lower()]
    if size <= 0:
        raise ValueError(f"must be more than zero, got {value!r}")
    return size


def _checked(
    config: Mapping[str, Any], keys: tuple[str, ...], parse: Callable[[Any], T], value: object
) -> T:
    """``parse(value)``; its ``ValueError`` becomes a located error for the setting at ``keys``."""
    try:
        return parse(value)
    except ValueError as exc:
        raise setting_error(config, keys, str(exc)) from None


def _unknown_keys(
    config: Mapping[str, Any],
    keys: tuple[str, ...],
    table: Mapping[str, Any],
    allowed: Sequence[str],
) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        name = str(unknown[0])
        raise setting_error(
            config,
            (*keys, name),
            f"unknown setting; expected {', '.join(allowed[:-1])} or {allowed[-1]}"
            + did_you_mean(name, allowed),
        )


def _inbox_tables(config: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, InboxSecret]:
    found = {}
    inboxes = setting_value(config, ("inbox",), {})
    if not isinstance(inboxes, Mapping):
        raise setting_error(config, ("inbox",), "expected tables such as [inbox.zendesk]")
    for vendor, table in inboxes.items():
        keys = ("inbox", str(vendor))
        if not isinstance(table, Mapping):
            raise setting_error(config, keys, "expected a table")
        _unknown_keys(config, keys, table, _INBOX_KEYS)
        verify = table.get("verify", True)
        if not isinstance(verify, bool):
            raise setting_error(
                config, (*keys, "verify"), f"expected true or false, got {verify!r}"
            )
        secret: str | None = None
        source = "none"
        name = text_setting(config, (*keys, "secret_env"), None)
        if name:
            secret = environ.get(name) or None
            source = f"${name}"
        written = text_setting(config, (*keys, "secret"), None)
        if secret is None and written:
            secret, source = written, f"[inbox.{vendor}] secret"
        found[str(vendor)] = InboxSecret(secret, verify, source)
    return found


def unknown_inboxes(config: Mapping[str, Any], known: Collection[str]) -> list[str]:
    """A warning for each ``[inbox.VENDOR]`` table that no installed inbox answers to.

    Such a table is most likely misspelt: its secret would never be used.
    Each warning names its place and the closest known vendor.
    """
    inboxes = setting_value(config, ("inbox",), {})
    if not isinstance(inboxes, Mapping):
        return []
    return [
        f"{locate(config, 'inbox', str(vendor))}: [inbox.{vendor}]: no installed inbox is "
        f"called {str(vendor)!r}; its settings are not used"
        + (
            did_you_mean(str(vendor), known)
            or f" (installed: {', '.join(sorted(known)) or 'none'})"
        )
        for vendor in inboxes
        if vendor not in known
    ]


def serve_settings(
    config: Mapping[str, Any],
    listen: str | None = None,
    worker: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServeSettings:
    """Settings from the ``[serve]`` table, the environment and the flags (flags win).

    A bad value in the settings file is a :class:`UserError` naming its
    ``file:line:col``, the table and key, and what was expected.
    """
    env = dict(os.environ if environ is None else environ)
    table = setting_value(config, ("serve",), {})
    if not isinstance(table, Mapping):
        raise setting_error(config, ("serve",), "expected a table")
    _unknown_keys(config, ("serve",), table, _KEYS)
    if listen is not None:
        try:
            host, port = parse_listen(listen)
        except ValueError as exc:
            raise UserError(f"--listen: {exc}") from None
    else:
        written = text_setting(config, ("serve", "listen"), DEFAULT_LISTEN) or DEFAULT_LISTEN
        host, port = _checked(config, ("serve", "listen"), parse_listen, written)
    token = env.get(ENV_TOKEN) or ""
    token_env = text_setting(config, ("serve", "token_env"), None)
    if not token and token_env:
        token = env.get(token_env, "")
    if not token:
        token = text_setting(config, ("serve", "token"), None) or ""
    if not token.strip():
        raise UserError(
            f"no API token: set {ENV_TOKEN}, or 'token' (or 'token_env') in the [serve] table; "
            "every endpoint but /healthz requires it"
        )
    in_process = table.get("worker", True) if worker is None else worker
    if not isinstance(in_process, bool):
        raise setting_error(
            config, ("serve", "worker"), f"expected true or false, got {in_process!r}"
        )
    windows = table.get("due_soon", None)
    due_soon: Sequence[object] = DEFAULT_DUE_SOON if windows is None else windows
    if isinstance(due_soon, str) or not isinstance(due_soon, Sequence):
        raise setting_error(
            config,
            ("serve", "due_soon"),
            f"expected a list of durations such as ['15m', '1h'], got {due_soon!r}",
        )
    due = ("serve", "due_soon")
    at_risk = table.get("at_risk_window", DEFAULT_AT_RISK_WINDOW)
    return ServeSettings(
        host=host,
        port=port,
        token=token,
        max_body=_checked(
            config, ("serve", "max_body"), parse_size, table.get("max_body", DEFAULT_MAX_BODY)
        ),
        worker=in_process,
        due_soon=tuple(sorted({_checked(config, due, parse_window, w) for w in due_soon})),
        at_risk_window=_checked(config, ("serve", "at_risk_window"), parse_window, at_risk),
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
    "unknown_inboxes",
]
