"""Settings: checked at first use, mapping overrides, the state in the site's own database."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

pytest.importorskip("helpdesk")
pytest.importorskip("pytest_django")

from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from helpdesk.models import Ticket
from slaengine_django_helpdesk import conf, engine
from slaengine_django_helpdesk.models import SlaEvent


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "must be a dict"),
        ({}, "POLICIES"),
        ({"POLICIES": "p/", "STATUS": {}}, "unknown keys \\['STATUS'\\]"),
        ({"POLICIES": "p/", "STATUSES": {"x": "open"}}, "'x' is not a number"),
        ({"POLICIES": "p/", "OPENED_BY": "robot"}, "expected one of customer"),
        ({"POLICIES": "p/", "EMAIL": ["a@example.com"]}, "mapping of notify target names"),
        ({"POLICIES": "p/", "EMAIL": {"leads": []}}, "target 'leads': list addresses"),
        ({"POLICIES": "p/", "OPENING_GRACE": "soon"}, "OPENING_GRACE"),
    ],
    ids=["missing", "no-policies", "typo", "status-number", "author", "email-list", "email-empty",
         "grace"],
)  # fmt: skip
def test_a_wrong_setting_names_its_key(raw: Any, message: str, settings: Any) -> None:
    if raw is None:
        del settings.SLAENGINE
    with pytest.raises(ImproperlyConfigured, match=message):
        conf.load(raw)


def test_overrides_merge_with_the_defaults() -> None:
    loaded = conf.load(
        {"POLICIES": "p/", "STATUSES": {"6": "pending"}, "PRIORITIES": {5: "normal"},
         "EMAIL": {"page": "oncall@example.com"}}
    )  # fmt: skip
    assert loaded.statuses[6] == "pending"
    assert loaded.statuses[3] == "solved"
    assert loaded.priorities[5] == "normal"
    assert loaded.priorities[1] == "urgent"
    assert loaded.email["page"] == ("oncall@example.com",)


def test_state_urls() -> None:
    assert conf.state_url("/var/lib/sla.db") == "/var/lib/sla.db"
    databases = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/desk.sqlite3"},
        "pg": {"ENGINE": "django.db.backends.postgresql", "NAME": "desk", "USER": "sla",
               "PASSWORD": "p@ss/word", "HOST": "db", "PORT": 5433},
        "memory": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        "maria": {"ENGINE": "django.db.backends.mysql", "NAME": "desk"},
    }  # fmt: skip
    assert conf.state_url("database:default", databases) == "/srv/desk.sqlite3"
    assert conf.state_url("database:pg", databases) == "postgresql://sla:p%40ss%2Fword@db:5433/desk"
    with pytest.raises(ImproperlyConfigured, match="in memory"):
        conf.state_url("database:memory", databases)
    with pytest.raises(ImproperlyConfigured, match="stores in SQLite or PostgreSQL"):
        conf.state_url("database:maria", databases)
    with pytest.raises(ImproperlyConfigured, match="no database 'nope'"):
        conf.state_url("database:nope", databases)


@pytest.mark.django_db
def test_status_and_priority_overrides_change_the_events(desk: Any, users: Any,
                                                         settings: Any) -> None:  # fmt: skip
    settings.SLAENGINE = {**settings.SLAENGINE, "PRIORITIES": {4: "normal"},
                          "STATUSES": {3: "pending"}, "CHANNEL": "email"}  # fmt: skip
    ticket = desk.open(priority=4)
    desk.login(users["agent"])
    desk.update(ticket, new_status=Ticket.RESOLVED_STATUS)
    recorded = engine.recorded_events(ticket.pk)
    assert (recorded[0]["priority"], recorded[0]["channel"]) == ("normal", "email")
    assert recorded[-1]["status"] == "pending"


@pytest.mark.django_db(transaction=True)
def test_the_state_can_live_in_the_sites_database(desk: Any, settings: Any) -> None:
    settings.SLAENGINE = {**settings.SLAENGINE, "STATE": "database:default"}
    ticket = desk.open(priority=3)
    out = io.StringIO()
    try:
        call_command("slaengine_advance", at=(ticket.created + dt.timedelta(minutes=5)).isoformat(),
                     stdout=out)  # fmt: skip
        assert out.getvalue().startswith("ingested 1 event, rejected 0; evaluated 1 ticket; ")
        assert SlaEvent.objects.get(ticket=ticket, event_id="created").ingested
        with connection.cursor() as cursor:  # the store's tables sit next to the helpdesk's
            cursor.execute("SELECT COUNT(*) FROM events WHERE ticket = %s", [str(ticket.pk)])
            assert cursor.fetchone() == (1,)
    finally:
        with connection.cursor() as cursor:  # the flush after the test knows only Django's
            for table in ("events", "tickets", "outbox", "cursors", "rejects", "schema_version"):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.django_db
def test_the_admin_lists_recorded_events(desk: Any, users: Any, client: Any) -> None:
    ticket = desk.open()
    users["lead"].is_superuser = True
    users["lead"].save()
    client.force_login(users["lead"])
    page = client.get("/admin/slaengine_helpdesk/slaevent/").content.decode()
    assert "created" in page
    assert f"/admin/slaengine_helpdesk/slaevent/{SlaEvent.objects.get(ticket=ticket).pk}/" in page


def test_the_check_command_knows_the_sites_targets(settings: Any, tmp_path: Any) -> None:
    out = io.StringIO()
    call_command("slaengine_check", stdout=out)
    assert "2 policies OK" in out.getvalue()
    assert "actions:django-helpdesk" in out.getvalue()
    assert "sla-mail" in out.getvalue()
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "version: 1\npolicies:\n  - name: p\n    calendar: 24x7\n    metrics:\n"
        "      first_response:\n        targets: 1h\n"
        "        escalations: [{after: 0m, notify: [sla-mial]}]\n",
        encoding="utf-8",
    )
    settings.SLAENGINE = {**settings.SLAENGINE, "POLICIES": [str(broken)]}
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("slaengine_check", stderr=err)
    assert "broken.yaml:8:" in err.getvalue()
    assert "E305" in err.getvalue()
    assert "did you mean 'sla-mail'" in err.getvalue()


def test_the_check_command_runs_when_the_system_checks_fail(
    settings: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The system checks point to slaengine_check; it must print its problems, not theirs."""
    from django.core.management import ManagementUtility

    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\npolicies:\n  - name: p\n    calendar: nowhere\n", "utf-8")
    settings.SLAENGINE = {**settings.SLAENGINE, "POLICIES": [str(broken)]}
    # As manage.py runs it, system checks included (call_command skips them).
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "slaengine_check"]).execute()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "SystemCheckError" not in err
    assert "broken.yaml:4:15: E301 unknown calendar 'nowhere'" in err
    assert err.rstrip().endswith("CommandError: 2 problems in the policies")


def test_system_checks_report_bad_settings_and_policies(settings: Any, tmp_path: Any) -> None:
    from slaengine_django_helpdesk.checks import check_settings

    assert check_settings() == []
    settings.SLAENGINE = {"POLICIES": "p/", "STAUTSES": {}}
    (error,) = check_settings()
    assert error.id == "slaengine.E001"
    assert "STAUTSES" in error.msg
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\npolicies:\n  - name: p\n    calendar: nowhere\n", "utf-8")
    settings.SLAENGINE = {"POLICIES": [str(broken)]}
    assert {e.id for e in check_settings()} == {"slaengine.E002"}


@pytest.mark.django_db
def test_the_ticket_page_survives_broken_policies(
    desk: Any, users: Any, client: Any, settings: Any, tmp_path: Any
) -> None:
    ticket = desk.open()
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\npolicies: [\n", "utf-8")
    settings.SLAENGINE = {**settings.SLAENGINE, "POLICIES": [str(broken)]}
    desk.login(users["agent"])
    response = client.get(f"/tickets/{ticket.pk}/")
    assert response.status_code == 200
    assert "SLA status is unavailable" in response.content.decode()
