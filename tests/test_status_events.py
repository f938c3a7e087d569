"""``slaengine status --events``: the live state's stored events out, as evaluate and whatif
read them (a backtest of what the server has seen)."""

from __future__ import annotations

import json
from pathlib import Path

from live_support import (  # noqa: F401 (fixture)
    EXAMPLE_AT,
    EXAMPLE_EVENTS,
    EXAMPLE_POLICIES,
    example_state_fixture,
)
from slaengine.cli import main

EVENTS = EXAMPLE_EVENTS
POLICIES = EXAMPLE_POLICIES
AT = EXAMPLE_AT


def _evaluated(capsys, events: Path) -> list[dict]:
    args = ["evaluate", "-p", str(POLICIES), "-e", str(events), "--at", AT, "--format", "json"]
    main(args)
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_stored_event_exported_evaluates_as_the_original_file(
    example_state, capsys, monkeypatch
):
    monkeypatch.setattr("slaengine.cli.status.EXPORT_PAGE", 5)  # several pages
    assert main(["status", "--state", str(example_state), "--events"]) == 0
    exported = capsys.readouterr().out
    (example_state.parent / "stored.jsonl").write_text(exported, encoding="utf-8")
    events = [json.loads(line) for line in exported.splitlines()]
    # Each stored once (the file's repeated event is a duplicate), in arrival order.
    assert len(events) == 31
    assert len({(e["ticket"], e.get("id"), e["at"], e["type"]) for e in events}) == 31
    assert _evaluated(capsys, example_state.parent / "stored.jsonl") == _evaluated(capsys, EVENTS)
    # ... so a policy change is backtested on what the state holds.
    whatif = ["whatif", "-p", str(POLICIES), "-a", str(POLICIES), "--at", AT, "--json"]
    assert main([*whatif, "-e", str(example_state.parent / "stored.jsonl")]) == 0
    assert json.loads(capsys.readouterr().out)["tickets"] == 7


def test_the_events_of_some_tickets(example_state, capsys):
    assert main(["status", "--state", str(example_state), "--events", "T-1005", "T-1001"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["ticket"] for e in events] == ["T-1005"] * 3 + ["T-1001"] * 8
    assert events[0]["type"] == "created"
    # An unknown ticket is said, the others still printed, exit 1.
    assert main(["status", "--state", str(example_state), "--events", "T-9", "T-1005"]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3
    assert "T-9: no such ticket" in err


def test_events_is_not_the_queue(example_state, capsys):
    assert main(["status", "--state", str(example_state), "--events", "--due-within", "2h"]) == 2
    assert "--events prints stored events; it takes no --due-within" in capsys.readouterr().err
