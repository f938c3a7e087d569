"""``slaengine status --events``: the live state's stored events out, as evaluate and whatif
read them (a backtest of what the server has seen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import slaengine
from slaengine.cli import main
from slaengine.live import LiveEngine, Store

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "examples" / "tickets.jsonl"
POLICIES = ROOT / "policies"
AT = "2025-12-03T16:00:00Z"


@pytest.fixture
def state(tmp_path, monkeypatch):
    """The example events stored in a live state, as ``slaengine serve`` stores them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    lines = EVENTS.read_text(encoding="utf-8").splitlines()
    store = Store.open(tmp_path / "state.db")
    engine = LiveEngine(slaengine.load_policies(POLICIES), store)
    engine.ingest([json.loads(line) for line in lines if line.strip()], 1764777600)
    store.close()
    return tmp_path / "state.db"


def _evaluated(capsys, events: Path) -> list[dict]:
    args = ["evaluate", "-p", str(POLICIES), "-e", str(events), "--at", AT, "--format", "json"]
    main(args)
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_stored_event_exported_evaluates_as_the_original_file(state, capsys, monkeypatch):
    monkeypatch.setattr("slaengine.cli.status.EXPORT_PAGE", 5)  # several pages
    assert main(["status", "--state", str(state), "--events"]) == 0
    exported = capsys.readouterr().out
    (state.parent / "stored.jsonl").write_text(exported, encoding="utf-8")
    events = [json.loads(line) for line in exported.splitlines()]
    # Each stored once (the file's repeated event is a duplicate), in arrival order.
    assert len(events) == 31
    assert len({(e["ticket"], e.get("id"), e["at"], e["type"]) for e in events}) == 31
    assert _evaluated(capsys, state.parent / "stored.jsonl") == _evaluated(capsys, EVENTS)
    # ... so a policy change is backtested on what the state holds.
    whatif = ["whatif", "-p", str(POLICIES), "-a", str(POLICIES), "--at", AT, "--json"]
    assert main([*whatif, "-e", str(state.parent / "stored.jsonl")]) == 0
    assert json.loads(capsys.readouterr().out)["tickets"] == 7


def test_the_events_of_some_tickets(state, capsys):
    assert main(["status", "--state", str(state), "--events", "T-1005", "T-1001"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["ticket"] for e in events] == ["T-1005"] * 3 + ["T-1001"] * 8
    assert events[0]["type"] == "created"
    # An unknown ticket is said, the others still printed, exit 1.
    assert main(["status", "--state", str(state), "--events", "T-9", "T-1005"]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3
    assert "T-9: no such ticket" in err


def test_events_is_not_the_queue(state, capsys):
    assert main(["status", "--state", str(state), "--events", "--due-within", "2h"]) == 2
    assert "--events prints stored events; it takes no --due-within" in capsys.readouterr().err
