"""A small django-helpdesk site for the tests, with slaengine added as a site would add it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from slaengine_django_helpdesk import query_class

HERE = Path(__file__).resolve().parent
# The test session's scratch directory, removed when the process that made it exits
# (even after a collect-only run); a child process the tests start is handed it.
if os.environ.get("SLAENGINE_HELPDESK_TEST_DIR"):
    STATE_DIR = Path(os.environ["SLAENGINE_HELPDESK_TEST_DIR"])
else:
    STATE_DIR = Path(tempfile.mkdtemp(prefix="slaengine-helpdesk-"))
    atexit.register(shutil.rmtree, STATE_DIR, ignore_errors=True)

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "Europe/Berlin"
LANGUAGE_CODE = "en-us"
SITE_ID = 1
ROOT_URLCONF = "helpdesk_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
MEDIA_ROOT = str(STATE_DIR / "media")
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
LOGIN_URL = "/login/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast for tests

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "slaengine_django_helpdesk",  # before helpdesk: its templates extend the helpdesk's
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(STATE_DIR / "site.sqlite3"),
        # A file, so that the live server's thread and the state store see the same data.
        "TEST": {"NAME": str(STATE_DIR / "test-site.sqlite3")},
    }
}

HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_USE_CDN = False
HELPDESK_QUERY_CLASS = query_class

SLAENGINE = {
    "POLICIES": [str(HERE.parent / "policies")],
    "STATE": str(STATE_DIR / "sla-state.db"),
    "CHANNELS": {"phone-desk": "phone"},
    "EMAIL": {"sla-mail": ["sla-alerts@example.com", "assignee"]},
}
