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
from slaengine.event_parsing import parse_instant
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


# -- the readers: explain, audit, whatif, live notifications ------------------------


def _explain_json(tmp_path, capsys):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY, encoding="utf-8")
    events = write_events(tmp_path, event_rows())
    code = main(
        ["explain", "-p", str(policy_file), "-e", str(events), "--ticket", "T-1", "--at", NOW,
         "--json"]
    )  # fmt: skip
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_explain_says_when_each_agreement_attached_and_whose_each_clock_is(tmp_path, capsys):
    doc = _explain_json(tmp_path, capsys)
    assert doc["agreements"] == [
        {
            "name": "tier2-ola",
            "kind": "ola",
            "starts": "attached",
            "attached": "2026-03-02T10:00:00Z",
            "line": 3,
            "conditions": ["group 'tier2' in ['tier2']"],
        },
        {
            "name": "vendor-uc",
            "kind": "underpinning",
            "starts": "created",
            "attached": "2026-03-02T12:00:00Z",
            "line": 5,
            "conditions": ["has tag ['waiting-vendor'] of ['waiting-vendor']"],
        },
    ]
    clocks = [(c.get("agreement"), c["metric"], c["start_line"], c["stop_text"]) for c in
              doc["metrics"]]  # fmt: skip
    assert clocks == [
        (None, "first_response", 1, "fulfilled by ann's reply"),
        (None, "resolution", 1, "ticket solved"),
        ("tier2-ola", "first_response", 3, "fulfilled by bob's reply"),
        ("tier2-ola", "resolution", 3, "ticket solved"),
        ("vendor-uc", "resolution", 1, "ticket solved"),
    ]
    assert [(c.get("agreement"), c["metric"]) for c in doc["calendars"]] == [
        (None, "first_response"),
        (None, "resolution"),
        ("tier2-ola", "first_response"),
        ("tier2-ola", "resolution"),
        ("vendor-uc", "resolution"),
    ]
    policy_file = tmp_path / "policy.yaml"
    code = main(
        ["explain", "-p", str(policy_file), "-e", str(tmp_path / "events.jsonl"), "--ticket",
         "T-1", "--at", NOW]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "Agreement tier2-ola (ola) attached at Mon 2026-03-02 10:00 (line 3)" in text
    assert "tier2-ola: first_response breached" in text


def _audit_json(tmp_path, capsys, by):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY, encoding="utf-8")
    rows = event_rows() + event_rows(EVENTS[:3], ticket="T-2")  # T-2: with tier2, unanswered
    events = write_events(tmp_path, rows)
    code = main(
        ["audit", "-p", str(policy_file), "-e", str(events), "--at", NOW, "--json", "--by", by,
         "--breaches", str(tmp_path / "breaches.csv")]
    )  # fmt: skip
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_audit_by_agreement(tmp_path, capsys):
    doc = _audit_json(tmp_path, capsys, "agreement")
    rows = {
        row["key"]["agreement"]: (row["tickets"], row["compliance"]["achieved"],
                                  row["compliance"]["breached"], row["compliance"]["active"])
        for row in doc["groups"]
    }  # fmt: skip
    assert rows == {
        # T-1: both achieved; T-2: first_response answered at 09:30, resolution running.
        "customer-sla": (2, 3, 0, 1),
        # T-1: first_response breached, resolution achieved; T-2: both running since 10:00,
        # first_response over its hour, resolution at 6h of 8h.
        "tier2-ola": (2, 1, 2, 1),
        "vendor-uc": (1, 0, 1, 0),
    }
    metrics = {m for row in doc["groups"] for m in row["metrics"]}
    assert metrics == {
        "first_response",
        "resolution",
        "tier2-ola/first_response",
        "tier2-ola/resolution",
        "vendor-uc/resolution",
    }
    text = (tmp_path / "breaches.csv").read_text(encoding="utf-8")
    breaches = list(csv.DictReader(io.StringIO(text)))
    assert sorted((b["ticket"], b["agreement"], b["metric"]) for b in breaches) == [
        ("T-1", "tier2-ola", "first_response"),
        ("T-1", "vendor-uc", "resolution"),
        ("T-2", "tier2-ola", "first_response"),
    ]


def test_worst_offenders_put_breaches_under_their_own_agreement(tmp_path, capsys):
    # Audited by channel (no agreement view asked for): the customer SLA breached nothing,
    # so it must not be blamed for the OLA's and the underpinning contract's breaches.
    doc = _audit_json(tmp_path, capsys, "channel")
    worst = {row["policy"]: row["breached"] for row in doc["worst_offenders"]["policy"]}
    assert worst == {"tier2-ola": 2, "vendor-uc": 1}


def test_audit_html_has_a_table_per_agreement(tmp_path, capsys):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY, encoding="utf-8")
    events = write_events(tmp_path, event_rows())
    page = tmp_path / "audit.html"
    code = main(
        ["audit", "-p", str(policy_file), "-e", str(events), "--at", NOW, "--by", "agreement",
         "--html", str(page)]
    )  # fmt: skip
    assert code == 0
    html = page.read_text(encoding="utf-8")
    assert '<section id="agreements"><h2>By agreement</h2>' in html
    assert "<td class=name>tier2-ola</td><td>tier2-ola: First response</td>" in html
    assert "tier2-ola: First response achieved" in html  # the headline card


def test_whatif_compares_each_agreements_clocks_apart(tmp_path):
    from slaengine.whatif import backtest

    old = loads_policies(POLICY, "old.yaml")
    new = loads_policies(POLICY.replace("first_response: {targets: 1h", "first_response: "
                                        "{targets: 2h"), "new.yaml")  # fmt: skip
    timelines = slaengine.read_events(write_events(tmp_path, event_rows()))
    now = parse_instant(NOW)
    result = backtest(old, new, timelines.timelines.values(), now)
    assert [(f.metric, f.instance, f.old, f.new) for f in result.flips] == [
        ("tier2-ola/first_response", 1, "breached", "achieved")
    ]
    assert result.total("first_response").old_met == 1  # the customer SLA's, untouched
    assert result.total("tier2-ola/first_response").new_met == 1


def test_live_notifications_and_open_clocks_name_the_agreement(tmp_path):
    from slaengine.live import LiveEngine, Store

    policies = loads_policies(POLICY, "policy.yaml")
    store = Store.open(str(tmp_path / "state.db"))
    try:
        engine = LiveEngine(policies, store, lambda n: ("ops",))
        base = parse_instant("2026-03-02T09:00:00Z")
        rows = [dict(row, id=f"e{i}") for i, row in enumerate(event_rows(EVENTS[:3]))]
        engine.ingest(rows, base + 3600)
        report = engine.advance(base + 3 * 3600)  # 12:00
        keys = sorted(n.key for n in report.notifications)
        # The OLA's first_response (attached 10:00, 1h) breached at 11:00; the customer
        # SLA's first_response was answered at 09:30 and reached its achievement.
        assert keys == [
            "T-1/first_response/1/achieved/0",
            "T-1/tier2-ola/first_response/1/breach/0",
            "T-1/tier2-ola/first_response/1/escalation/1",
        ]
        payloads = {
            row.key: json.loads(row.payload) for row in store.outbox() if row.recipient == "ops"
        }
        breach = payloads["T-1/tier2-ola/first_response/1/breach/0"]
        assert (breach["agreement"], breach["metric"], breach["policy"]) == (
            "tier2-ola",
            "first_response",
            "customer-sla",
        )
        assert "agreement" not in payloads["T-1/first_response/1/achieved/0"]
        status = engine.status("T-1", base + 3 * 3600)
        assert [(m.agreement, m.metric, m.state) for m in status.metrics] == [
            (None, "first_response", "achieved"),
            (None, "resolution", "active"),
            ("tier2-ola", "first_response", "breached"),
            ("tier2-ola", "resolution", "active"),
        ]
        assert status.to_dict()["metrics"][2]["agreement"] == "tier2-ola"
        # Two clocks of one metric, one ticket, both open: the store keeps them apart.
        open_clocks = [(c.agreement, c.metric, c.state) for c in store.open_clocks("T-1")]
        assert sorted(open_clocks, key=str) == sorted(
            [(None, "resolution", "active"), ("tier2-ola", "first_response", "breached"),
             ("tier2-ola", "resolution", "active")],
            key=str,
        )  # fmt: skip
        queue = store.at_risk(base + 10 * 3600)  # the customer's resolution is due later
        assert {(c.agreement, c.metric) for c in queue} == {
            ("tier2-ola", "first_response"),
            ("tier2-ola", "resolution"),
        }
        assert [c.to_dict(base)["agreement"] for c in queue if c.agreement] == [
            "tier2-ola",
            "tier2-ola",
        ]
    finally:
        store.close()


def test_policy_tests_read_the_customer_slas_clocks(tmp_path, capsys):
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "t.yaml").write_text(
        """\
- name: the OLA's breached first response is not the customer's
  timeline:
    - {at: 2026-03-02T09:00:00Z, type: created, channel: email, priority: high, group: tier2}
    - {at: 2026-03-02T11:00:00Z, type: message, author: agent}
  at: 2026-03-02T12:00:00Z
  policy: customer-sla
  expect:
    - {metric: first_response, state: achieved}
""",
        encoding="utf-8",
    )
    assert main(["test", "--policies", str(tmp_path / "policy.yaml"), str(tests)]) == 0
    # The customer SLA measures no next_response; the OLA's does not count for it.
    (tmp_path / "policy.yaml").write_text(
        POLICY.replace("      resolution: {targets: 8h}\n", "      next_response: {targets: 8h}\n"),
        encoding="utf-8",
    )
    (tests / "t.yaml").write_text(
        """\
- name: only the OLA measures next_response
  timeline:
    - {at: 2026-03-02T09:00:00Z, type: created, channel: email, priority: high, group: tier2}
    - {at: 2026-03-02T10:00:00Z, type: message, author: agent}
    - {at: 2026-03-02T11:00:00Z, type: message, author: customer}
  at: 2026-03-02T12:00:00Z
  policy: customer-sla
  absent: [next_response]
""",
        encoding="utf-8",
    )
    assert main(["test", "--policies", str(tmp_path / "policy.yaml"), str(tests)]) == 0
