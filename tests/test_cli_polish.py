"""What a user's review of the commands found: narrow tables, late failures, message forms.

Each test names the command line a user would type and what they must see.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import slaengine
from cli_support import RunCli
from slaengine.live import LiveEngine, Store
from slaengine.live.outbox import Decision
from slaengine.live.store import Reject

NOW = 1_795_000_000  # 2026-11-18T11:06:40Z
LONG_KEY = "TICKET-000123/first_response/1/breach/0"
LONG_ERROR = "HTTP 503 from https://hooks.example.com/sla/escalations: Service Unavailable"


@pytest.fixture
def outbox_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state whose outbox holds a delivered row and a dead one with a long error."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    store = Store.open(tmp_path / "s.db")
    try:
        decisions = [
            Decision(LONG_KEY, "TICKET-000123", "breach", NOW, "{}", ("webhook:escalations",)),
            Decision(
                "TICKET-000123/first_response/1/warning/0",
                "TICKET-000123",
                "warning",
                NOW - 600,
                "{}",
                ("email:team-lead@example.com",),
            ),
        ]
        store.save_evaluations([("TICKET-000123", None, "desk", decisions)], NOW)
        rows = {row.kind: row for row in store.outbox((), None, 10)}
        store.mark_failed(rows["breach"].id, LONG_ERROR, None)
        store.mark_delivered(rows["warning"].id, NOW + 5)
    finally:
        store.close()
    return tmp_path


def _lines_fit(out: str, width: int) -> None:
    assert max(len(line) for line in out.splitlines()) <= width, out


@pytest.mark.parametrize("width", [80, 100, 160])
def test_outbox_table_fits_and_keeps_ids_whole(
    outbox_state: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    status, out, _ = run_cli("outbox", "--all", "--state", "s.db")
    assert status == 1  # a dead row is listed
    _lines_fit(out, width)
    assert "…" not in out
    for whole in ("TICKET-000123", "webhook:escalations", "email:team-lead@example.com", "dead"):
        assert whole in out
    # The error is read whole: in its column, or under the table.
    assert LONG_ERROR in out
    if width < 160:
        assert re.search(r"\b11-18 11:06\b", out)  # short times, the year in the title
        assert "(times in UTC, 2026)" in out


def test_outbox_table_at_160_columns_keeps_the_key_whole(
    outbox_state: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    _, out, _ = run_cli("outbox", "--all", "--state", "s.db")
    assert LONG_KEY in out


def test_outbox_table_into_a_pipe_has_every_cell_whole(
    outbox_state: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = run_cli("outbox", "--all", "--state", "s.db")
    assert LONG_KEY in out
    assert "2026-11-18 11:06" in out
    assert re.search(r"dead\s+1\s+-\s+" + re.escape(LONG_ERROR), out)


@pytest.mark.parametrize("option", ["--html", "--goals", "--breaches", "--rejects"])
@pytest.mark.parametrize("where", ["missing-folder", "a-file-as-folder", "a-folder"])
def test_audit_checks_its_output_paths_before_auditing(
    at_repo_root: Path, tmp_path: Path, run_cli: RunCli, option: str, where: str
) -> None:
    (tmp_path / "plain.txt").write_text("x", encoding="utf-8")
    path = {
        "missing-folder": tmp_path / "no-such" / "out.file",
        "a-file-as-folder": tmp_path / "plain.txt" / "out.file",
        "a-folder": tmp_path,
    }[where]
    status, out, err = run_cli(
        "audit", "-p", "policies/", "-e", "examples/tickets.jsonl", option, str(path)
    )
    assert status == 2
    assert out == ""  # nothing audited, nothing printed
    assert f"{option}: cannot write {path}" in err


def test_audit_writes_outputs_into_an_existing_folder(
    at_repo_root: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    html, goals = tmp_path / "report.html", tmp_path / "goals.csv"
    goals.write_text("old", encoding="utf-8")  # an existing file is replaced
    status, _, _ = run_cli(
        "audit", "-p", "policies/", "-e", "examples/tickets.jsonl", "--json",
        "--html", str(html), "--goals", str(goals),
    )  # fmt: skip
    assert status == 0
    assert html.read_text(encoding="utf-8").startswith("<!")
    assert goals.read_text(encoding="utf-8") != "old"


BAD_LINES = [
    (
        '{"ticket": "T-1", "type": "created", "at": "2026-01-01T10:00:00Z", '
        '"channel": "email", "priority": "high"}'
    ),
    "not json",
    "[1, 2]",
    '{"ticket": "T-2", "type": "created"}',
    '{"ticket": "T-3", "type": "bogus", "at": "2026-01-01T10:00:00Z"}',
    '{"a": NaN}',
]


def test_ingest_reports_a_bad_line_as_evaluate_does(
    at_repo_root: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    events = tmp_path / "bad.jsonl"
    events.write_text("\n".join(BAD_LINES) + "\n", encoding="utf-8")
    _, _, evaluated = run_cli("evaluate", "-p", "policies/", "-e", str(events))
    status, _, ingested = run_cli(
        "ingest", "-p", "policies/", "--state", str(tmp_path / "s.db"), str(events)
    )
    assert status == 1
    assert ingested.splitlines() == evaluated.splitlines()
    assert ingested.splitlines() == [
        f"{events}:2:1: E401 not valid JSON: Expecting value",
        f"{events}:3: E400 an event must be a JSON object, got a list",
        f"{events}:4: E400 missing 'at'",
        f"{events}:5: E400 'type' must be one of created, message, status, update, csat, "
        "got 'bogus'",
        f"{events}:6:7: E401 NaN is not a JSON number; give a finite number or leave the key out",
    ]


def test_a_csv_public_cell_that_is_not_a_boolean_is_quoted(
    at_repo_root: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "ticket,type,at,channel,priority,author,public\n"
        "T-1,created,2026-01-01T10:00:00Z,email,high,,\n"
        "T-1,message,2026-01-01T10:05:00Z,,,agent,maybe\n"
        "T-1,message,2026-01-01T10:06:00Z,,,agent,yes\n",
        encoding="utf-8",
    )
    status, _, err = run_cli("evaluate", "-p", "policies/", "-e", str(events))
    assert status == 1
    assert err.splitlines() == [f"{events}:3: E400 'public' must be true or false, got 'maybe'"]


def test_a_json_public_number_is_shown_as_given(
    at_repo_root: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"ticket": "T-1", "type": "message", "at": "2026-01-01T10:05:00Z", '
        '"author": "agent", "public": 2}\n',
        encoding="utf-8",
    )
    _, _, err = run_cli("evaluate", "-p", "policies/", "-e", str(events))
    assert "'public' must be true or false, got 2" in err


@pytest.mark.parametrize(
    ("events", "said"),
    [(1, "its 1 event is ignored"), (2, "its 2 events are ignored")],
)
def test_a_ticket_without_created_counts_its_events_in_words(
    at_repo_root: Path, tmp_path: Path, run_cli: RunCli, events: int, said: str
) -> None:
    path = tmp_path / "events.jsonl"
    line = (
        '{"ticket": "T-9", "type": "message", "at": "2026-01-01T10:0%d:00Z", "author": "agent"}\n'
    )
    path.write_text("".join(line % n for n in range(events)), encoding="utf-8")
    _, _, err = run_cli("evaluate", "-p", "policies/", "-e", str(path))
    assert f"{path}:1: E410 ticket 'T-9' has no 'created' event; {said}" in err


TARGET_POLICY = """\
version: 1
policies:
  - name: all
    calendar: 24x7
    metrics:
      first_response:
        targets: {urgent: 1h, high: 2h, normal: 4h, low: 8h}
        escalations:
          - {after: 0m, notify: [team-lead]}
"""
CREATED = (
    '{"id": "e1", "ticket": "T-1", "type": "created", "at": "2026-01-01T10:00:00Z", '
    '"channel": "email", "priority": "high"}\n'
)


@pytest.fixture
def away_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A policy naming a notify target, a state and events; run from a folder without
    the settings file that would set the target up."""
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(TARGET_POLICY, encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(CREATED, encoding="utf-8")
    policies = slaengine.load_policies(tmp_path / "policies")  # names left unchecked
    engine = LiveEngine(policies, Store.open(tmp_path / "s.db"), lambda notification: ())
    try:
        engine.ingest([json.loads(CREATED)], NOW)
    finally:
        engine.store.close()
    monkeypatch.chdir(tmp_path)
    return tmp_path


AT = ("--at", "2026-01-01T10:30:00Z")


@pytest.mark.parametrize(
    "argv",
    [
        ("status", "-p", "policies/", "--state", "s.db", "T-1", *AT),
        ("evaluate", "-p", "policies/", "-e", "events.jsonl", *AT),
        ("explain", "-p", "policies/", "-e", "events.jsonl", "-t", "T-1", *AT),
        ("audit", "-p", "policies/", "-e", "events.jsonl", "--json", *AT),
        ("whatif", "-p", "policies/", "-a", "policies/", "-e", "events.jsonl", "--json", *AT),
    ],
    ids=["status", "evaluate", "explain", "audit", "whatif"],
)
def test_commands_that_send_nothing_need_no_notify_targets(
    away_from_settings: Path, run_cli: RunCli, argv: tuple[str, ...]
) -> None:
    status, out, err = run_cli(*argv)
    assert "E305" not in err
    assert status == 0, err
    assert "T-1" in out or argv[0] in ("audit", "whatif")


def test_check_still_reports_an_unknown_notify_target(
    away_from_settings: Path, run_cli: RunCli
) -> None:
    status, out, _ = run_cli("check", "policies/")
    assert status == 1
    assert "E305 unknown notify target 'team-lead'" in out


def test_whatif_counts_weeks_in_the_tz_given(
    at_repo_root: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: the next ISO week there.
    events = tmp_path / "events.jsonl"
    events.write_text(
        "".join(
            f'{{"id": "e{n}", "ticket": "T-{n}", "type": "created", "at": "{at}", '
            '"channel": "email", "priority": "high"}\n'
            for n, at in enumerate(("2026-01-04T23:30:00Z", "2026-01-05T10:00:00Z"))
        ),
        encoding="utf-8",
    )
    argv = ("whatif", "-p", "policies/", "-a", "policies/", "-e", str(events), "--json")
    weeks = {}
    for zone in ("UTC", "Europe/Berlin"):
        status, out, _ = run_cli(*argv, "--at", "2026-01-06T00:00:00Z", "--tz", zone)
        assert status == 0
        weeks[zone] = json.loads(out)["weeks"]
    assert weeks == {"UTC": 2, "Europe/Berlin": 1}
    status, _, err = run_cli(*argv, "--tz", "Mars/Olympus")
    assert status == 2
    assert "--tz: unknown time zone 'Mars/Olympus'" in err


BAD = Path(__file__).parent / "data" / "policies" / "bad"


def test_check_format_json_gives_every_problem_with_what_was_expected(
    at_repo_root: Path, run_cli: RunCli
) -> None:
    status, out, _ = run_cli("check", "--format", "json", str(BAD / "bad_duration.yaml"))
    assert status == 1
    document = json.loads(out)
    assert (document["ok"], document["errors"], document["warnings"]) == (False, 2, 0)
    first = document["problems"][0]
    assert first == {
        "file": str(BAD / "bad_duration.yaml"),
        "line": 5,
        "column": 52,
        "code": "E201",
        "severity": "error",
        "message": "bad target for high: expected a duration like 90m, 2h or 1h30m, got '2 hours'",
        "text": f"{BAD / 'bad_duration.yaml'}:5:52: E201 bad target for high: expected a "
        "duration like 90m, 2h or 1h30m, got '2 hours'",
        "expected": "a duration like 90m, 2h or 1h30m",
        "suggestion": None,
    }
    # The text form prints the same problems, one a line.
    _, text, _ = run_cli("check", str(BAD / "bad_duration.yaml"))
    assert text.splitlines() == [p["text"] for p in document["problems"]]


@pytest.mark.parametrize(
    ("name", "expected", "suggestion"),
    [
        ("unknown_calendar", "one of 24x7, office-berlin", "office-berlin"),
        ("wrong_type", "true or false", None),
        ("bad_interval", "an interval like 09:00-17:00", None),
    ],
)
def test_check_json_reads_expected_and_suggestion_from_the_message(
    run_cli: RunCli, name: str, expected: str, suggestion: str | None
) -> None:
    _, out, _ = run_cli("check", "--format", "json", str(BAD / f"{name}.yaml"))
    found = [(p["expected"], p["suggestion"]) for p in json.loads(out)["problems"]]
    assert (expected, suggestion) in found


def test_check_json_of_clean_files_and_of_warnings_only(
    at_repo_root: Path, run_cli: RunCli
) -> None:
    status, out, _ = run_cli("check", "--format", "json", "policies/")
    assert status == 0
    assert json.loads(out) == {"ok": True, "errors": 0, "warnings": 0, "problems": []}
    status, out, _ = run_cli("check", "--format", "json", str(BAD / "channel_typo_warning.yaml"))
    document = json.loads(out)
    assert status == 0
    assert (document["ok"], document["errors"], document["warnings"]) == (True, 0, 1)
    (warning,) = document["problems"]
    assert (warning["code"], warning["severity"], warning["suggestion"]) == (
        "W201",
        "warning",
        "whatsapp",
    )


QUEUE_POLICY = """\
version: 1
policies:
  - name: desk
    calendar: 24x7
    metrics:
      first_response: {targets: 1h}
      resolution: {targets: 4h}
"""


@pytest.fixture
def queue_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state whose at-risk queue holds long ids, groups and assignees."""
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    (tmp_path / "p.yaml").write_text(QUEUE_POLICY, encoding="utf-8")
    policies = slaengine.load_policies(tmp_path / "p.yaml")
    engine = LiveEngine(policies, Store.open(tmp_path / "s.db"), lambda notification: ())
    try:
        events = [
            {
                "id": f"e{n}",
                "ticket": f"CUSTOMER-SUPPORT-{n:06d}",
                "type": "created",
                "at": f"2026-01-05T10:0{n}:00Z",
                "channel": "email",
                "priority": "urgent",
                "group": "second-level-billing",
                "assignee": "alexandra.longname@example.com",
            }
            for n in range(3)
        ]
        engine.ingest(events, NOW)
        engine.advance(1_767_610_800)  # 2026-01-05T11:00:00Z
    finally:
        engine.store.close()
    monkeypatch.chdir(tmp_path)
    return tmp_path


QUEUE = ("status", "--state", "s.db", "--due-within", "8h", "--at", "2026-01-05T11:00:00Z")


@pytest.mark.parametrize("width", [80, 100, 160])
def test_at_risk_queue_fits_and_keeps_ids_whole(
    queue_state: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    status, out, _ = run_cli(*QUEUE, "-p", "p.yaml")
    assert status == 0
    _lines_fit(out, width)
    assert "…" not in out
    assert "6 clocks" in out
    for n in range(3):
        assert f"CUSTOMER-SUPPORT-{n:06d}" in out
    assert "First response" in out  # by its label: the policies are given
    assert re.search(r"\b3h 2m\s+CUSTOMER-SUPPORT-000002\s+Resolution\b", out)
    if width >= 160:
        assert "second-level-billing" in out
        assert "alexandra.longname@example.com" in out
        assert "2026-01-05 11:00" in out
        assert "(times in UTC)" in out
    else:
        assert re.search(r"\b01-05 1[0-9]:[0-5][0-9]\b", out)
        assert "(times in UTC, 2026)" in out


def test_at_risk_queue_into_a_pipe_has_every_column(
    queue_state: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = run_cli(*QUEUE)
    for whole in ("second-level-billing", "alexandra.longname@example.com", "urgent"):
        assert whole in out
    assert "first_response" in out  # no policies: the stored name
    assert "2026-01-05 11:00" in out


def test_ticket_status_fits_80_columns_with_its_next_alert_whole(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    policy = QUEUE_POLICY.replace(
        "first_response: {targets: 1h}",
        "first_response: {targets: 1h, warn_at: [{at: 50%, notify: [team-lead]}]}",
    )
    (tmp_path / "p.yaml").write_text(policy, encoding="utf-8")
    engine = LiveEngine(
        slaengine.load_policies(tmp_path / "p.yaml"),
        Store.open(tmp_path / "s.db"),
        lambda notification: (),
    )
    try:
        engine.ingest(
            [
                {
                    "id": "e1",
                    "ticket": "CUSTOMER-SUPPORT-000001",
                    "type": "created",
                    "at": "2026-01-05T10:00:00Z",
                    "channel": "email",
                    "priority": "urgent",
                }
            ],
            NOW,
        )
    finally:
        engine.store.close()
    monkeypatch.chdir(tmp_path)
    argv = ("status", "--state", "s.db", "-p", "p.yaml", "CUSTOMER-SUPPORT-000001")
    for width in (80, 120):
        monkeypatch.setenv("COLUMNS", str(width))
        status, out, _ = run_cli(*argv, "--at", "2026-01-05T10:10:00Z")
        assert status == 0
        _lines_fit(out, width)
        assert "…" not in out
        assert "CUSTOMER-SUPPORT-000001 · policy desk" in out
        # By its label, as the at-risk queue and the reports name it.
        assert re.search(r"First response .*active .*50m +warning 1 at (2026-)?01-05 10:30", out)
        assert "first_response" not in out


LONG_PROBLEM = (
    "event 'created' at 'yesterday': 'at' must be an ISO 8601 instant with a UTC offset, "
    "e.g. 2026-01-05T10:00:00Z"
)
LONG_SENT = json.dumps(
    {"id": "e-000042", "ticket": "CUSTOMER-SUPPORT-000042", "type": "created", "at": "yesterday"}
)


@pytest.fixture
def rejects_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state holding two rejects with a long problem and a long text sent."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    store = Store.open(tmp_path / "s.db")
    try:
        rejects = [
            Reject("events.jsonl:4", LONG_PROBLEM, LONG_SENT),
            Reject("events.jsonl:7", "not valid JSON: Expecting value", None, "{[red]", 6),
        ]
        store.add_events([], NOW, rejects)
    finally:
        store.close()
    return tmp_path


@pytest.mark.parametrize("width", [80, 100, 160])
def test_rejects_table_fits_and_keeps_ids_whole(
    rejects_state: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    status, out, _ = run_cli("outbox", "--rejects", "--state", "s.db")
    assert status == 1
    _lines_fit(out, width)
    assert "…" not in out
    for whole in ("events.jsonl:4", "events.jsonl:7", "{[red]"):
        assert whole in out
    # One line per reject, with a preview of the text sent at least.
    assert re.search(r"^ 1  \S+.* events\.jsonl:4  " + re.escape(LONG_SENT[:16]), out, re.M)
    # The problem is read whole (wrapped at the screen's edge) under the table, by id.
    assert "1: " + LONG_PROBLEM in " ".join(out.split())
    assert "Problems (by id):" in out
    if width < 160:
        assert re.search(r"\b11-18 11:06\b", out)  # short times, the year in the title
        assert "(times in UTC, 2026)" in out


def test_rejects_table_into_a_pipe_has_every_column(
    rejects_state: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = run_cli("outbox", "--rejects", "--state", "s.db")
    line = next(line for line in out.splitlines() if "events.jsonl:4" in line)
    assert "2026-11-18 11:06" in line
    assert LONG_PROBLEM in line
    assert LONG_SENT[:57] + "..." in line
    assert "Problems (by id)" not in out


DEFINED_POLICY = """\
version: 1
metrics:
  time_to_own:
    label: Time to assignment
    start: created
    stop: assigned
  tier2_time:
    start: created
    stop: solved
policies:
  - name: desk
    calendar: 24x7
    metrics:
      time_to_own: {targets: 1h}
      tier2_time: {targets: 4h}
      resolution: {targets: 8h}
"""


def test_ticket_status_names_metrics_by_their_labels(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    (tmp_path / "p.yaml").write_text(DEFINED_POLICY, encoding="utf-8")
    engine = LiveEngine(
        slaengine.load_policies(tmp_path / "p.yaml"),
        Store.open(tmp_path / "s.db"),
        lambda notification: (),
    )
    try:
        created = {"id": "e1", "ticket": "T-1", "type": "created", "at": "2026-01-05T10:00:00Z"}
        assert (
            engine.ingest([{**created, "channel": "email", "priority": "high"}], NOW).accepted == 1
        )
    finally:
        engine.store.close()
    monkeypatch.chdir(tmp_path)
    argv = ("status", "--state", "s.db", "-p", "p.yaml", "T-1", "--at", "2026-01-05T10:10:00Z")
    status, out, err = run_cli(*argv)
    assert status == 0, err
    metrics = [line.split("  ")[0] for line in out.splitlines()[3:] if line.strip()]
    assert metrics == ["Time to assignment", "Tier2 time", "Resolution"], out
    # JSON keeps the names, with the definition's label beside its own.
    status, out, _ = run_cli(*argv, "--json")
    document = json.loads(out)
    assert [m["metric"] for m in document["metrics"]] == ["time_to_own", "tier2_time", "resolution"]
    assert document["metrics"][0]["metric_label"] == "Time to assignment"
