"""Agreements that stop matching: ``on_unmatch: detach`` (an OLA applies while its group
holds the ticket), read by evaluate, explain, audit, whatif, the live engine and check."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from slaengine.cli import main
from slaengine.event_parsing import parse_instant
from slaengine.policy import loads_policies

POLICY = """\
version: 1
policies:
  - name: customer-sla
    metrics:
      first_response: {targets: 4h}
      resolution: {targets: 24h}
agreements:
  - name: tier2-ola
    match: {group: tier2}
    on_unmatch: detach
    metrics:
      first_response: {targets: 1h, warn_at: [50%], escalations: [{after: 0m}, {after: 5h}]}
      resolution: {targets: 8h, pause_when: [pending]}
"""
KEEP = POLICY.replace("    on_unmatch: detach\n", "")
# Tier1 takes it, tier2 from 10:00 (pending 12:00-12:30), back to tier1 at 13:00 (detach),
# tier2 again at 14:00 (attached again), bob answers at 14:30, solved at 15:00.
EVENTS = [
    ("09:00", "created", {"channel": "email", "priority": "high", "group": "tier1"}),
    ("09:30", "message", {"author": "agent", "agent": "ann"}),
    ("10:00", "update", {"group": "tier2"}),
    ("12:00", "status", {"status": "pending"}),
    ("12:30", "status", {"status": "open"}),
    ("13:00", "update", {"group": "tier1"}),
    ("14:00", "update", {"group": "tier2"}),
    ("14:30", "message", {"author": "agent", "agent": "bob"}),
    ("15:00", "status", {"status": "solved"}),
]
NOW = "2026-03-02T16:00:00Z"


def rows(events=EVENTS, ticket="T-1"):
    return [
        {"ticket": ticket, "at": f"2026-03-02T{at}:00Z", "type": kind, **extra}
        for at, kind, extra in events
    ]


def files(tmp_path: Path, policy=POLICY, events=None) -> tuple[str, str]:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy, encoding="utf-8")
    events_file = tmp_path / "events.jsonl"
    lines = rows() if events is None else events
    events_file.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return str(policy_file), str(events_file)


def ola_clocks(tmp_path, capsys, policy=POLICY):
    policy_file, events = files(tmp_path, policy)
    assert main(["evaluate", "-p", policy_file, "-e", events, "--at", NOW, "-f", "json"]) == 0
    [ticket] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [c for c in ticket["metrics"] if c.get("agreement") == "tier2-ola"]


def test_detach_stops_running_clocks_and_a_new_match_starts_new_instances(tmp_path, capsys):
    clocks = ola_clocks(tmp_path, capsys)
    summary = [
        (c["metric"], c["instance"], c["state"], c["start"][11:16], c["stop"][11:16],
         c["stop_reason"], c["elapsed_seconds"])
        for c in clocks
    ]  # fmt: skip
    assert summary == [
        # Unanswered when tier2 handed it back: breached (3h of 1h), stopped at the detach.
        ("first_response", 1, "breached", "10:00", "13:00", "detached", 3 * 3600),
        # 3h less the pending half hour, within 8h: cancelled, not achieved.
        ("resolution", 1, "cancelled", "10:00", "13:00", "detached", 9000),
        # Attached again at 14:00: new instances, counted from there.
        ("first_response", 2, "achieved", "14:00", "14:30", "fulfilled", 1800),
        ("resolution", 2, "achieved", "14:00", "15:00", "solved", 3600),
    ]
    first = clocks[0]
    # What it reached before the detach stays; the 5h escalation it never reaches.
    assert [(a["kind"], a["level"], a["at"]) for a in first["alerts"]] == [
        ("warning", 1, "2026-03-02T10:30:00Z"),
        ("escalation", 1, "2026-03-02T11:00:00Z"),
        ("escalation", 2, None),
    ]
    assert clocks[1]["pauses"] == [{"from": "2026-03-02T12:00:00Z", "to": "2026-03-02T12:30:00Z"}]


def test_keep_is_the_default_and_leaves_clocks_as_before(tmp_path, capsys):
    clocks = ola_clocks(tmp_path, capsys, KEEP)
    assert [(c["metric"], c["instance"], c["state"], c["stop"][11:16]) for c in clocks] == [
        ("first_response", 1, "breached", "14:30"),
        ("resolution", 1, "achieved", "15:00"),
    ]
    assert loads_policies(KEEP).agreements[0].on_unmatch == "keep"


def test_detach_while_paused_closes_the_pause_and_the_csv_says_detached(tmp_path, capsys):
    events = [e for e in EVENTS if e[0] != "12:30"]  # pending from 12:00 to the detach
    policy_file, path = files(tmp_path, events=rows(events))
    assert main(["evaluate", "-p", policy_file, "-e", path, "--at", NOW, "-f", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    [resolution] = [
        r for r in table if r["agreement"] == "tier2-ola" and r["metric"] == "resolution"
    ][:1]
    assert (resolution["state"], resolution["stop_reason"], resolution["elapsed_seconds"]) == (
        "cancelled",
        "detached",
        "7200",
    )


def test_starts_created_counts_only_the_first_attachment_from_creation(tmp_path, capsys):
    policy = POLICY.replace("on_unmatch: detach\n", "on_unmatch: detach\n    starts: created\n")
    clocks = ola_clocks(tmp_path, capsys, policy)
    assert [(c["metric"], c["instance"], c["start"][11:16]) for c in clocks] == [
        ("first_response", 1, "09:00"),  # from creation: ann's 09:30 reply fulfils it
        ("resolution", 1, "09:00"),
        ("first_response", 2, "14:00"),  # a re-attachment counts from its own event
        ("resolution", 2, "14:00"),
    ]
    assert clocks[0]["stop_reason"] == "fulfilled"


def test_explain_says_when_and_why_it_detached_and_attached_again(tmp_path, capsys):
    policy_file, events = files(tmp_path)
    args = ["explain", "-p", policy_file, "-e", events, "--ticket", "T-1", "--at", NOW]
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [
        (a["attached"][11:16], a["line"], a.get("attachment"), a.get("detached"), a.get("failed"))
        for a in doc["agreements"]
    ] == [
        ("10:00", 3, None, "2026-03-02T13:00:00Z", ["group 'tier1' not in ['tier2']"]),
        ("14:00", 7, 2, None, None),
    ]
    assert doc["agreements"][0]["detached_line"] == 6
    stops = [(c["metric"], c["stop_text"]) for c in doc["metrics"] if c.get("agreement")]
    assert stops[0] == (
        "first_response",
        "tier2-ola detached: its match stopped holding (on_unmatch: detach)",
    )
    assert main(args) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Detached at Mon 2026-03-02 13:00 (line 6): group 'tier1' not in ['tier2']" in text
    assert "tier2-ola (ola) attached again at Mon 2026-03-02 14:00 (line 7)" in text


def test_audit_counts_a_detached_clock_as_cancelled_not_as_a_completed_duration(tmp_path, capsys):
    policy_file, events = files(tmp_path)
    args = ["audit", "-p", policy_file, "-e", events, "--at", NOW, "--json", "--by", "agreement"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    [ola] = [row for row in doc["groups"] if row["key"]["agreement"] == "tier2-ola"]
    resolution = ola["metrics"]["tier2-ola/resolution"]
    assert (resolution["achieved"], resolution["cancelled"]) == (1, 1)
    # Only the second instance measured a resolution (14:00 to the solve, paused: 0s).
    assert resolution["business_seconds"]["count"] == 1


HANDED_BACK = [
    ("09:00", "created", {"channel": "email", "priority": "high", "group": "tier2"}),
    ("09:20", "update", {"group": "tier1"}),
]


def test_whatif_shows_what_detaching_changes(tmp_path):
    import slaengine
    from slaengine.whatif import backtest

    old, new = loads_policies(KEEP, "old.yaml"), loads_policies(POLICY, "new.yaml")
    both = rows() + rows(HANDED_BACK, ticket="T-2")  # T-2: handed back at once, unanswered
    timelines = slaengine.read_events(Path(files(tmp_path, events=both)[1]))
    result = backtest(old, new, timelines.timelines.values(), parse_instant(NOW))
    assert [(f.ticket, f.metric, f.instance, f.old, f.new) for f in result.flips] == [
        ("T-2", "tier2-ola/first_response", 1, "breached", "cancelled")
    ]
    first = result.total("tier2-ola/first_response")
    # T-1 under keep: one late reply; under detach: the first stint late, the second met.
    assert (first.old_met, first.old_breached, first.new_met, first.new_breached) == (0, 2, 1, 1)


def test_the_live_engine_stops_notifying_once_the_agreement_detached(tmp_path):
    from slaengine.live import LiveEngine, Store

    base = parse_instant("2026-03-02T09:00:00Z")
    keys = {}
    for name, policy in (("detach", POLICY), ("keep", KEEP)):
        store = Store.open(str(tmp_path / f"{name}.db"))
        try:
            engine = LiveEngine(loads_policies(policy, "policy.yaml"), store, lambda n: ("ops",))
            events = [dict(row, id=f"e{i}") for i, row in enumerate(rows(HANDED_BACK))]
            engine.ingest(events, base + 1800)
            report = engine.advance(base + 3 * 3600)
            keys[name] = sorted(n.key for n in report.notifications if "tier2-ola" in n.key)
            status = engine.status("T-1", base + 3 * 3600)
            assert status is not None
            keys[name + "-open"] = sorted(
                c.metric for c in store.open_clocks("T-1") if c.agreement == "tier2-ola"
            )
            if name == "detach":
                assert [
                    (m.metric, m.state) for m in status.metrics if m.agreement == "tier2-ola"
                ] == [("first_response", "cancelled"), ("resolution", "cancelled")]
        finally:
            store.close()
    # Detached at 09:20, before the 09:30 warning: nothing to say about the OLA.
    assert keys["detach"] == []
    assert keys["detach-open"] == []
    assert "T-1/tier2-ola/first_response/1/breach/0" in keys["keep"]
    assert keys["keep-open"] == ["first_response", "resolution"]


BAD = """\
version: 1
agreements:
  - name: tier2-ola
    match: {group: tier2}
    on_unmatch: detatch
    metrics:
      resolution: {targets: 8h}
"""


def test_check_reports_an_unknown_on_unmatch_with_line_and_column(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out.replace(str(path), "bad.yaml")
    assert out.splitlines()[0] == (
        "bad.yaml:5:17: E214 unknown value 'detatch' for 'on_unmatch'; expected one of keep, "
        "detach; did you mean 'detach'?"
    )


def test_schema_and_fmt_know_on_unmatch():
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML

    from slaengine.policy.fmt import format_text
    from slaengine.policy.schema import policy_schema

    validator = Draft202012Validator(policy_schema())
    assert list(validator.iter_errors(YAML(typ="safe").load(POLICY))) == []
    bad = YAML(typ="safe").load(BAD)
    assert [e.message for e in validator.iter_errors(bad)] == [
        "'detatch' is not one of ['keep', 'detach']"
    ]
    messy = POLICY.replace("on_unmatch: detach", "on_unmatch:   detach   # GLPI-like")
    tidy = format_text(messy, "policy.yaml")
    assert "    on_unmatch: detach     # GLPI-like\n" in tidy
    assert loads_policies(tidy).agreements[0].on_unmatch == "detach"


def test_the_engine_records_each_attachment(tmp_path):
    import slaengine

    policies = loads_policies(POLICY, "policy.yaml")
    timelines = slaengine.read_events(Path(files(tmp_path)[1]))
    [result] = slaengine.evaluate(policies, timelines, parse_instant(NOW))
    assert [(a.agreement.name, a.number, a.index, a.detached) for a in result.attachments] == [
        ("tier2-ola", 1, 2, 5),
        ("tier2-ola", 2, 6, None),
    ]
    assert [a.name for a in result.agreements] == ["tier2-ola"]  # attached, counted once
    kept = slaengine.evaluate(loads_policies(KEEP, "keep.yaml"), timelines, parse_instant(NOW))
    assert [(a.index, a.detached) for a in kept[0].attachments] == [(2, None)]


def test_a_re_attachments_notifications_carry_the_next_instance(tmp_path):
    from slaengine.live import LiveEngine, Store

    base = parse_instant("2026-03-02T09:00:00Z")
    back_and_forth = [*HANDED_BACK, ("09:40", "update", {"group": "tier2"})]
    store = Store.open(str(tmp_path / "live.db"))
    try:
        engine = LiveEngine(loads_policies(POLICY, "policy.yaml"), store, lambda n: ("ops",))
        events = [dict(row, id=f"e{i}") for i, row in enumerate(rows(back_and_forth))]
        engine.ingest(events, base + 2400)
        report = engine.advance(base + 3 * 3600)
        keys = sorted(n.key for n in report.notifications if "tier2-ola" in n.key)
        # Attached again at 09:40: first_response #2 warns at 10:10 and breaches at 10:40.
        assert keys == [
            "T-1/tier2-ola/first_response/2/breach/0",
            "T-1/tier2-ola/first_response/2/escalation/1",
            "T-1/tier2-ola/first_response/2/warning/1",
        ]
        open_clocks = sorted(
            (c.metric, c.instance) for c in store.open_clocks("T-1") if c.agreement
        )
        assert open_clocks == [("first_response", 2), ("resolution", 2)]
    finally:
        store.close()
