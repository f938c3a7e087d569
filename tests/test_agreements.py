"""Internal agreements (OLAs, underpinning contracts) beside the customer SLA, end to end.

A ticket with a customer SLA, an OLA that attaches when group tier2 takes the ticket and
an underpinning contract counted from creation: evaluate (JSON, CSV, table), the Python
API, and ``slaengine check`` on bad agreements.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

import slaengine
from slaengine.cli import main
from slaengine.errors import PolicyError
from slaengine.policy import loads_policies

POLICY = """\
version: 1
policies:
  - name: customer-sla
    match: {channel: email}
    metrics:
      first_response: {targets: 4h}
      resolution: {targets: 24h}
agreements:
  - name: tier2-ola
    kind: ola
    match: {group: tier2}
    metrics:
      first_response: {targets: 1h, escalations: [{after: 0m}]}
      resolution: {targets: 8h}
  - name: vendor-uc
    kind: underpinning
    starts: created
    match: {tags: [waiting-vendor]}
    metrics:
      resolution: {targets: 4h}
  - name: never
    match: {group: nobody}
    metrics:
      resolution: {targets: 1h}
"""
# Created in tier1, handed to tier2 at 10:00 and back to tier1 at 13:00, solved at 15:00.
EVENTS = [
    ("09:00", "created", {"channel": "email", "priority": "high", "group": "tier1"}),
    ("09:30", "message", {"author": "agent", "agent": "ann"}),
    ("10:00", "update", {"group": "tier2"}),
    ("11:30", "message", {"author": "agent", "agent": "bob"}),
    ("12:00", "update", {"tags": ["waiting-vendor"]}),
    ("13:00", "update", {"group": "tier1"}),
    ("15:00", "status", {"status": "solved"}),
]
NOW = "2026-03-02T16:00:00Z"


def event_rows(events=EVENTS, ticket="T-1"):
    return [
        {"ticket": ticket, "at": f"2026-03-02T{at}:00Z", "type": kind, **extra}
        for at, kind, extra in events
    ]


def write_events(tmp_path: Path, rows) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def evaluate_cli(tmp_path, capsys, fmt, policy=POLICY, rows=None):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy, encoding="utf-8")
    events = write_events(tmp_path, event_rows() if rows is None else rows)
    code = main(["evaluate", "-p", str(policy_file), "-e", str(events), "--at", NOW, "-f", fmt])
    assert code == 0
    return capsys.readouterr().out


def test_evaluate_json_names_each_agreement(tmp_path, capsys):
    [ticket] = [json.loads(line) for line in evaluate_cli(tmp_path, capsys, "json").splitlines()]
    assert ticket["policy"] == "customer-sla"
    summary = [
        (c.get("agreement"), c["metric"], c["state"], c["start"][11:16], c["stop"][11:16],
         c["elapsed_seconds"])
        for c in ticket["metrics"]
    ]  # fmt: skip
    assert summary == [
        (None, "first_response", "achieved", "09:00", "09:30", 1800),
        (None, "resolution", "achieved", "09:00", "15:00", 6 * 3600),
        # The OLA attached at 10:00: its clocks count from there.
        ("tier2-ola", "first_response", "breached", "10:00", "11:30", 5400),
        ("tier2-ola", "resolution", "achieved", "10:00", "15:00", 5 * 3600),
        # starts: created counts from the ticket's creation, though it attached at 12:00.
        ("vendor-uc", "resolution", "breached", "09:00", "15:00", 6 * 3600),
    ]
    # The customer SLA's clocks carry no new key: their JSON reads as before.
    assert "agreement" not in ticket["metrics"][0]
    escalation = ticket["metrics"][2]["alerts"][0]
    assert escalation == {
        "kind": "escalation",
        "level": 1,
        "at": "2026-03-02T11:00:00Z",
        "notify": [],
    }


def test_evaluate_csv_and_table_name_the_agreement(tmp_path, capsys):
    rows = list(csv.DictReader(io.StringIO(evaluate_cli(tmp_path, capsys, "csv"))))
    assert [(r["agreement"], r["metric"]) for r in rows] == [
        ("", "first_response"),
        ("", "resolution"),
        ("tier2-ola", "first_response"),
        ("tier2-ola", "resolution"),
        ("vendor-uc", "resolution"),
    ]
    table = evaluate_cli(tmp_path, capsys, "table")
    assert "tier2-ola: first_response" in table
    assert "vendor-uc: resolution" in table


def test_an_agreement_applies_without_a_customer_sla(tmp_path, capsys):
    rows = event_rows()
    rows[0]["channel"] = "chat"  # the customer SLA covers email only
    [ticket] = [
        json.loads(line) for line in evaluate_cli(tmp_path, capsys, "json", rows=rows).splitlines()
    ]
    assert ticket["policy"] is None
    assert [c["agreement"] for c in ticket["metrics"]] == ["tier2-ola", "tier2-ola", "vendor-uc"]


def test_python_api_reports_the_attached_agreements(tmp_path):
    policies = loads_policies(POLICY, "policy.yaml")
    assert [(a.name, a.kind, a.starts) for a in policies.agreements] == [
        ("tier2-ola", "ola", "attached"),
        ("vendor-uc", "underpinning", "created"),
        ("never", "ola", "attached"),
    ]
    timelines = slaengine.read_events(write_events(tmp_path, event_rows()))
    at = dt.datetime(2026, 3, 2, 11, tzinfo=dt.UTC)  # before the tag: vendor-uc not attached
    [result] = slaengine.evaluate(policies, timelines, at)
    assert [a.name for a in result.agreements] == ["tier2-ola"]
    ola_clock = result.clocks[2]
    assert result.policy_of(ola_clock) is policies.agreements[0].policy
    assert result.policy_of(result.clocks[0]) is result.policy


def test_no_agreements_leaves_results_as_before(tmp_path):
    plain = POLICY.split("agreements:", maxsplit=1)[0]
    policies = loads_policies(plain, "policy.yaml")
    assert policies.agreements == ()
    timelines = slaengine.read_events(write_events(tmp_path, event_rows()))
    [result] = slaengine.evaluate(policies, timelines, dt.datetime(2026, 3, 2, 16, tzinfo=dt.UTC))
    assert result.agreements == ()
    assert [c.agreement for c in result.clocks] == [None, None]


BAD = """\
version: 1
policies:
  - name: customer-sla
    metrics:
      resolution: {targets: 24h}
agreements:
  - name: tier2-ola
    kind: olaa
    starts: later
    match: {group: tier2}
    metrics:
      resolution: {targets: 8h}
  - name: tier2-ola
    calendar: nowhere
    metrics:
      resolutoin: {targets: 8h}
  - name: customer-sla
    metrics:
      resolution: {targets: 8h}
"""


def test_check_reports_bad_agreements_with_line_and_column(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    lines = [line.replace(str(path), "bad.yaml") for line in capsys.readouterr().out.splitlines()]
    assert lines[:6] == [
        "bad.yaml:8:11: E214 unknown value 'olaa' for 'kind'; expected one of ola, "
        "underpinning; did you mean 'ola'?",
        "bad.yaml:9:13: E214 unknown value 'later' for 'starts'; expected one of attached, created",
        "bad.yaml:13:11: E302 agreement name 'tier2-ola' is already used at bad.yaml:7; "
        "names of policies and agreements must be unique",
        "bad.yaml:14:15: E301 unknown calendar 'nowhere'; expected one of 24x7",
        "bad.yaml:16:7: E101 unknown metric 'resolutoin' in agreement 'tier2-ola'; expected "
        "one of first_response, next_response, periodic_update, resolution; did you mean "
        "'resolution'?",
        "bad.yaml:17:11: E302 agreement name 'customer-sla' is already used at bad.yaml:3; "
        "names of policies and agreements must be unique",
    ]


def test_agreement_names_are_unique_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        "version: 1\nagreements:\n  - name: tier2-ola\n    metrics:\n"
        "      resolution: {targets: 1h}\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        slaengine.load_policies(tmp_path)
    message = str(caught.value)
    assert "b.yaml:3:11: E302 agreement name 'tier2-ola' is already used at " in message
    assert "a.yaml:9; names of policies and agreements must be unique" in message


def test_schema_knows_agreements():
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML

    from slaengine.policy.schema import policy_schema

    validator = Draft202012Validator(policy_schema())
    assert list(validator.iter_errors(YAML(typ="safe").load(POLICY))) == []
    bad = YAML(typ="safe").load(POLICY.replace("kind: ola", "kind: olaa"))
    assert [e.message for e in validator.iter_errors(bad)] == [
        "'olaa' is not one of ['ola', 'underpinning']"
    ]
    unknown = YAML(typ="safe").load(POLICY.replace("kind: ola", "kinds: ola"))
    assert list(validator.iter_errors(unknown))


def test_fmt_keeps_what_agreements_say():
    from slaengine.policy.fmt import format_text

    head, tail = POLICY.split("agreements:\n")
    messy = head + "agreements:\n" + "".join("  " + line for line in tail.splitlines(True))
    tidy = format_text(messy, "policy.yaml")
    assert "  - name: tier2-ola\n    kind: ola\n" in tidy
    before, after = loads_policies(POLICY), loads_policies(tidy)
    assert [
        (
            a.name,
            a.kind,
            a.starts,
            a.policy.match,
            [(m.kind, dict(m.targets)) for m in a.policy.metrics],
        )
        for a in after.agreements
    ] == [
        (
            a.name,
            a.kind,
            a.starts,
            a.policy.match,
            [(m.kind, dict(m.targets)) for m in a.policy.metrics],
        )
        for a in before.agreements
    ]
