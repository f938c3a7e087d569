"""``slaengine outbox``: replaying a fixed reject, pruning old rows; the retention settings.

Rows are stored at T0 (December 2025) and pruned against the wall clock, so
they are always older than the ages the tests give.
"""

from __future__ import annotations

import json
import time

import pytest

from live_support import POLICY, at, created, event
from slaengine.cli import main
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.store import DELIVERED, Reject
from slaengine.policy import loads_policies


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    # No plugin is loaded, so the escalations notify nobody by name.
    policy = POLICY.replace("[lead]", "[]").replace("[manager]", "[]")
    (tmp_path / "policies.yaml").write_text(policy, encoding="utf-8")
    return tmp_path / "state.db"


def outbox(state, *args):
    return main(["outbox", "--state", str(state), *args])


def rejects_of(state):
    store = Store.open(state)
    try:
        return store.reject_page(limit=1000)
    finally:
        store.close()


def test_a_fixed_file_replays_a_reject(state, capsys):
    bad = {**created("T-1"), "at": "yesterday"}
    (state.parent / "bad.jsonl").write_text(json.dumps(bad) + "\n", encoding="utf-8")
    assert main(["ingest", "-p", "policies.yaml", "--state", str(state), "bad.jsonl"]) == 1
    [row] = rejects_of(state)
    fixed = state.parent / "fixed.json"
    fixed.write_text(json.dumps({**bad, "at": "2025-12-01T10:00:00Z"}), encoding="utf-8")
    capsys.readouterr()

    assert (
        outbox(state, "-p", "policies.yaml", "--replay-reject", str(row.id), "--file", "fixed.json")
        == 0
    )

    assert capsys.readouterr().out == f"reject {row.id} replayed: 1 event stored, 0 duplicates\n"
    assert rejects_of(state)[0].replayed is not None
    store = Store.open(state)
    try:
        [(_, payload, origin)] = store.events_of("T-1")
    finally:
        store.close()
    assert json.loads(payload)["at"] == "2025-12-01T10:00:00Z"
    assert origin == f"slaengine outbox --replay-reject {row.id} replay of reject {row.id} event 0"
    # Once only.
    assert (
        outbox(state, "-p", "policies.yaml", "--replay-reject", str(row.id), "--file", "fixed.json")
        == 2
    )
    assert "was already replayed at" in capsys.readouterr().err


def test_a_refused_replay_stores_nothing_and_says_why(state, capsys):
    Store.open(state).close()
    store = Store.open(state)
    store.add_events([], at(1), [Reject("feed:1", "not valid JSON", None, "{oops", 5)])
    store.close()
    [row] = rejects_of(state)
    lines = [json.dumps(created("T-2")), json.dumps(event("T-2", 2, "telepathy"))]
    (state.parent / "fixed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    code = outbox(
        state,
        "-p",
        "policies.yaml",
        "--replay-reject",
        str(row.id),
        "--file",
        "fixed.jsonl",
        "--json",
    )

    assert code == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["replayed"] is False
    assert [e["status"] for e in answer["events"]] == ["not_stored", "rejected"]
    assert rejects_of(state)[0].replayed is None
    # Without --file the stored event is sent again; this reject kept none.
    assert outbox(state, "-p", "policies.yaml", "--replay-reject", str(row.id)) == 2
    assert "kept no event to send again" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replay-reject", "99", "--file", "fixed.json"], "no reject 99"),
        (["--replay-reject", "99"], "no reject 99"),
        (
            ["--replay-reject", "99", "--file", "missing.json"],
            "--file: cannot read 'missing.json': No such file or directory\n",
        ),
        (["--replay-reject", "99", "--file", "empty.json"], "holds no events"),
        (["--replay-reject", "99", "--file", "broken.json"], "neither JSON nor JSON Lines"),
        (["--replay-reject", "99", "--file", "broken.jsonl"], "broken.jsonl:3: not JSON"),
        (["--file", "fixed.json"], "--file goes with --replay-reject"),
        (["--prune-rejects"], "need --older-than"),
        (["--prune-rejects", "--older-than", "30"], "--older-than: expected an age like 30d"),
        (["--older-than", "30d"], "--older-than goes with --prune-rejects"),
        (["--source", "feed"], "--source goes with --rejects or --redrive"),
        (["--after", "3"], "--after goes with --rejects"),
        (["--rejects", "--after", "3", "--source", "feed"], "it takes no --source"),
    ],
    ids=[
        "unknown",
        "unknown-no-file",
        "missing-file",
        "empty-file",
        "broken-file",
        "broken-line",
        "file-alone",
        "no-age",
        "bare-number",
        "age-alone",
        "source-alone",
        "after-alone",
        "after-and-source",
    ],
)
def test_usage_errors(state, capsys, args, message):
    (state.parent / "fixed.json").write_text(json.dumps(created("T-9")), encoding="utf-8")
    (state.parent / "empty.json").write_text("[]", encoding="utf-8")
    (state.parent / "broken.json").write_text("{oops", encoding="utf-8")
    (state.parent / "broken.jsonl").write_text('{"a": 1}\n\n{oops\n', encoding="utf-8")
    assert outbox(state, "-p", "policies.yaml", *args) == 2
    assert message in capsys.readouterr().err


def test_old_rejects_are_pruned(state, capsys):
    store = Store.open(state)
    store.add_events([], at(0), [Reject("old", "bad", None)])
    store.add_events([], int(time.time()), [Reject("new", "bad", None)])
    store.close()

    assert outbox(state, "--prune-rejects", "--older-than", "30d") == 0

    assert capsys.readouterr().out.startswith("deleted 1 reject from before ")
    assert [row.reject.origin for row in rejects_of(state)] == ["new"]
    assert outbox(state, "--rejects", "--source", "ne", "--json") == 1
    assert [json.loads(line)["origin"] for line in capsys.readouterr().out.splitlines()] == ["new"]


def test_old_delivered_rows_are_pruned(state, capsys):
    store = Store.open(state)
    try:
        engine = LiveEngine(loads_policies(POLICY, "p.yaml"), store, lambda n: ("ops",))
        engine.ingest([created("T-1")], at(0))
        engine.advance(at(61))
        Dispatcher(store, {"ops": lambda n: None}).dispatch(at(62))
        delivered = len(store.outbox(statuses=(DELIVERED,)))
    finally:
        store.close()
    assert delivered == 4  # two warnings, the breach, escalation 1
    capsys.readouterr()

    assert outbox(state, "--prune-delivered", "--prune-rejects", "--older-than", "1d12h") == 0

    out = capsys.readouterr().out
    assert out.startswith("deleted 0 rejects and 4 delivered or skipped outbox rows from before")
    assert outbox(state, "--all", "--json") == 0
    assert capsys.readouterr().out == ""


def test_the_worker_applies_the_retention_settings(state, capsys):
    (state.parent / "slaengine.toml").write_text(
        f'[live]\nstate = "{state}"\npolicies = ["policies.yaml"]\nrejects_keep_days = 30\n',
        encoding="utf-8",
    )
    store = Store.open(state)
    store.add_events([], at(0), [Reject("old", "bad", None)])
    store.add_events([], int(time.time()), [Reject("new", "bad", None)])
    store.close()

    assert main(["run", "--once"]) == 0

    assert [row.reject.origin for row in rejects_of(state)] == ["new"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("rejects_keep_days = 0", "[live] rejects_keep_days: must be from 1 to 36,500, got 0"),
        (
            'delivered_keep_days = "30d"',
            "[live] delivered_keep_days: expected a whole number, got '30d'",
        ),
    ],
)
def test_bad_retention_settings_are_located(state, capsys, toml, message):
    (state.parent / "slaengine.toml").write_text(f"[live]\n{toml}\n", encoding="utf-8")
    assert outbox(state) == 2
    assert capsys.readouterr().err == f"slaengine: slaengine.toml:2:1: {message}\n"


def test_redrive_replays_the_stored_events_a_policy_fix_made_valid(state, capsys):
    status = {**event("T-4", 10, "status", status="waiting_on_customer")}
    lines = [json.dumps(created("T-4")), json.dumps(status), "{oops"]
    (state.parent / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["ingest", "-p", "policies.yaml", "--state", str(state), "events.jsonl"]) == 1
    capsys.readouterr()

    assert outbox(state, "-p", "policies.yaml", "--redrive") == 1  # still refused
    out = capsys.readouterr().out
    assert (
        "refused: 'status' must be one of new, open, pending, on_hold, solved, closed, got " in out
    )
    assert out.endswith("0 rejects replayed, 1 still refused, 1 without an event to send\n")

    mapped = "statuses:\n  waiting_on_customer: pending\n" + (
        state.parent / "policies.yaml"
    ).read_text(encoding="utf-8")
    (state.parent / "mapped.yaml").write_text(mapped, encoding="utf-8")
    assert outbox(state, "-p", "mapped.yaml", "--redrive", "--json") == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["replayed"], answer["refused"], answer["no_event"]) == (1, 0, 1)
    store = Store.open(state)
    try:
        assert len(store.events_of("T-4")) == 2
    finally:
        store.close()
    assert outbox(state, "--rejects", "--json") == 1
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["origin"], r["replayed"] is not None) for r in listed] == [
        ("events.jsonl:3", False),
        ("events.jsonl:2", True),
    ]
    assert outbox(state, "--rejects") == 1
    assert "Replayed" in capsys.readouterr().out
    # Replayed rejects are not sent again; the one without an event stays as it is.
    assert outbox(state, "-p", "mapped.yaml", "--redrive", "--source", "events.jsonl:3") == 0
    assert capsys.readouterr().out.endswith(
        "0 rejects replayed, 0 still refused, 1 without an event to send\n"
    )
