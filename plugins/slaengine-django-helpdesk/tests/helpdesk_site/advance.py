"""Run ``manage.py slaengine_advance`` against a given database and state, in a fresh process.

``python advance.py DATABASE STATE AT``: the kill test starts this and kills it mid-run.
"""

from __future__ import annotations

import importlib
import sys

import django
from django.conf import settings
from django.core.management import call_command


def main(database: str, state: str, at: str) -> None:
    """Configure the test site on ``database`` and ``state``, then advance to ``at``."""
    site = importlib.import_module("helpdesk_site.settings")
    values = {k: getattr(site, k) for k in dir(site) if k.isupper()}
    values["DATABASES"] = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}}
    values["SLAENGINE"] = {**values["SLAENGINE"], "STATE": state}
    settings.configure(**values)
    django.setup()
    call_command("slaengine_advance", at=at)


if __name__ == "__main__":
    main(*sys.argv[1:4])
