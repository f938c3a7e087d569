"""What agents see: the SLA panel on the ticket page and the SLA column of the ticket list."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("helpdesk")
pytest.importorskip("pytest_django")

from django.core import signing
from django.urls import reverse
from django.utils import timezone
from helpdesk.models import Ticket
from helpdesk.query import query_to_base64
from slaengine_django_helpdesk import engine
from slaengine_django_helpdesk.templatetags.slaengine_helpdesk import left_text, until_text

LIST_QUERY = {"filtering": {}, "sorting": "created", "search_string": "", "sortreverse": False}


def _tickets(desk: Any, users: Any) -> dict[str, Any]:
    """Four tickets: urgent, high and low priority open ones, and a resolved one."""
    made = {
        "low": desk.open(priority=4, title="Low"),
        "urgent": desk.open(priority=1, title="Urgent"),
        "high": desk.open(priority=2, title="High"),
        "done": desk.open(priority=1, title="Done"),
    }
    desk.login(users["agent"])
    desk.update(made["done"], comment="Solved.", public=True, new_status=Ticket.RESOLVED_STATUS)
    return made


def _rows(client: Any, direction: str = "asc", column: int = 12) -> list[dict[str, Any]]:
    """The ticket list's JSON as its table asks for it when the SLA header is clicked."""
    url = reverse("helpdesk:datatables_ticket_list", args=[query_to_base64(LIST_QUERY)])
    params = {
        "draw": 1,
        "start": 0,
        "length": 25,
        "order[0][column]": column,
        "order[0][dir]": direction,
        f"columns[{column}][data]": "sla_due",
    }
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    return list(response.json()["data"])


@pytest.mark.django_db
def test_the_ticket_page_shows_due_and_time_left(desk: Any, users: Any, client: Any) -> None:
    ticket = desk.open(priority=2)  # high: first response within the hour
    desk.login(users["agent"])
    page = client.get(reverse("helpdesk:view", args=[ticket.pk])).content.decode()
    assert 'id="sla-panel"' in page
    status = engine.status(ticket.pk, timezone.now())
    assert status is not None
    first = next(m for m in status.metrics if m.metric == "first_response")
    due = timezone.localtime(dt.datetime.fromtimestamp(first.due or 0, dt.UTC))
    row = re.search(r'<tr class="sla-clock" data-metric="first response".*?</tr>', page, re.S)
    assert row is not None
    assert due.strftime("%Y-%m-%d %H:%M") in row.group(0)
    assert re.search(r"(59m|1h 0m) left", row.group(0))
    assert 'data-state="active"' in row.group(0)
    assert ">desk<" in page  # the policy's name


@pytest.mark.django_db
def test_the_ticket_list_sorts_soonest_breach_first(desk: Any, users: Any, client: Any) -> None:
    made = _tickets(desk, users)
    ids = [row["id"] for row in _rows(client)]
    assert ids == [made[k].pk for k in ("urgent", "high", "low", "done")]
    # Descending puts the tickets without a running clock first, then the latest due.
    assert [row["id"] for row in _rows(client, "desc")] == [
        made[k].pk for k in ("done", "low", "high", "urgent")
    ]
    rows = {row["id"]: row for row in _rows(client)}
    assert rows[made["done"].pk]["sla_due"] is None
    assert rows[made["urgent"].pk]["sla_left"] in ("due in 29m", "due in 30m")
    assert rows[made["urgent"].pk]["sla_state"] == "active"


@pytest.mark.django_db
def test_a_clock_past_its_due_shows_as_over(desk: Any, client: Any, users: Any) -> None:
    from slaengine_django_helpdesk.models import SlaTicket

    ticket = desk.open(priority=1)
    SlaTicket.objects.filter(pk=ticket.pk).update(next_due=timezone.now() - dt.timedelta(hours=2))
    desk.login(users["agent"])
    (row,) = _rows(client)
    assert (row["sla_state"], row["sla_left"]) == ("breached", "2h 0m over")


@pytest.mark.django_db
def test_the_list_sorts_as_before_on_other_columns(desk: Any, users: Any, client: Any) -> None:
    made = _tickets(desk, users)
    url = reverse("helpdesk:datatables_ticket_list", args=[query_to_base64(LIST_QUERY)])
    response = client.get(url, {"order[0][column]": 1, "order[0][dir]": "asc", "draw": 1})
    by_title = sorted(made.values(), key=lambda t: t.title)  # column 1 is the title
    assert [row["id"] for row in response.json()["data"]] == [t.pk for t in by_title]
    assert all("sla_due" in row for row in response.json()["data"])


def test_left_text_reads_like_a_clock() -> None:
    assert left_text(3 * 3600 + 5 * 60) == "3h 5m left"
    assert left_text(-(26 * 3600)) == "1d 2h over"
    assert left_text(30) == "<1m left"
    assert left_text(-120) == "2m over"
    assert until_text(90 * 60) == "due in 1h 30m"
    assert until_text(-90 * 60) == "1h 30m over"


# -- in a browser ------------------------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _browse(tmp_path: Path, url: str, *options: str) -> str:
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=8000", "--window-size=1400,900", *options, url,
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("chromium did not finish within 240 s")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _login_url(server: str, user: Any, next_url: str) -> str:
    token = signing.dumps({"user": user.pk, "next": next_url})
    return f"{server}/browser-login/{token}/"


@pytest.fixture
def server(request: pytest.FixtureRequest) -> str:
    """A real Django server on 127.0.0.1 (pytest-django's live server), its base URL."""
    request.config.option.liveserver = "127.0.0.1"
    live = request.getfixturevalue("live_server")
    assert live.url.startswith("http://127.0.0.1:")
    return str(live.url)


@pytest.mark.django_db(transaction=True)
def test_chromium_shows_the_panel_and_the_column(
    server: str, desk: Any, users: Any, tmp_path: Path
) -> None:
    made = _tickets(desk, users)
    ticket = made["urgent"]
    page = _browse(
        tmp_path, _login_url(server, users["agent"], f"/tickets/{ticket.pk}/"), "--dump-dom"
    )
    assert 'id="sla-panel"' in page
    assert re.search(r"(29m|30m) left", page)
    listing = _browse(tmp_path, _login_url(server, users["agent"], "/tickets/"), "--dump-dom")
    assert "SLA due" in listing  # the header the column script added
    header = re.search(r'<th[^>]*class="([^"]*)"[^>]*>(?:(?!</th>).)*SLA due', listing, re.S)
    assert header is not None
    assert "dt-orderable-asc" in header.group(1)  # DataTables made it sortable
    cells = re.findall(r'class="sla-cell badge text-bg-\w+" data-due="([^"]+)"', listing)
    assert len(cells) == 3  # the three open tickets; the resolved one has no due
    assert re.search(r"due in (29|30)m</span>", listing)  # the urgent one
    for name, path in (("ticket", f"/tickets/{ticket.pk}/"), ("list", "/tickets/")):
        shot = tmp_path / f"{name}.png"
        _browse(tmp_path, _login_url(server, users["agent"], path), f"--screenshot={shot}")
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (1400, 900)
        assert len(data) > 20_000  # a rendered page, not a blank one
