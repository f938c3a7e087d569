"""Helpers of the e-mail tests that need nothing beyond the plugin: instants and settings."""

from __future__ import annotations

from typing import Any

from slaengine_email.config import Server

DUE = 1764590400  # 2025-12-01T12:00:00Z, the due time of the tests' notifications


def server_for(smtp: Any, cert: Any = None, **settings: Any) -> Server:
    """The plugin's server settings that reach ``smtp`` (logged in unless plain)."""
    login = smtp.mode != "none"
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "security": smtp.mode,
        "sender": "SLA bot <sla@example.org>",
        "domain": "example.org",
        "username": "sla-bot" if login else None,
        "password": "s3cret-pw" if login else None,
        "ca_file": str(cert.ca_file) if cert is not None else None,
        "timeout": 5.0,
    }
    values.update(settings)
    return Server(**values)
