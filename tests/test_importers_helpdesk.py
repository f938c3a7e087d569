"""Zendesk, Freshdesk and mapped-CSV importers on samples written from the vendors' documentation.

Each sample gives the golden events; the tests then check what those events
mean for the clocks and KPIs (a private note is never a reply, the opening
request is counted once), and that a file of another kind stops the import.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from pathlib import Path

import pytest

import slaengine
from slaengine.audit.facts import ticket_facts
from slaengine.cli import main
from slaengine.event_parsing import parse_instant
from slaengine.importers import IMPORTERS, ImportFormatError, ImportOptions, ImportReport

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "importers"
CSV = SAMPLES / "csv"


def _import(
    kind: str, path: Path, zone: dt.tzinfo = dt.UTC, mapping: Path | None = None
) -> tuple[list[dict], ImportReport]:
    options = ImportOptions(timezone=zone, mapping=mapping)
    return list(IMPORTERS[kind].events(path, options)), options.report


def _golden(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _timelines(events: list[dict], status_map: dict[str, str] | None = None):
    parsed = [
        slaengine.parse_event(e, seq=n, status_map=status_map or {}) for n, e in enumerate(events)
    ]
    return slaengine.build_timelines(parsed)


def _facts(events: list[dict], ticket: str, status_map: dict[str, str] | None = None):
    timelines = _timelines(events, status_map)
    timeline = timelines.timelines[ticket]
    return ticket_facts(timeline, 2_000_000_000)


CASES = [
    ("zendesk", SAMPLES / "zendesk", None, "UTC", SAMPLES / "zendesk.expected.jsonl"),
    ("freshdesk", SAMPLES / "freshdesk", None, "UTC", SAMPLES / "freshdesk.expected.jsonl"),
    (
        "csv",
        CSV / "events.csv",
        CSV / "events.toml",
        "Europe/Berlin",
        CSV / "events.expected.jsonl",
    ),
    (
        "csv",
        CSV / "history.csv",
        CSV / "history.toml",
        "Europe/Lisbon",
        CSV / "history.expected.jsonl",
    ),
]


@pytest.mark.parametrize(
    ("kind", "path", "mapping", "zone", "golden"),
    CASES,
    ids=["zendesk", "freshdesk", "csv-events", "csv-history"],
)
def test_sample_gives_golden_events_that_all_parse(kind, path, mapping, zone, golden):
    events, _ = _import(kind, path, zoneinfo.ZoneInfo(zone), mapping)
    assert events == _golden(golden)
    status_map = {"freshdesk_6": "pending"} if kind == "freshdesk" else None
    timelines = _timelines(events, status_map)
    assert timelines.problems == []
    assert timelines.duplicates == 0
    assert len(timelines.timelines) == sum(e["type"] == "created" for e in events)


# -- Zendesk --------------------------------------------------------------------------------


def test_zendesk_audits_give_history_and_skip_the_description_comment():
    events, report = _import("zendesk", SAMPLES / "zendesk")
    by_id = {(e["ticket"], e["id"]): e for e in events}
    created = by_id["101", "created"]
    # First values come from the Create events, not the ticket's current ones.
    assert (created["priority"], created["status"], created["group"]) == ("high", "new", "Support")
    assert created["author"] == "customer"
    # The description comment (audit 9001) is the created event, not also a message.
    assert ("101", "e90011") not in by_id
    # A private comment is an internal note; the agent's name comes from side-loaded users.
    assert by_id["101", "e90021"] == {
        "id": "e90021", "ticket": "101", "at": "2025-03-03T09:20:00Z", "type": "message",
        "author": "agent", "agent": "Mia Agent", "public": False,
    }  # fmt: skip
    assert by_id["101", "e90053"]["status"] == "solved"
    assert by_id["101", "e90061"] == {
        "id": "e90061", "ticket": "101", "at": "2025-03-04T12:00:00Z", "type": "csat", "score": 1
    }  # fmt: skip
    # The rating list repeats ticket 101's rating: it is not counted twice.
    assert sum(e["type"] == "csat" and e["ticket"] == "101" for e in events) == 1
    assert [(s.reason, s.detail) for s in report.skipped] == [
        ("bad audit", "audits item 7: missing 'created_at'")
    ]
    assert report.notes == {"ticket without audits, ticket events or metrics (created only)": 1}


def test_zendesk_ticket_without_history_takes_first_reply_and_solve_from_its_metrics():
    events, _ = _import("zendesk", SAMPLES / "zendesk")
    ticket = [(e["id"], e["at"], e.get("status")) for e in events if e["ticket"] == "104"]
    # reply_time_in_minutes.calendar 95 after 10:00; solved_at; closed at status_updated_at.
    assert ticket == [
        ("created", "2025-03-06T10:00:00Z", "open"),
        ("first-reply", "2025-03-06T11:35:00Z", None),
        ("solved", "2025-03-06T11:36:00Z", "solved"),
        ("closed", "2025-03-10T10:00:00Z", "closed"),
    ]
    facts = _facts(events, "104")
    assert (facts.customer_messages, facts.answered_messages, facts.agent_replies) == (1, 1, 1)


def test_zendesk_ticket_events_map_children_with_and_without_comment_sideload():
    events, _ = _import("zendesk", SAMPLES / "zendesk")
    ticket = [(e["id"], e["type"], e.get("author"), e.get("status")) for e in events
              if e["ticket"] == "102"]  # fmt: skip
    assert ticket == [
        ("created", "created", "customer", "new"),
        ("e70021", "update", None, None),
        ("e70022", "message", "agent", None),
        ("e70023", "status", None, "solved"),
        ("e70031", "message", "customer", None),  # comment_present without the side-load
        ("e70032", "status", None, "open"),
    ]


def test_zendesk_facts_count_the_opening_request_once_and_notes_answer_nothing():
    events, _ = _import("zendesk", SAMPLES / "zendesk")
    facts = _facts(events, "101")
    # Opening request + one customer reply; both answered by later public agent replies.
    assert (facts.customer_messages, facts.answered_messages, facts.agent_replies) == (2, 2, 2)
    assert facts.csat == 1


def test_zendesk_first_response_is_the_public_reply_not_the_internal_note():
    events, _ = _import("zendesk", SAMPLES / "zendesk")
    policies = slaengine.load_policies(ROOT / "policies")
    timelines = _timelines(events)
    now = parse_instant("2025-03-10T00:00:00Z")
    results = {r.ticket: r for r in slaengine.iter_evaluate(policies, timelines, now)}
    first = next(c for c in results["101"].clocks if c.metric == "first_response")
    # The internal note at 09:20 does not stop it; the public reply at 10:05 does.
    assert first.stop == parse_instant("2025-03-03T10:05:00Z")


def test_zendesk_without_users_the_requester_is_the_customer(tmp_path):
    page = json.loads((SAMPLES / "zendesk" / "tickets.json").read_text(encoding="utf-8"))
    del page["users"]
    (tmp_path / "tickets.json").write_text(json.dumps(page), encoding="utf-8")
    for name in ("audits_101.json", "ticket_events.json"):
        (tmp_path / name).write_bytes((SAMPLES / "zendesk" / name).read_bytes())
    events, _ = _import("zendesk", tmp_path)
    authors = {e["id"]: (e["author"], e.get("agent")) for e in events
               if e["ticket"] == "101" and e["type"] == "message"}  # fmt: skip
    assert authors["e90041"] == ("customer", None)
    assert authors["e90031"] == ("agent", "601")  # no user list: the id


# -- Freshdesk ------------------------------------------------------------------------------


def test_freshdesk_private_note_is_never_a_reply_and_stats_give_statuses():
    events, report = _import("freshdesk", SAMPLES / "freshdesk")
    note = next(e for e in events if e["id"] == "c5001")
    assert (note["author"], note["public"]) == ("agent", False)
    facts = _facts(events, "1001", {"freshdesk_6": "pending"})
    # Replies at 10:30 and 10:00 next day; the note at 10:00 answers nothing.
    assert (facts.customer_messages, facts.answered_messages, facts.agent_replies) == (2, 2, 2)
    assert facts.solved
    assert facts.csat == 6
    statuses = [(e["ticket"], e["status"]) for e in events if e["type"] == "status"]
    assert statuses == [("1001", "solved"), ("1002", "pending"), ("1003", "freshdesk_6")]
    assert [s.reason for s in report.skipped] == ["conversations of a ticket not in the export"]


def test_freshdesk_outbound_email_is_opened_by_an_agent():
    events, _ = _import("freshdesk", SAMPLES / "freshdesk")
    created = next(e for e in events if e["ticket"] == "1003" and e["type"] == "created")
    assert (created["channel"], created["author"], created["priority"]) == ("email", "agent", "low")


def test_freshdesk_reads_json_lines(tmp_path):
    lines = tmp_path / "export.jsonl"
    tickets = json.loads((SAMPLES / "freshdesk" / "tickets.json").read_text(encoding="utf-8"))
    lines.write_text("\n".join(json.dumps(t) for t in tickets) + "\n", encoding="utf-8")
    events, _ = _import("freshdesk", lines)
    assert sum(e["type"] == "created" for e in events) == 2


# -- mapped CSV -----------------------------------------------------------------------------


def test_csv_mapping_reads_notes_skips_and_bad_rows():
    events, report = _import(
        "csv", CSV / "events.csv", zoneinfo.ZoneInfo("Europe/Berlin"), CSV / "events.toml"
    )
    note = next(e for e in events if e["id"] == "row3")
    assert (note["type"], note["author"], note["public"]) == ("message", "agent", False)
    assert sorted((s.line, s.reason) for s in report.skipped) == [
        (12, "bad event"),
        (13, "bad timestamp"),
        (14, "empty ticket"),
    ]
    assert report.notes == {"rows of a type the mapping skips": 1}
    facts = _facts(events, "C-1")
    assert (facts.customer_messages, facts.answered_messages) == (2, 2)


def test_csv_without_mapping_reads_canonical_columns(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text(
        "ticket,at,type,channel,priority,author,public\n"
        "T-1,2025-03-03T09:00:00Z,created,email,high,,\n"
        "T-1,2025-03-03T09:05:00Z,message,,,agent,no\n",
        encoding="utf-8",
    )
    events, _ = _import("csv", path)
    assert events[1] == {"id": "row3", "ticket": "T-1", "at": "2025-03-03T09:05:00Z",
                         "type": "message", "author": "agent", "public": False}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[columns]\nticket = 'a'\n", "needs 'at'"),
        ("[columns]\nticket = 'a'\nat = 'b'\nwho = 'c'\n", "'who' is not an event key"),
        ("[columns\n", "not a valid TOML mapping"),
        (
            "[columns]\nticket='a'\nat='b'\ntype='c'\n[values.type]\nX = 'reply'\n",
            "expected one of",
        ),
        ("[colums]\n", "unknown section(s) colums"),
    ],
    ids=["missing-at", "unknown-key", "toml", "bad-type", "section"],
)
def test_csv_bad_mapping_is_a_user_error(tmp_path, capsys, text, message):
    mapping = tmp_path / "m.toml"
    mapping.write_text(text, encoding="utf-8")
    assert main(["import", "csv", str(CSV / "events.csv"), "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "m.toml" in err


# -- wrong kinds: exit 2, the file named, nothing written -----------------------------------


@pytest.mark.parametrize(
    ("kind", "path", "guess"),
    [
        ("volvo", SAMPLES / "servicenow_sample.csv", "servicenow"),
        ("servicenow", SAMPLES / "volvo_sample.csv", "volvo"),
        ("zendesk", SAMPLES / "freshdesk" / "tickets.json", "freshdesk"),
        ("freshdesk", SAMPLES / "zendesk" / "tickets.json", "zendesk"),
        ("twitter", SAMPLES / "zendesk" / "audits_101.json", "zendesk"),
        ("zendesk", SAMPLES / "twcs_sample.csv", "twitter"),
        ("csv", SAMPLES / "cdp_sample.json", "twitter"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_wrong_kind_exits_2_naming_the_file_and_writes_nothing(kind, path, guess, tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    assert main(["import", kind, str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: not " in err
    assert f"slaengine import {guess} {path}" in err
    assert list(tmp_path.iterdir()) == []


def test_empty_file_is_not_an_export(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="the file is empty"):
        _import("volvo", empty)


def test_real_servicenow_given_as_volvo_is_a_clear_error(capsys, tmp_path):
    path = ROOT.parent / "shared" / "data" / "real" / "servicenow_incident_log"
    path /= "incident_event_log.csv"
    if not path.exists():
        pytest.skip("real data not present")
    out = tmp_path / "volvo.jsonl"
    assert main(["import", "volvo", str(path), "-o", str(out)]) == 2
    assert "not a Volvo VINST incident log" in capsys.readouterr().err
    assert not out.exists()


def test_timezone_and_tz_are_one_option(capsys):
    for option in ("--tz", "--timezone"):
        argv = ["import", "csv", str(CSV / "history.csv"), "--mapping", str(CSV / "history.toml")]
        assert main([*argv, option, "Europe/Lisbon"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [json.loads(line) for line in lines] == _golden(CSV / "history.expected.jsonl")


def test_csv_keeps_custom_statuses_for_the_policy_to_map(tmp_path):
    path = tmp_path / "custom.csv"
    path.write_text(
        "ticket,at,type,channel,priority,status\n"
        "T-1,2025-03-03T09:00:00Z,created,email,high,\n"
        "T-1,2025-03-03T09:05:00Z,status,,,waiting_on_customer\n",
        encoding="utf-8",
    )
    events, report = _import("csv", path)
    assert events[1]["status"] == "waiting_on_customer"
    assert report.skipped == []
    parsed = slaengine.parse_event(events[1], status_map={"waiting_on_customer": "pending"})
    assert parsed.status == "pending"


def test_mapping_is_for_the_csv_kind_and_must_exist(tmp_path, capsys):
    mapping = CSV / "events.toml"
    assert (
        main(["import", "volvo", str(SAMPLES / "volvo_sample.csv"), "--mapping", str(mapping)]) == 2
    )
    assert "--mapping is for the csv kind only" in capsys.readouterr().err
    missing = tmp_path / "nope.toml"
    assert main(["import", "csv", str(CSV / "events.csv"), "--mapping", str(missing)]) == 2
    assert f"--mapping: cannot read {missing}" in capsys.readouterr().err


def test_summary_counts_in_the_right_number(capsys):
    assert main(["import", "zendesk", str(SAMPLES / "zendesk")]) == 0
    err = capsys.readouterr().err
    assert "zendesk: 17 rows read, 26 events written, 4 tickets, 1 row skipped (1 bad audit)" in err


# -- malformed exports: reported and skipped, never a crash ---------------------------------

GARBAGE = [
    ("zendesk", {"tickets": [1, "x", {"id": 1}, {"id": 2, "created_at": "bad"}]}),
    ("zendesk", {"audits": [{"ticket_id": 1, "created_at": "2025-01-01T00:00:00Z",
                             "events": [1, {"type": "Change", "field_name": "tags", "value": 5},
                                        {"type": "Comment", "public": "yes"}]}]}),
    ("zendesk", {"users": [{"x": 1}, 5, None], "groups": [{"name": "a"}, 3], "tickets": []}),
    ("zendesk", {"satisfaction_ratings": [{"score": "good"}, 7]}),
    ("zendesk", {"ticket_events": [{"ticket_id": 1, "timestamp": "x"},
                                   {"ticket_id": 2, "timestamp": 1700000000,
                                    "child_events": [5, {"event_type": "Change", "status": []}]}]}),
    ("zendesk", {"metric_sets": [{"ticket_id": 3, "reply_time_in_minutes": {"calendar": "x"},
                                  "solved_at": "bad"}],
                 "tickets": [{"id": 3, "created_at": "2025-01-01T00:00:00Z", "status": "solved"}]}),
    ("freshdesk", [{"id": 1, "requester_id": 2, "created_at": "2025-01-01T00:00:00Z", "status": 9,
                    "priority": "high", "source": "web", "tags": 5, "custom_fields": [1]}]),
    ("freshdesk", [{"id": 1, "requester_id": 2, "created_at": "2025-01-01T00:00:00Z", "status": 2},
                   {"ticket_id": 1, "incoming": True},
                   {"ticket_id": 1, "private": True, "created_at": "bad"},
                   {"ticket_id": 1, "ratings": 5}]),
    ("freshdesk", [{"id": 10, "requester_id": 2, "created_at": "2025-01-01T00:00:00Z",
                    "status": 5}]),
]  # fmt: skip
# Documents whose junk is only ignored (no usable item was lost), not reported.
IGNORED = (1, 2)


@pytest.mark.parametrize("case", range(len(GARBAGE)))
def test_malformed_items_are_reported_not_raised(case, tmp_path):
    kind, document = GARBAGE[case]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    events, report = _import(kind, path)
    assert bool(report.skipped) is (case not in IGNORED)
    for event in events:
        slaengine.parse_event(event, status_map={"freshdesk_9": "open"})


@pytest.mark.parametrize(
    ("kind", "sample", "golden"),
    [
        ("volvo", SAMPLES / "volvo_sample.csv", SAMPLES / "volvo_sample.expected.jsonl"),
        ("twitter", SAMPLES / "twcs_sample.csv", SAMPLES / "twcs_sample.expected.jsonl"),
        ("twitter", SAMPLES / "cdp_sample.json", SAMPLES / "cdp_sample.expected.jsonl"),
        ("freshdesk", SAMPLES / "freshdesk" / "tickets.json", None),
    ],
    ids=["volvo", "twcs", "cdp", "freshdesk"],
)
def test_gzip_exports_read_like_plain_ones(kind, sample, golden, tmp_path):
    import gzip

    packed = tmp_path / (sample.name + ".gz")
    packed.write_bytes(gzip.compress(sample.read_bytes()))
    events, _ = _import(kind, packed)
    plain, _ = _import(kind, sample)
    assert events == plain
    if golden is not None:
        assert events == _golden(golden)


@pytest.mark.parametrize("kind", sorted(IMPORTERS))
def test_binary_file_is_another_kind_not_a_crash(kind, tmp_path, capsys):
    junk = tmp_path / ("junk.json" if kind in {"zendesk", "freshdesk"} else "junk.csv")
    junk.write_bytes(bytes(range(256)) * 8)
    assert main(["import", kind, str(junk)]) == 2
    err = capsys.readouterr().err
    assert f"{junk}: not " in err
    assert "Traceback" not in err


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    marked = tmp_path / "volvo.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + (SAMPLES / "volvo_sample.csv").read_bytes())
    events, _ = _import("volvo", marked)
    assert events == _golden(SAMPLES / "volvo_sample.expected.jsonl")
    page = tmp_path / "tickets.json"
    page.write_bytes(b"\xef\xbb\xbf" + (SAMPLES / "zendesk" / "tickets.json").read_bytes())
    events, _ = _import("zendesk", page)
    assert sum(e["type"] == "created" for e in events) == 4
