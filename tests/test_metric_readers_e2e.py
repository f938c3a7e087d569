"""A metric defined only in YAML, end to end through every reader of clock results.

The policy defines three metrics of its own (``time_to_own``, ``tier2_time`` repeating
and paused by a tag, ``handled`` met by the solve) next to the built-in ``resolution``.
The same events go through ``evaluate``, ``explain``, ``audit`` (terminal, JSON, HTML,
breaches CSV), ``whatif``, ``slaengine test`` and the live engine on SQLite, whose
outbox delivers the user-defined metric's warning and breach to a plugin.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

import slaengine
from slaengine.cli import main
from slaengine.event_parsing import parse_instant
from slaengine.hookspecs import hookimpl
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.recipients import HOOK_PREFIX, plugin_routing
from slaengine.plugins import make_plugins

DEFINITIONS = """\
version: 1
metrics:
  time_to_own:
    description: From creation to the first assignment.
    start: created
    stop: assigned
  tier2_time:
    description: Each stint in group tier2.
    start: {group: tier2}
    stop: {not: {group: tier2}}
    repeat: true
    pause: [{tag: waiting-vendor}]
  handled:
    description: From creation to the solve.
    start: created
    stop: solved
"""
POLICY = (
    DEFINITIONS
    + """\
policies:
  - name: support
    calendar: 24x7
    metrics:
      time_to_own: {targets: 1h, warn_at: [50%]}
      tier2_time: {targets: 4h, pause_when: [pending]}
      handled: {targets: 8h}
      resolution: {targets: 24h}
"""
)
TIGHTER = POLICY.replace("time_to_own: {targets: 1h", "time_to_own: {targets: 30m")
NOW = "2025-12-01T16:00:00Z"


def _ev(ticket: str, at: str, kind: str, **extra: object) -> dict[str, object]:
    return {"ticket": ticket, "at": f"2025-12-01T{at}:00Z", "type": kind, **extra}


# T-1: owned after 40m; tier2 10:00-14:00 (paused 11:00-13:00 by the tag, then pending),
# again from 15:00, paused by pending at 15:30. T-2: never owned (breached at 10:00).
# T-3: owned after 20m, solved at 10:00 (handled in 1h).
EVENTS = [
    _ev("T-1", "09:00", "created", channel="email", priority="normal"),
    _ev("T-1", "09:40", "update", assignee="lea"),
    _ev("T-1", "10:00", "update", group="tier2"),
    _ev("T-1", "11:00", "update", tags=["waiting-vendor"]),
    _ev("T-1", "12:00", "status", status="pending"),
    _ev("T-1", "12:30", "status", status="open"),
    _ev("T-1", "13:00", "update", tags=[]),
    _ev("T-1", "14:00", "update", group="tier1"),
    _ev("T-1", "15:00", "update", group="tier2"),
    _ev("T-1", "15:30", "status", status="pending"),
    _ev("T-2", "09:00", "created", channel="email", priority="high"),
    _ev("T-3", "09:00", "created", channel="chat", priority="normal"),
    _ev("T-3", "09:20", "update", assignee="max"),
    _ev("T-3", "10:00", "status", status="solved"),
]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    policies = tmp_path / "policies"
    (policies / "tests").mkdir(parents=True)
    (policies / "support.yaml").write_text(POLICY, encoding="utf-8")
    tighter = tmp_path / "tighter.yaml"
    tighter.write_text(TIGHTER, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    return {"policies": policies, "tighter": tighter, "events": events, "tmp": tmp_path}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    def run(*argv: str) -> tuple[int, str]:
        status = main([*argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return status, out

    return run


def _inputs(files: dict[str, Path]) -> list[str]:
    return ["--policies", str(files["policies"]), "--events", str(files["events"]), "--at", NOW]


# -- evaluate and explain ----------------------------------------------------------


def test_evaluate_table_names_and_numbers_yaml_metrics(files, cli) -> None:
    status, out = cli("evaluate", *_inputs(files), "--format", "table")
    assert status == 0
    assert "tier2_time #1" in out
    assert "tier2_time #2" in out
    assert "time_to_own" in out
    assert "time_to_own #" not in out  # one instance: no number
    # tier2_time repeats: its number shows from its first instance on.
    earlier = [a if a != NOW else "2025-12-01T12:00:00Z" for a in _inputs(files)]
    status, out = cli("evaluate", *earlier, "--format", "table")
    assert "tier2_time #1" in out
    assert "tier2_time #2" not in out


def test_explain_tells_the_story_of_yaml_metrics(files, cli) -> None:
    status, out = cli("explain", *_inputs(files), "--ticket", "T-1", "--json")
    assert status == 0
    doc = json.loads(out)
    clocks = {(m["metric"], m["instance"]): m for m in doc["metrics"]}
    assert clocks[("time_to_own", 1)]["stop_text"] == "fulfilled by the assignment to lea"
    first = clocks[("tier2_time", 1)]
    assert first["stop_text"] == "fulfilled by the move to group tier1"
    assert (first["start_trigger"], first["stop_trigger"]) == ("group tier2", "not group tier2")
    story = [(s["kind"], s["status"], s["condition"]) for s in first["segments"]]
    assert story == [
        ("running", None, None),
        ("paused", None, "tag waiting-vendor"),
        ("paused", "pending", None),
        ("paused", None, "tag waiting-vendor"),
        ("running", None, None),
    ]
    # Explain adds up what the engine counted.
    assert sum(s["business_seconds"] for s in first["segments"]) == first["elapsed_seconds"]
    assert (first["pause_when"], first["pause_conditions"]) == (["pending"], ["tag waiting-vendor"])
    assert clocks[("tier2_time", 2)]["stop_text"] == "still paused"
    # The engine's record says what started the repeated instance and what paused it.
    assert [(n["code"], n["text"]) for n in first["notes"]] == [
        (
            "started_by",
            "tier2_time #1 started at 2025-12-01T10:00:00Z (line 3) by the move to group "
            "tier2: start: group tier2 happened (repeat: true starts an instance each time, "
            "when none is running)",
        ),
        (
            "paused_by_condition",
            "paused from 2025-12-01T11:00:00Z (line 4) to 2025-12-01T12:00:00Z while tag "
            "waiting-vendor held: a pause condition of tier2_time",
        ),
        (
            "paused_by_condition",
            "paused from 2025-12-01T12:30:00Z to 2025-12-01T13:00:00Z while tag "
            "waiting-vendor held: a pause condition of tier2_time",
        ),
    ]
    assert [n["code"] for n in clocks[("time_to_own", 1)]["notes"]] == []
    status, text = cli("explain", *_inputs(files), "--ticket", "T-1")
    assert "tier2_time #1 achieved" in text
    assert "tier2_time #2 paused" in text
    assert "time_to_own achieved" in text
    assert "while tag waiting-vendor" in text
    assert "paused when  pending, tag waiting-vendor" in text


def test_explain_says_a_yaml_metric_has_not_started(files, cli) -> None:
    status, out = cli("explain", *_inputs(files), "--ticket", "T-2", "--json")
    assert status == 0
    notes = [n["text"] for n in json.loads(out)["notes"] if n["code"] == "not_started"]
    assert notes == [
        f"no tier2_time clock (tier2 time): what starts the metric has not happened by {NOW}"
    ]


# -- audit ---------------------------------------------------------------------------


def test_audit_json_counts_yaml_metrics(files, cli) -> None:
    status, out = cli("audit", *_inputs(files), "--json", "--by", "metric")
    assert status == 0
    doc = json.loads(out)
    overall = doc["overall"]["metrics"]
    assert list(overall) == ["resolution", "handled", "tier2_time", "time_to_own"]
    own = overall["time_to_own"]
    assert (own["achieved"], own["breached"], own["breached_open"]) == (2, 1, 1)
    assert own["business_seconds"]["count"] == 2  # T-1 and T-3 were owned
    assert own["business_seconds"]["max"] == 2400
    # handled is met by the solve: T-3's solve is a full, measured duration.
    handled = overall["handled"]
    assert (handled["achieved"], handled["business_seconds"]["count"]) == (1, 1)
    assert handled["business_seconds"]["p50"] == handled["calendar_seconds"]["p50"] == 3600
    tier2 = overall["tier2_time"]
    assert (tier2["achieved"], tier2["paused"]) == (1, 1)
    assert [row["key"]["metric"] for row in doc["by_metric"]] == list(overall)
    assert [row["key"]["metric"] for row in doc["groups"]] == list(overall)
    assert doc["metric_labels"] == {
        "resolution": "Resolution",
        "handled": "Handled",
        "tier2_time": "Tier2 time",
        "time_to_own": "Time to own",
    }
    assert [b["ticket"] for b in doc["worst_breaches"]["time_to_own"]] == ["T-2"]
    # Worker processes merge the same figures.
    status, forked = cli("audit", *_inputs(files), "--json", "--by", "metric", "--jobs", "2")
    assert json.loads(forked) == doc


def test_audit_terminal_html_and_breaches_show_yaml_metrics(files, cli) -> None:
    html, breaches = files["tmp"] / "report.html", files["tmp"] / "breaches.csv"
    status, out = cli("audit", *_inputs(files), "--html", str(html), "--breaches", str(breaches))
    assert status == 0
    for label in ("Time to own achieved", "Tier2 time achieved", "Handled achieved"):
        assert label in out
    page = html.read_text(encoding="utf-8")
    assert "Time to own achieved" in page
    assert "Handled time, median" in page
    assert 'id="chart-times-time_to_own"' in page
    assert "Time to own: the 1 most overdue" in page
    with breaches.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["ticket"], r["metric"]) for r in rows] == [("T-2", "time_to_own")]


# -- whatif and policy tests ---------------------------------------------------------


def test_whatif_compares_a_yaml_metric(files, cli) -> None:
    status, out = cli("whatif", *_inputs(files), "--against", str(files["tighter"]), "--json")
    assert status == 0
    doc = json.loads(out)
    assert list(doc["by_metric"]) == ["resolution", "handled", "tier2_time", "time_to_own"]
    assert doc["by_metric"]["time_to_own"]["old"]["breached"] == 1
    assert doc["by_metric"]["time_to_own"]["new"]["breached"] == 2
    assert [(f["ticket"], f["metric"]) for f in doc["flips"]] == [("T-1", "time_to_own")]
    status, text = cli("whatif", *_inputs(files), "--against", str(files["tighter"]))
    # People read labels (a definition's, else the name in words), as in the audit.
    assert "│ Time to own │ 1 │" in text
    assert "│ Tier2 time " in text
    assert "time_to_own" not in text


POLICY_TEST = """\
- name: owned, then two stints in tier2
  timeline:
    - {ticket: T, at: "2025-12-01T09:00:00Z", type: created, channel: email, priority: normal}
    - {at: +40m, type: update, assignee: lea}
    - {at: +1h, type: update, group: tier2}
    - {at: +5h, type: update, group: tier1}
    - {at: +6h, type: update, group: tier2}
    - {at: +6h30m, type: status, status: solved}
  at: +7h
  expect:
    - {metric: time_to_own, state: achieved, stop_reason: fulfilled, elapsed: 40m}
    - {metric: tier2_time, instance: 1, state: achieved, elapsed: 4h}
    - {metric: tier2_time, instance: 2, elapsed: 30m}
    - {metric: handled, state: achieved, stop_reason: solved, elapsed: 6h30m}
"""


def test_policy_tests_check_yaml_metrics(files, cli) -> None:
    tests = files["policies"] / "tests" / "support.yaml"
    tests.write_text(POLICY_TEST, encoding="utf-8")
    status, out = cli("test", str(tests), "--format", "json")
    assert status == 0, out
    wrong = POLICY_TEST.replace(
        "instance: 1, state: achieved, elapsed: 4h", "instance: 1, elapsed: 3h"
    )
    tests.write_text(wrong, encoding="utf-8")
    status, out = cli("test", str(tests))
    assert status == 1
    assert "metric tier2_time #1: elapsed expected 3h, got 4h" in out


# -- the live engine -----------------------------------------------------------------


class Recorder:
    """A plugin that keeps what it is told."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []

    @hookimpl
    def slaengine_on_warning(self, notification):
        self.got.append(notification.to_dict())

    @hookimpl
    def slaengine_on_breach(self, notification):
        self.got.append(notification.to_dict())


def test_live_engine_notifies_a_plugin_of_a_yaml_metric(tmp_path: Path) -> None:
    policies = slaengine.loads_policies(POLICY, "support.yaml")
    recorder = Recorder()
    plugins = make_plugins(entry_points=False, plugins=[("recorder", recorder)])
    routing = plugin_routing(plugins)
    store = Store.open(str(tmp_path / "state.db"))
    try:
        engine = LiveEngine(policies, store, routing.recipients)
        t2 = [dict(e, id=f"e{i}") for i, e in enumerate(EVENTS) if e["ticket"] == "T-2"]
        engine.ingest(t2, parse_instant("2025-12-01T09:00:00Z"))
        engine.advance(parse_instant("2025-12-01T10:30:00Z"))
        keys = {(row.key, row.recipient) for row in store.outbox()}
        assert keys >= {
            ("T-2/time_to_own/1/warning/1", HOOK_PREFIX + "recorder"),
            ("T-2/time_to_own/1/breach/0", HOOK_PREFIX + "recorder"),
        }
        report = Dispatcher(store, routing.deliverers).dispatch(
            parse_instant("2025-12-01T10:30:00Z")
        )
        assert report.failed == 0
        got = [
            (n["metric"], n["kind"], n["at"]) for n in recorder.got if n["metric"] == "time_to_own"
        ]
        assert got == [
            ("time_to_own", "warning", "2025-12-01T09:30:00Z"),
            ("time_to_own", "breach", "2025-12-01T10:00:00Z"),
        ]
        status = engine.status("T-2", parse_instant("2025-12-01T10:30:00Z"))
        assert status is not None
        states = {m.metric: m.state for m in status.metrics}
        assert states["time_to_own"] == "breached"
        queue = store.at_risk(parse_instant("2025-12-01T11:00:00Z"))
        assert ("T-2", "time_to_own") in [(c.ticket, c.metric) for c in queue]
    finally:
        store.close()


# -- the HTTP API ------------------------------------------------------------------


def test_http_api_serves_a_yaml_metric(tmp_path: Path) -> None:
    pytest.importorskip("starlette", reason='the API needs the serve extra: pip install ".[serve]"')
    pytest.importorskip("uvicorn", reason='the API needs the serve extra: pip install ".[serve]"')
    from serve_support import TOKEN, acme_inboxes, client, running
    from slaengine.serve import Api
    from slaengine.serve.settings import ServeSettings

    policies = slaengine.loads_policies(POLICY, "support.yaml")
    url = str(tmp_path / "state.db")
    now = parse_instant("2025-12-01T10:30:00Z")

    def open_engine() -> LiveEngine:
        return LiveEngine(policies, Store.open(url))

    settings = ServeSettings(host="127.0.0.1", port=0, token=TOKEN, worker=False)
    api = Api(open_engine, settings, acme_inboxes(), clock=lambda: float(now))
    t1 = [dict(e, id=f"e{i}") for i, e in enumerate(EVENTS) if e["ticket"] == "T-1"]
    with running(api) as base, client(base) as http:
        posted = http.post(
            "/events", content=json.dumps(t1[:4]), headers={"Content-Type": "application/json"}
        )
        assert posted.status_code == 200, posted.text
        store = Store.open(url)
        try:
            LiveEngine(policies, store).advance(now)
        finally:
            store.close()
        status = http.get("/tickets/T-1").json()
        metrics = {(m["metric"], m["instance"]): m for m in status["metrics"]}
        assert metrics[("time_to_own", 1)]["state"] == "achieved"
        assert metrics[("tier2_time", 1)]["state"] == "active"
        assert metrics[("tier2_time", 1)]["remaining_seconds"] == 4 * 3600 - 30 * 60
        queue = http.get("/at-risk", params={"within": "4h"}).json()
        assert [(c["ticket"], c["metric"]) for c in queue["clocks"]] == [("T-1", "tier2_time")]


def test_live_commands_show_a_yaml_metric(files, cli, monkeypatch) -> None:
    monkeypatch.chdir(files["tmp"])
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "none-wanted")  # no installed plugin loads
    config = files["tmp"] / "slaengine.toml"
    config.write_text(
        f'[live]\nstate = "{files["tmp"] / "state.db"}"\n'
        f'policies = ["{files["policies"] / "support.yaml"}"]\n',
        encoding="utf-8",
    )
    ingest_lines = [dict(e, id=f"e{i}") for i, e in enumerate(EVENTS)]
    (files["tmp"] / "ids.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in ingest_lines), encoding="utf-8"
    )
    status, out = cli("ingest", "--config", str(config), str(files["tmp"] / "ids.jsonl"))
    assert (status, out) == (0, f"{len(EVENTS)} events stored, 0 rejected\n")
    args = ["status", "--config", str(config), "T-1", "--at", NOW]
    status, out = cli(*args, "--json")
    assert status == 0
    metrics = [(m["metric"], m["instance"], m["state"]) for m in json.loads(out)["metrics"]]
    assert metrics == [
        ("time_to_own", 1, "achieved"),
        ("tier2_time", 1, "achieved"),
        ("tier2_time", 2, "paused"),
        ("handled", 1, "active"),
        ("resolution", 1, "active"),
    ]
    status, table = cli(*args)
    assert "Tier2 time" in table  # in words, as the reports and the at-risk queue name it
    assert "Time to own" in table


# -- labels in the remaining terminal readers ------------------------------------------


def test_audit_scorecards_head_yaml_metrics_by_label(files, cli) -> None:
    status, out = cli("audit", *_inputs(files), "--by", "agent")
    assert status == 0
    header = next(line for line in out.splitlines() if line.startswith("Agent"))
    assert "Time to own met" in header
    assert "Tier2 time met" in header
    assert "time_to_own" not in out


def test_status_shows_the_label_a_definition_gives(files, cli, monkeypatch) -> None:
    monkeypatch.chdir(files["tmp"])
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "none-wanted")
    labelled = files["tmp"] / "labelled.yaml"
    labelled.write_text(
        POLICY.replace("    start: created\n    stop: assigned\n", "    label: Ownership\n"
                       "    start: created\n    stop: assigned\n", 1),
        encoding="utf-8",
    )  # fmt: skip
    config = files["tmp"] / "slaengine.toml"
    config.write_text(
        f'[live]\nstate = "{files["tmp"] / "state.db"}"\npolicies = ["{labelled}"]\n',
        encoding="utf-8",
    )
    rows = [dict(e, id=f"e{i}") for i, e in enumerate(EVENTS) if e["ticket"] == "T-1"]
    (files["tmp"] / "ids.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in rows), encoding="utf-8"
    )
    assert cli("ingest", "--config", str(config), str(files["tmp"] / "ids.jsonl"))[0] == 0
    args = ["status", "--config", str(config), "T-1", "--at", NOW]
    status, table = cli(*args)
    assert status == 0
    assert re.search(r"^Ownership +1 ", table, re.MULTILINE)
    assert "time_to_own" not in table
    # No label given: its name in words, as the reports and the at-risk queue name it.
    assert re.search(r"^Tier2 time +1 ", table, re.MULTILINE)
    status, out = cli(*args, "--json")
    first = json.loads(out)["metrics"][0]
    assert (first["metric"], first["metric_label"]) == ("time_to_own", "Ownership")


def test_check_counts_the_defined_metrics(files, capsys) -> None:
    assert main(["check", str(files["policies"] / "support.yaml")]) == 0
    assert capsys.readouterr().err == "ok: 1 policy, 1 calendar, 3 defined metrics in 1 file\n"
