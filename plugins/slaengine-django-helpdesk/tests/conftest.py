"""Django for the django-helpdesk tests: the test site's settings, users, queues, a clock.

The whole repository's tests run in one pytest session, so Django is set up here,
when this directory is collected, and only if django-helpdesk and pytest-django
are installed; the test modules skip otherwise. Settings go through
``settings.configure`` (no DJANGO_SETTINGS_MODULE in the environment that the
other tests' subprocesses would inherit).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import pytest

READY = all(
    importlib.util.find_spec(m)
    for m in ("django", "helpdesk", "pytest_django", "slaengine_django_helpdesk")
)

if READY:
    import django
    from django.conf import settings

    if not settings.configured:
        site = importlib.import_module("helpdesk_site.settings")
        settings.configure(**{k: getattr(site, k) for k in dir(site) if k.isupper()})
        django.setup()


@pytest.fixture
def state(tmp_path: Path, settings: Any) -> Path:
    """A fresh live-state file for this test (``SLAENGINE["STATE"]``)."""
    path = tmp_path / "sla-state.db"
    settings.SLAENGINE = {**settings.SLAENGINE, "STATE": str(path)}
    return path


@pytest.fixture
def users(db: None) -> dict[str, Any]:
    """Staff ``agent`` and ``lead`` (both helpdesk staff), customer ``carla``."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    agent = user_model.objects.create_user(
        "agent", "agent@example.com", "pw", is_staff=True, first_name="Ada"
    )
    lead = user_model.objects.create_user("lead", "lead@example.com", "pw", is_staff=True)
    carla = user_model.objects.create_user("carla", "carla@example.com", "pw")
    return {"agent": agent, "lead": lead, "carla": carla}


@pytest.fixture
def queues(db: None) -> dict[str, Any]:
    """Queues ``desk`` (public submissions allowed), ``vip`` and ``phone-desk``."""
    from helpdesk.models import Queue

    return {
        slug: Queue.objects.create(
            title=slug.title(),
            slug=slug,
            allow_public_submission=True,
            email_address=f"{slug}@x.org",
        )
        for slug in ("desk", "vip", "phone-desk")
    }


class Desk:
    """Drives the helpdesk through its own views, as an agent or a customer would."""

    def __init__(self, client: Any, queues: dict[str, Any]) -> None:
        self.client = client
        self.queues = queues

    def login(self, user: Any) -> None:
        self.client.force_login(user)

    def logout(self) -> None:
        self.client.logout()

    def open(self, *, queue: str = "desk", priority: int = 3, title: str = "Printer on fire",
             body: str = "It is burning.", email: str = "carla@example.com",
             assigned_to: Any = None) -> Any:  # fmt: skip
        """Submit the create-ticket form (the staff form when logged in as staff)."""
        from django.urls import reverse
        from helpdesk.models import Ticket

        before = set(Ticket.objects.values_list("pk", flat=True))
        data = {
            "queue": self.queues[queue].pk,
            "title": title,
            "body": body,
            "priority": priority,
            "submitter_email": email,
        }
        if assigned_to is not None:
            data["assigned_to"] = assigned_to.pk
        response = self.client.post(reverse("helpdesk:submit"), data)
        assert response.status_code == 302, response.content.decode()[:3000]
        (created,) = Ticket.objects.exclude(pk__in=before)
        return created

    def update(self, ticket: Any, **fields: Any) -> None:
        """Post the ticket's update form: ``comment``, ``public``, ``new_status``, ``owner``..."""
        from django.urls import reverse

        ticket.refresh_from_db()
        data = {
            "title": ticket.title,
            "priority": ticket.priority,
            "queue": ticket.queue_id,
            "new_status": ticket.status,
            "comment": "",
        }
        if fields.pop("public", False):
            data["public"] = "1"  # what the ticket page's switch posts
        data.update(fields)
        response = self.client.post(reverse("helpdesk:update", args=[ticket.pk]), data)
        assert response.status_code == 302, response.content.decode()[:3000]
        ticket.refresh_from_db()

    def hold(self, ticket: Any, hold: bool = True) -> None:
        """Press the ticket page's hold (or unhold) button."""
        from django.urls import reverse

        name = "helpdesk:hold" if hold else "helpdesk:unhold"
        response = self.client.post(reverse(name, args=[ticket.pk]))
        assert response.status_code == 302, response.status_code
        ticket.refresh_from_db()


@pytest.fixture
def desk(client: Any, queues: dict[str, Any], users: dict[str, Any], state: Path) -> Desk:
    """The helpdesk's views, a fresh live state, users and queues."""
    return Desk(client, queues)
