"""E-mail settings from the run's configuration: the SMTP server, and recipients per target.

The plugin's table is ``config["plugins"]["email"]``: the server settings, and
one ``[plugins.email.targets.NAME]`` table per notify target. Every problem is
reported with the TOML table and key it is in (``[plugins.email.targets.lead]
to: ...``), after its ``file:line:col`` when the settings came from a file. A
mistake in the server table leaves every target out (nothing could be sent); a
mistake in one target leaves only that target out.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Final

from slaengine.problems import placed, setting_seconds

PLUGIN: Final = "email"
STARTTLS: Final = "starttls"
TLS: Final = "tls"
NONE: Final = "none"
SECURITIES: Final = (STARTTLS, TLS, NONE)
DEFAULT_PORTS: Final = {STARTTLS: 587, TLS: 465, NONE: 25}
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_PREFIX: Final = "[SLA]"
# Placeholders a ``ticket_url`` template may use; each is URL-quoted when filled in.
URL_FIELDS: Final = ("ticket", "policy", "metric")

SERVER_KEYS: Final = (
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "from",
    "timeout",
    "ca_file",
    "ticket_url",
    "domain",
    "digest_state",
    "targets",
)
TARGET_KEYS: Final = ("to", "cc", "subject_prefix", "digest", "description")
_DOMAIN: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*$")
_DURATION: Final = re.compile(r"^\s*(\d+)\s*([smh]?)\s*$")
_UNITS: Final = {"": 1, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True, slots=True)
class Server:
    """How to reach the SMTP server and who the messages come from.

    ``password`` is resolved from the ``password_env`` variable;
    ``missing_password_env`` names that variable when it was not set, so every
    delivery fails naming it rather than trying without a password.
    """

    host: str
    port: int
    security: str
    sender: str
    domain: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    missing_password_env: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    ticket_url: str | None = None
    digest_state: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """One notify target: who receives its messages, and whether they come as a digest.

    ``digest`` is the digest period in seconds, or ``None`` for one message per
    notification.
    """

    name: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    subject_prefix: str = DEFAULT_PREFIX
    digest: int | None = None
    description: str = ""

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every envelope recipient: ``to`` then ``cc``."""
        return (*self.to, *self.cc)


class ConfigError(ValueError):
    """A table is not usable; the message lists every problem found, separated by ``; ``."""


def missing_password(env_name: str) -> str:
    """The problem of a server whose ``password_env`` variable is not set."""
    return (
        f"environment variable {env_name} (password_env) is not set or empty: deliveries fail "
        "until it is set and slaengine restarted"
    )


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _unknown(table: Mapping[str, Any], keys: tuple[str, ...], problems: list[str]) -> None:
    problems.extend(
        f"unknown setting {key!r}{_did_you_mean(str(key), keys)} (expected {', '.join(keys)})"
        for key in table
        if key not in keys
    )


def _text(table: Mapping[str, Any], key: str, problems: list[str]) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{key}: must be a non-empty string, got {value!r}")
        return None
    return value


def _address(value: Any, where: str, problems: list[str]) -> str | None:
    """``value`` if it is one e-mail address (``a@b`` or ``Name <a@b>``) fit for a header."""
    if not isinstance(value, str) or any(ord(c) < 32 for c in value):
        problems.append(f"{where}: expected an e-mail address, got {value!r}")
        return None
    _, addr = parseaddr(value)
    local, _, domain = addr.rpartition("@")
    if not local or not domain or "@" in local or " " in addr:
        problems.append(f"{where}: not an e-mail address: {value!r}")
        return None
    return value


def _addresses(table: Mapping[str, Any], key: str, problems: list[str]) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.append(f"{key}: expected a list of e-mail addresses, got {value!r}")
        return ()
    found = [_address(item, f"{key}[{i}]", problems) for i, item in enumerate(value)]
    return tuple(a for a in found if a is not None)


def duration(value: Any) -> int | None:
    """Whole seconds of ``value``: a number of seconds or a text such as ``"15m"``, ``"1h"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and (found := _DURATION.match(value)):
        return int(found[1]) * _UNITS[found[2]]
    return None


def _template(value: str | None, problems: list[str]) -> str | None:
    if value is None:
        return None
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        problems.append(f"ticket_url: not a template: {exc}")
        return None
    unknown = [name for name in names if name not in URL_FIELDS]
    if unknown:
        problems.append(
            f"ticket_url: unknown placeholder {{{unknown[0]}}} (expected "
            + ", ".join(f"{{{n}}}" for n in URL_FIELDS)
            + ")"
        )
        return None
    if not value.startswith(("http://", "https://")):
        problems.append(f"ticket_url: must start with http:// or https://, got {value!r}")
        return None
    return value


def parse_server(table: Any, environ: Mapping[str, str] | None = None) -> Server:
    """The server ``[plugins.email]`` describes (its ``targets`` are read by :func:`parse_target`).

    :raises ConfigError: listing every problem of the table.
    """
    env = os.environ if environ is None else environ
    if not isinstance(table, Mapping):
        raise ConfigError(f"expected a table of settings, got {type(table).__name__}")
    problems: list[str] = []
    _unknown(table, SERVER_KEYS, problems)
    host = _text(table, "host", problems)
    if host is None and "host" not in table:
        problems.append("host: required: the SMTP server's name or address")
    security = table.get("security", STARTTLS)
    if security not in SECURITIES:
        problems.append(
            f"security: must be one of {', '.join(SECURITIES)}, got {security!r}"
            + _did_you_mean(str(security), SECURITIES)
        )
        security = STARTTLS
    port = table.get("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        problems.append(f"port: must be a whole number from 1 to 65535, got {port!r}")
    sender = _address(table.get("from"), "from", problems) if "from" in table else None
    if "from" not in table:
        problems.append("from: required: the sender address, e.g. 'SLA <sla@example.com>'")
    username = _text(table, "username", problems)
    password_env = _text(table, "password_env", problems)
    if (username is None) != (password_env is None):
        problems.append("username and password_env: give both to log in, or neither")
    if username is not None and security == NONE:
        problems.append("username: logging in needs security 'starttls' or 'tls'")
    password = env.get(password_env, "") if password_env else ""
    written = table.get("timeout", DEFAULT_TIMEOUT)
    try:
        timeout = setting_seconds(written)  # "30s" too, as [live] takes
    except ValueError as exc:
        problems.append(f"timeout: {exc}")
        timeout = DEFAULT_TIMEOUT
    if timeout <= 0:
        problems.append(f"timeout: must be a number of seconds above 0, got {written!r}")
    ca_file = _text(table, "ca_file", problems)
    if ca_file is not None and not Path(ca_file).is_file():
        problems.append(f"ca_file: no such file: {ca_file}")
    ticket_url = _template(_text(table, "ticket_url", problems), problems)
    digest_state = _text(table, "digest_state", problems)
    domain = _text(table, "domain", problems)
    if domain is None and sender is not None:
        domain = parseaddr(sender)[1].rpartition("@")[2]
    if domain is not None and not domain.isascii():
        # An internationalised domain, in its ASCII (punycode) form for headers;
        # one that cannot be converted is reported just below.
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    if domain is not None and not _DOMAIN.match(domain):
        problems.append(f"domain: not a domain name for Message-IDs: {domain!r}")
    if problems:
        raise ConfigError("; ".join(problems))
    return Server(
        host=str(host),
        port=int(port),
        security=str(security),
        sender=str(sender),
        domain=str(domain),
        username=username,
        password=password or None,
        missing_password_env=password_env if password_env and not password else None,
        timeout=float(timeout),
        ca_file=ca_file,
        ticket_url=ticket_url,
        digest_state=digest_state,
    )


def parse_target(name: str, table: Any, server: Server | None = None) -> Target:
    """The target ``[plugins.email.targets.NAME]`` describes.

    ``server`` is checked for what the target needs (a digest needs ``digest_state``).

    :raises ConfigError: listing every problem of the table.
    """
    if not isinstance(table, Mapping):
        raise ConfigError(f"expected a table of settings, got {type(table).__name__}")
    problems: list[str] = []
    _unknown(table, TARGET_KEYS, problems)
    to = _addresses(table, "to", problems)
    cc = _addresses(table, "cc", problems)
    if not to and not any(p.startswith(("to:", "to[")) for p in problems):
        problems.append("to: required: one or more e-mail addresses")
    prefix = table.get("subject_prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or any(ord(c) < 32 for c in prefix):
        problems.append(f"subject_prefix: must be a one-line string, got {prefix!r}")
    digest = None
    if "digest" in table:
        digest = duration(table["digest"])
        if digest is None or not 1 <= digest <= 86400:
            problems.append(
                f"digest: a period from 1s to 24h such as '15m', got {table['digest']!r}"
            )
        elif server is not None and server.digest_state is None:
            problems.append(
                "digest: needs 'digest_state' in [plugins.email], the file that keeps digests"
            )
    description = table.get("description", "")
    if not isinstance(description, str):
        problems.append(f"description: must be a string, got {description!r}")
    if problems:
        raise ConfigError("; ".join(problems))
    return Target(name, to, cc, str(prefix), digest, str(description))


@dataclass(frozen=True, slots=True)
class Loaded:
    """The server (``None`` when unusable), the usable targets, and each problem found.

    A problem is ``(target or None, text)``; the text starts with the TOML table
    it is in.
    """

    server: Server | None
    targets: dict[str, Target]
    problems: list[tuple[str | None, str]]


def load(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Loaded:
    """Everything of ``config["plugins"]["email"]``; nothing when the table is absent."""
    plugins = config.get("plugins")
    table = plugins.get(PLUGIN) if isinstance(plugins, Mapping) else None
    where = f"[plugins.{PLUGIN}]"
    keys = ("plugins", PLUGIN)
    if table is None:
        return Loaded(None, {}, [])
    if not isinstance(table, Mapping):
        return Loaded(None, {}, [(None, placed(config, keys, f"{where} must be a table"))])
    problems: list[tuple[str | None, str]] = []
    try:
        server: Server | None = parse_server(table, environ)
    except ConfigError as exc:
        server = None
        text = f"{where} {exc}; no e-mail target is registered"
        problems.append((None, placed(config, keys, text)))
    targets_table = table.get("targets", {})
    if not isinstance(targets_table, Mapping):
        text = f"[plugins.{PLUGIN}.targets] must be a table of targets"
        problems.append((None, placed(config, (*keys, "targets"), text)))
        return Loaded(server, {}, problems)
    targets: dict[str, Target] = {}
    for name, settings in targets_table.items():
        try:
            target = parse_target(str(name), settings, server)
        except ConfigError as exc:
            text = f"[plugins.{PLUGIN}.targets.{name}] {exc}"
            problems.append((str(name), placed(config, (*keys, "targets", str(name)), text)))
            continue
        targets[target.name] = target
    if server is None:
        return Loaded(None, {}, problems)
    if server.missing_password_env is not None:
        text = f"{where} {missing_password(server.missing_password_env)}"
        problems.append((None, placed(config, (*keys, "password_env"), text)))
    return Loaded(server, targets, problems)


def address_parts(value: str) -> Address:
    """``value`` (``a@b`` or ``Name <a@b>``) as a header :class:`~email.headerregistry.Address`."""
    display, addr = parseaddr(value)
    return Address(display_name=display, addr_spec=addr)


__all__ = [
    "NONE",
    "PLUGIN",
    "SECURITIES",
    "STARTTLS",
    "TLS",
    "ConfigError",
    "Loaded",
    "Server",
    "Target",
    "address_parts",
    "duration",
    "load",
    "missing_password",
    "parse_server",
    "parse_target",
]
