"""Webhook targets from the run's configuration: validated, with their secrets resolved.

The plugin's table is ``config["plugins"]["webhook"]``; each
``[plugins.webhook.targets.NAME]`` table describes one target. A target with a
mistake is reported (every problem of it at once) and left out; the others
still load.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from slaengine.problems import did_you_mean, placed, setting_seconds

PLUGIN: Final = "webhook"
JSON: Final = "json"
SLACK: Final = "slack"
TEAMS: Final = "teams"
GOOGLE_CHAT: Final = "google-chat"
FORMATS: Final = (JSON, SLACK, TEAMS, GOOGLE_CHAT)

DEFAULT_TIMEOUT: Final = 5.0
DEFAULT_RETRIES: Final = 2
DEFAULT_BACKOFF: Final = 0.5
DEFAULT_MAX_RETRY_AFTER: Final = 10.0
MAX_RETRIES: Final = 10

TARGET_KEYS: Final = (
    "url",
    "secret",
    "secret_env",
    "timeout",
    "format",
    "retries",
    "backoff",
    "max_retry_after",
    "description",
)
PLUGIN_KEYS: Final = ("targets",)


@dataclass(frozen=True, slots=True)
class Target:
    """One webhook receiver: where to POST, how to sign, how long to wait and retry.

    ``timeout`` bounds each attempt in all (seconds); ``retries`` is the number of
    immediate retries after a refused or reset connection, a 5xx, 408 or 429,
    waiting ``backoff * 2**n`` seconds, or the receiver's ``Retry-After``; no
    wait is longer than ``max_retry_after`` (a longer ``Retry-After`` ends the
    delivery, for the outbox to retry later).

    ``missing_secret_env`` names the ``secret_env`` variable that was not set:
    the target is still known (``slaengine check`` accepts its name), but every
    delivery fails, naming the variable, rather than going out unsigned.
    """

    name: str
    url: str
    secret: bytes | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    format: str = JSON
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    description: str = ""
    missing_secret_env: str | None = None

    @property
    def safe_url(self) -> str:
        """The URL for logs and error messages (see :func:`redact`)."""
        return redact(self.url)


class ConfigError(ValueError):
    """A target's table is not usable; the message lists every problem found."""


def redact(url: str) -> str:
    """``url`` without anything that may be a secret: scheme, host and port only.

    Credentials, path and query are dropped (a Slack webhook URL carries its
    token in the path); ``/…`` marks that something was left out.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return origin + ("/…" if hidden else "")


def missing_secret(env_name: str) -> str:
    """The problem of a target whose ``secret_env`` variable is not set."""
    return (
        f"environment variable {env_name} (secret_env) is not set or empty: deliveries to "
        "this target fail until it is set and slaengine restarted (nothing is sent unsigned)"
    )


def _number(
    table: Mapping[str, Any], key: str, default: float, problems: list[str], *, positive: bool
) -> float:
    """A duration setting in seconds: a number or a text like ``"30s"``, as ``[live]`` takes."""
    value = table.get(key, default)
    try:
        seconds = setting_seconds(value)
    except ValueError as exc:
        problems.append(f"'{key}': {exc}")
        return default
    if seconds < 0 or (positive and seconds == 0):
        problems.append(f"'{key}' must be {'above' if positive else 'at least'} 0, got {value!r}")
        return default
    return seconds


def _check_url(value: Any, problems: list[str]) -> str:
    if not isinstance(value, str) or not value:
        problems.append("'url' is required: the http:// or https:// address to POST to")
        return ""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https"):
        problems.append(f"'url' must start with http:// or https://, got scheme {parts.scheme!r}")
    elif not parts.hostname:
        problems.append(f"'url' has no host: {redact(value)}")
    elif parts.username is not None or parts.password is not None:
        # urllib would take "user:password@host" for a host name.
        problems.append("'url' must not hold a user name or password; use 'secret' to sign")
    return value


def _secret(
    table: Mapping[str, Any], environ: Mapping[str, str], problems: list[str]
) -> bytes | str | None:
    """The secret's bytes; the variable's name when ``secret_env`` is not set; else ``None``."""
    inline, env_name = table.get("secret"), table.get("secret_env")
    if inline is not None and env_name is not None:
        problems.append("give either 'secret' or 'secret_env', not both")
        return None
    if inline is not None:
        if not isinstance(inline, str) or not inline:
            problems.append("'secret' must be a non-empty string")
            return None
        return inline.encode()
    if env_name is not None:
        if not isinstance(env_name, str) or not env_name:
            problems.append("'secret_env' must name an environment variable")
            return None
        value = environ.get(env_name, "")
        return value.encode() if value else env_name
    return None


def parse_target(name: str, table: Any, environ: Mapping[str, str] | None = None) -> Target:
    """The target ``[plugins.webhook.targets.NAME]`` describes.

    ``environ`` (default ``os.environ``) resolves ``secret_env``.

    :raises ConfigError: listing every problem of the table, separated by ``; ``.
    """
    env = os.environ if environ is None else environ
    if not isinstance(table, Mapping):
        raise ConfigError(f"expected a table of settings, got {type(table).__name__}")
    problems: list[str] = []
    for key in table:
        if key not in TARGET_KEYS:
            problems.append(
                f"unknown setting {key!r}{did_you_mean(str(key), TARGET_KEYS)} "
                f"(expected {', '.join(TARGET_KEYS)})"
            )
    url = _check_url(table.get("url"), problems)
    secret = _secret(table, env, problems)
    missing = secret if isinstance(secret, str) else None
    timeout = _number(table, "timeout", DEFAULT_TIMEOUT, problems, positive=True)
    backoff = _number(table, "backoff", DEFAULT_BACKOFF, problems, positive=False)
    max_retry_after = _number(
        table, "max_retry_after", DEFAULT_MAX_RETRY_AFTER, problems, positive=False
    )
    body_format = table.get("format", JSON)
    if body_format not in FORMATS:
        problems.append(
            f"'format' must be one of {', '.join(FORMATS)}, got {body_format!r}"
            + did_you_mean(str(body_format), FORMATS)
        )
    retries = table.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        problems.append(f"'retries' must be a whole number, 0 to {MAX_RETRIES}, got {retries!r}")
    description = table.get("description", "")
    if not isinstance(description, str):
        problems.append(f"'description' must be a string, got {description!r}")
    if problems:
        raise ConfigError("; ".join(problems))
    return Target(
        name=name,
        url=url,
        secret=secret if isinstance(secret, bytes) else None,
        timeout=timeout,
        format=str(body_format),
        retries=int(retries),
        backoff=backoff,
        max_retry_after=max_retry_after,
        description=str(description),
        missing_secret_env=missing,
    )


@dataclass(frozen=True, slots=True)
class Loaded:
    """The usable targets by name, and ``(target or None, problem)`` for what was left out."""

    targets: dict[str, Target]
    problems: list[tuple[str | None, str]]


def load_targets(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Loaded:
    """Every valid target of ``config["plugins"]["webhook"]``; none when the table is absent.

    A target whose ``secret_env`` variable is not set is kept (see
    :attr:`Target.missing_secret_env`) and reported among the problems.
    """
    plugins = config.get("plugins")
    table = plugins.get(PLUGIN) if isinstance(plugins, Mapping) else None
    if table is None:
        return Loaded({}, [])
    keys = ("plugins", PLUGIN)
    if not isinstance(table, Mapping):
        problem = placed(config, keys, f"[plugins.{PLUGIN}] must be a table")
        return Loaded({}, [(None, problem)])
    expected = ", ".join(PLUGIN_KEYS)
    problems: list[tuple[str | None, str]] = [
        (
            None,
            placed(
                config, keys, f"unknown setting {key!r} in [plugins.{PLUGIN}] (expected {expected})"
            ),
        )
        for key in table
        if key not in PLUGIN_KEYS
    ]
    targets_table = table.get("targets", {})
    if not isinstance(targets_table, Mapping):
        text = f"[plugins.{PLUGIN}.targets] must be a table of targets"
        problems.append((None, placed(config, (*keys, "targets"), text)))
        return Loaded({}, problems)
    targets: dict[str, Target] = {}
    for name, settings in targets_table.items():
        try:
            target = parse_target(str(name), settings, environ)
        except ConfigError as exc:
            problems.append((str(name), placed(config, (*keys, "targets", str(name)), str(exc))))
            continue
        targets[target.name] = target
        if target.missing_secret_env is not None:
            where = (*keys, "targets", target.name, "secret_env")
            problems.append(
                (target.name, placed(config, where, missing_secret(target.missing_secret_env)))
            )
    return Loaded(targets, problems)


__all__ = [
    "FORMATS",
    "GOOGLE_CHAT",
    "JSON",
    "PLUGIN",
    "SLACK",
    "TARGET_KEYS",
    "TEAMS",
    "ConfigError",
    "Loaded",
    "Target",
    "load_targets",
    "missing_secret",
    "parse_target",
    "redact",
]
