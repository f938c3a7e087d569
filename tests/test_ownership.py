"""Group ownership clocks (``per: group``): one instance per stint of a group holding the
ticket, with a customer SLA and an OLA beside them.

The ticket of every test: created in tier1 at 09:00, handed to tier2 at 10:00 (pending
11:00-12:00), back to tier1 at 13:00, solved at 15:00, reopened at 16:00 (24x7).
"""

from __future__ import annotations

import csv
import io
import itertools
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
metrics:
  ownership:
    description: Each stint of a group holding the ticket.
    per: group
policies:
  - name: customer-sla
    metrics:
      first_response: {targets: 4h}
      resolution: {targets: 24h}
agreements:
  - name: tier2-ola
    match: {group: tier2}
    metrics:
      resolution: {targets: 8h}
  - name: group-ownership
    metrics:
      ownership:
        targets: {urgent: 1h, high: 2h, normal: 4h, low: 8h}
        pause_when: [pending]
        warn_at: [50%]
"""
EVENTS = [
    ("09:00", "created", {"channel": "email", "priority": "high", "group": "tier1"}),
    ("09:30", "message", {"author": "agent", "agent": "ann"}),
    ("10:00", "update", {"group": "tier2"}),
    ("11:00", "status", {"status": "pending"}),
    ("12:00", "status", {"status": "open"}),
    ("13:00", "update", {"group": "tier1"}),
    ("15:00", "status", {"status": "solved"}),
    ("16:00", "status", {"status": "open"}),
]
NOW = "2026-03-02T17:00:00Z"


def event_rows(events=EVENTS, ticket="T-1"):
    return [
        {"id": f"{ticket}-{n}", "ticket": ticket, "at": f"2026-03-02T{at}:00Z", "type": kind,
         **extra}
        for n, (at, kind, extra) in enumerate(events)
    ]  # fmt: skip


def files(tmp_path: Path, policy: str = POLICY, rows=None) -> tuple[str, str]:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    lines = event_rows() if rows is None else rows
    events.write_text("".join(json.dumps(row) + "\n" for row in lines), encoding="utf-8")
    return str(policy_file), str(events)


def run_json(capsys, *argv: str):
    assert main(list(argv)) == 0
    out = capsys.readouterr().out
    return [json.loads(out)] if out.startswith("{\n") else [json.loads(x) for x in out.splitlines()]


# (agreement, metric, instance, group, state, start, stop, elapsed)
EXPECTED = [
    (None, "first_response", 1, None, "achieved", "09:00", "09:30", 1800),
    (None, "resolution", 1, None, "active", "09:00", None, 7 * 3600),
    # The OLA attached at 10:00; its resolution resumes at the reopen, like the SLA's.
    ("tier2-ola", "resolution", 1, None, "active", "10:00", None, 6 * 3600),
    # tier1 holds it 09:00-10:00; tier2 10:00-13:00 less the pending hour: at its 2h target,
    # not over it; tier1 again 13:00 to the solve; the reopen starts tier1's next stint.
    ("group-ownership", "ownership", 1, "tier1", "achieved", "09:00", "10:00", 3600),
    ("group-ownership", "ownership", 2, "tier2", "achieved", "10:00", "13:00", 2 * 3600),
    ("group-ownership", "ownership", 3, "tier1", "achieved", "13:00", "15:00", 2 * 3600),
    ("group-ownership", "ownership", 4, "tier1", "active", "16:00", None, 3600),
]


def _summary(clocks):
    return [
        (c.get("agreement"), c["metric"], c["instance"], c.get("group"), c["state"],
         c["start"][11:16], c["stop"][11:16] if c["stop"] else None, c["elapsed_seconds"])
        for c in clocks
    ]  # fmt: skip


def test_evaluate_gives_a_clock_per_group_stint(tmp_path, capsys):
    policy, events = files(tmp_path)
    [ticket] = run_json(capsys, "evaluate", "-p", policy, "-e", events, "--at", NOW, "-f", "json")
    assert _summary(ticket["metrics"]) == EXPECTED
    tier2 = ticket["metrics"][4]
    assert tier2["stop_reason"] == "fulfilled"  # handed over
    assert tier2["pauses"] == [{"from": "2026-03-02T11:00:00Z", "to": "2026-03-02T12:00:00Z"}]
    assert ticket["metrics"][5]["stop_reason"] == "solved"
    text = _run_text(capsys, "evaluate", "-p", policy, "-e", events, "--at", NOW, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["group"] for r in rows][3:] == ["tier1", "tier2", "tier1", "tier1"]
    table = _run_text(capsys, "evaluate", "-p", policy, "-e", events, "--at", NOW)
    assert "group-ownership: ownership #2 (tier2)" in table


def _run_text(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_only_the_groups_named_are_counted(tmp_path, capsys):
    policy = POLICY.replace("    per: group\n", "    per: group\n    groups: [tier2]\n")
    policy_file, events = files(tmp_path, policy)
    [ticket] = run_json(capsys, "evaluate", "-p", policy_file, "-e", events, "--at", NOW, "-f",
                        "json")  # fmt: skip
    owned = [(c["instance"], c["group"]) for c in ticket["metrics"] if c["metric"] == "ownership"]
    assert owned == [(1, "tier2")]


def test_an_ownership_clock_in_the_customer_policy(tmp_path):
    policy = POLICY.split("agreements:", maxsplit=1)[0].replace(
        "      resolution: {targets: 24h}\n",
        "      resolution: {targets: 24h}\n      ownership: {targets: 90m}\n",
    )
    policies = loads_policies(policy)
    timelines = slaengine.read_events(Path(files(tmp_path, policy)[1]))
    [result] = slaengine.evaluate(policies, timelines, parse_instant(NOW))
    owned = [(c.group, c.state, c.elapsed) for c in result.clocks if c.metric == "ownership"]
    assert owned == [
        ("tier1", "achieved", 3600),
        ("tier2", "breached", 3 * 3600),  # no pause under this policy
        ("tier1", "breached", 2 * 3600),
        ("tier1", "active", 3600),
    ]


def test_audit_reports_ownership_per_group(tmp_path, capsys):
    policy, events = files(tmp_path)
    [doc] = run_json(capsys, "audit", "-p", policy, "-e", events, "--at", NOW, "--json", "--by",
                     "group,metric")  # fmt: skip
    owned = {
        row["key"]["group"]: (row["compliance"]["achieved"], row["compliance"]["active"])
        for row in doc["groups"]
        if row["key"]["metric"] == "group-ownership/ownership"
    }
    # The ticket is in tier1 now; tier2's stint still counts for tier2.
    assert owned == {"tier1": (2, 1), "tier2": (1, 0)}
    # Every stint that ended measured a full ownership time, the one the solve ended too.
    overall = doc["overall"]["metrics"]["group-ownership/ownership"]
    assert (overall["business_seconds"]["count"], overall["calendar_seconds"]["max"]) == (
        3,
        3 * 3600,
    )
    by_group = {row["key"]["group"]: row for row in doc["by_group"]}
    assert by_group["tier2"]["tickets"] == 0
    assert by_group["tier2"]["metrics"]["group-ownership/ownership"]["achieved"] == 1
    assert by_group["tier1"]["tickets"] == 1
    [agent_doc] = run_json(capsys, "audit", "-p", policy, "-e", events, "--at", NOW, "--json",
                           "--by", "group,agent")  # fmt: skip
    keyed = {(r["key"]["group"], r["key"]["agent"]) for r in agent_doc["groups"]}
    assert ("tier2", "ann") in keyed  # the tier2 stint's clock, under its own group


def test_explain_names_each_stints_group(tmp_path, capsys):
    policy, events = files(tmp_path)
    [doc] = run_json(capsys, "explain", "-p", policy, "-e", events, "--ticket", "T-1", "--at",
                     NOW, "--json")  # fmt: skip
    owned = [(c["instance"], c["group"], c["start_line"], c["stop_line"]) for c in doc["metrics"]
             if c["metric"] == "ownership"]  # fmt: skip
    assert owned == [
        (1, "tier1", 1, 3),
        (2, "tier2", 3, 6),
        (3, "tier1", 6, 7),
        (4, "tier1", 8, None),
    ]
    text = _run_text(capsys, "explain", "-p", policy, "-e", events, "--ticket", "T-1", "--at", NOW)
    assert "group-ownership: ownership #2 (group tier2) achieved" in text


def test_whatif_compares_ownership_stints(tmp_path):
    from slaengine.whatif import backtest

    old = loads_policies(POLICY)
    new = loads_policies(POLICY.replace("high: 2h", "high: 90m"))
    timelines = slaengine.read_events(Path(files(tmp_path)[1]))
    result = backtest(old, new, timelines.timelines.values(), parse_instant(NOW))
    assert [(f.metric, f.instance, f.old, f.new) for f in result.flips] == [
        ("group-ownership/ownership", 2, "achieved", "breached"),
        ("group-ownership/ownership", 3, "achieved", "breached"),
    ]


def test_live_notifications_carry_agreement_and_group(tmp_path, capsys):
    from slaengine.live import LiveEngine, Store

    policies = loads_policies(POLICY)
    store = Store.open(str(tmp_path / "state.db"))
    try:
        engine = LiveEngine(policies, store, lambda n: ("ops",))
        base = parse_instant("2026-03-02T09:00:00Z")
        engine.ingest(event_rows(EVENTS[:3]), base + 3600)  # up to the hand-over to tier2
        report = engine.advance(base + 4 * 3600)  # 13:00
        found = {n.key: n for n in report.notifications}
        warning = found["T-1/group-ownership/ownership/2/warning/1"]  # tier2 at 1h of 2h
        assert (warning.agreement, warning.group, warning.at) == (
            "group-ownership",
            "tier2",
            base + 2 * 3600,
        )
        assert "T-1/group-ownership/ownership/2/breach/0" in found
        # Messages (email, chat, webhook text) name the agreement and the group.
        assert warning.metric_text == "group-ownership: ownership of tier2"
        assert "T-1/group-ownership/ownership/1/achieved/0" in found
        payloads = {row.key: json.loads(row.payload) for row in store.outbox()}
        payload = payloads["T-1/group-ownership/ownership/2/breach/0"]
        assert (payload["agreement"], payload["group"], payload["metric"]) == (
            "group-ownership",
            "tier2",
            "ownership",
        )
        open_clocks = {(c.agreement, c.metric, c.instance) for c in store.open_clocks("T-1")}
        assert open_clocks == {
            (None, "resolution", 1),
            ("tier2-ola", "resolution", 1),
            ("group-ownership", "ownership", 2),
        }
    finally:
        store.close()
    policy_file, _events = files(tmp_path)
    state = str(tmp_path / "state.db")
    at = "2026-03-02T13:00:00Z"
    text = _run_text(capsys, "status", "--state", state, "-p", policy_file, "T-1", "--at", at)
    # Named as the queue below and the reports name them.
    assert "group-ownership: Ownership (tier2)" in text
    assert "tier2-ola: Resolution" in text
    queue = _run_text(capsys, "status", "--state", state, "-p", policy_file, "--due-within", "8h",
                      "--at", at)  # fmt: skip
    # The queue names the metric as the reports do when the policies are given, else by
    # the name the state stores.
    assert "group-ownership: Ownership" in queue
    bare = _run_text(capsys, "status", "--state", state, "--due-within", "8h", "--at", at)
    assert "group-ownership/ownership" in bare


BAD = """\
version: 1
metrics:
  owned:
    per: team
  started:
    per: group
    start: created
    when_solved: pause
  grouped:
    start: created
    groups: [tier2]
policies:
  - name: p
    metrics:
      resolution: {targets: 1h}
"""


def test_check_reports_bad_ownership_definitions(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    lines = [line.replace(str(path), "bad.yaml") for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        "bad.yaml:4:10: E214 unknown value 'team' for 'per'; expected one of group",
        "bad.yaml:7:5: E218 metric 'started' is counted per group: an instance starts each "
        "time a group takes the ticket; remove 'start'",
        "bad.yaml:8:5: E213 'when_solved' does not apply to metric 'started': counted per "
        "group, a solve ends the instance and a reopen starts the next",
        "bad.yaml:11:5: E213 'groups' of metric 'grouped' applies only with 'per: group'",
    ]
    with pytest.raises(PolicyError):
        loads_policies(BAD)


def test_schema_knows_per_group():
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML

    from slaengine.policy.schema import policy_schema

    validator = Draft202012Validator(policy_schema())
    assert list(validator.iter_errors(YAML(typ="safe").load(POLICY))) == []
    for bad in ("    per: group\n    start: created\n", "    start: created\n    groups: [a]\n",
                "    per: team\n"):  # fmt: skip
        data = YAML(typ="safe").load(POLICY.replace("    per: group\n", bad))
        assert list(validator.iter_errors(data)), bad


def test_the_example_in_policies_md_gives_the_output_shown(tmp_path, capsys):
    from test_docs_clocks import _AT, _FENCE, _compare, _objects

    page = Path(__file__).resolve().parent.parent / "docs" / "policies.md"
    text = page.read_text(encoding="utf-8")
    start = text.index("### Example: a customer SLA, an OLA and two hand-offs")
    section = text[start : text.index("\n## ", start)]
    blocks = list(_FENCE.finditer(section))
    assert [b.group(1) for b in blocks] == ["yaml", "jsonl", "json"]
    policy, events, shown = (b.group(2) for b in blocks)
    at = _AT.search(section[blocks[1].end() : blocks[2].start()])
    assert at is not None
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(events, encoding="utf-8")
    paths = ("-p", str(tmp_path / "policy.yaml"), "-e", str(tmp_path / "events.jsonl"))
    printed = run_json(capsys, "evaluate", *paths, "--at", at.group(1), "-f", "json")
    [expected] = _objects(shown)
    _compare(expected, printed[0], "T-1")


# -- generated tickets: agreements and ownership clocks against their invariants ---------

GENERATED_POLICY = """\
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: "09:00-17:00"}
metrics:
  ownership:
    per: group
policies:
  - name: customer
    calendar: office
    metrics:
      first_response: {targets: 2h, pause_when: [pending]}
      next_response: {targets: 4h}
      resolution: {targets: 16h, pause_when: [pending]}
agreements:
  - name: mirror
    calendar: office
    metrics:
      first_response: {targets: 2h, pause_when: [pending]}
      next_response: {targets: 4h}
      resolution: {targets: 16h, pause_when: [pending]}
  - name: owners
    calendar: office
    metrics:
      ownership: {targets: 4h, pause_when: [pending]}
"""


@pytest.fixture(scope="module")
def generated():
    import datetime as dt

    from slaengine.inputs.synthetic import to_event_objects
    from slaengine.timeline import build_timelines

    start = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
    return build_timelines(to_event_objects(2_000, 5, start, days=20), "<synthetic>")


def _facts(clock):
    return (clock.metric, clock.instance, clock.state, clock.start, clock.stop, clock.due,
            clock.elapsed, clock.paused, clock.priority, clock.agent, clock.pauses)  # fmt: skip


def test_a_catch_all_agreement_measures_what_the_policy_does(generated):
    from test_clock_record import check_all

    policies = loads_policies(GENERATED_POLICY)
    now = parse_instant("2025-11-20T16:59:31Z")
    compared = owned = 0
    for result in slaengine.evaluate(policies, generated, now, segments=True):
        check_all([result], now)
        own = [_facts(c) for c in result.clocks if c.agreement is None]
        mirror = [_facts(c) for c in result.clocks if c.agreement == "mirror"]
        assert own == mirror, result.ticket
        compared += len(own)
        stints = [c for c in result.clocks if c.agreement == "owners"]
        owned += len(stints)
        for number, (before, after) in enumerate(itertools.pairwise(stints), 1):
            assert before.instance == number
            assert before.stop is not None
            assert before.stop <= after.start, result.ticket
            assert before.stop_reason in ("fulfilled", "solved")
        assert all(c.group is not None for c in stints)
        if stints and stints[-1].stop is None:
            assert stints[-1].group == result.state.group  # the group holding it now
    assert compared > 2_000
    assert owned > 1_000


@pytest.mark.parametrize("segments", [False, True])
def test_the_fast_json_and_csv_write_what_the_dicts_say(tmp_path, segments):
    from slaengine.report.csv import COLUMNS, ticket_rows
    from slaengine.report.json import clock_to_dict, ticket_json, ticket_to_dict

    policies = loads_policies(POLICY)
    timelines = slaengine.read_events(Path(files(tmp_path)[1]))
    [result] = slaengine.evaluate(policies, timelines, parse_instant(NOW), segments=segments)
    assert json.loads(ticket_json(result)) == ticket_to_dict(result)
    assert ticket_json(result) == json.dumps(ticket_to_dict(result), ensure_ascii=False)
    for row, clock in zip(ticket_rows(result), result.clocks, strict=True):
        written = dict(zip(COLUMNS, row, strict=True))
        assert (written["agreement"], written["group"]) == (clock.agreement, clock.group)
        assert written["metric"] == clock_to_dict(clock)["metric"]
