"""explain names what stopped a metric defined in YAML by what its triggers look at: an
update that moves the group and assigns the ticket stops a metric on the group, and its
text says so."""

from __future__ import annotations

import json

from slaengine.cli import main

POLICY = """\
version: 1
metrics:
  in_tier2: {start: created, stop: {group: tier2}}
  owned: {start: created, stop: assigned}
  low_cancel: {start: created, stop: agent_reply, cancel: {priority: low}}
policies:
  - name: p
    metrics:
      in_tier2: {targets: 4h}
      owned: {targets: 4h}
      low_cancel: {targets: 4h}
"""
ROWS = [
    {"ticket": "B", "at": "2025-12-01T09:00:00Z", "type": "created", "channel": "chat",
     "priority": "normal"},
    {"ticket": "B", "at": "2025-12-01T09:20:00Z", "type": "update", "group": "tier2",
     "assignee": "bob", "priority": "low"},
    {"ticket": "C", "at": "2025-12-01T09:00:00Z", "type": "created", "channel": "chat",
     "priority": "normal", "group": "tier2", "assignee": "bob"},
]  # fmt: skip


def _stop_texts(tmp_path, capsys, ticket: str) -> dict[str, str]:
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    args = ["explain", "-p", str(tmp_path / "p.yaml"), "-e", str(events), "--ticket", ticket]
    assert main([*args, "--at", "2025-12-01T10:00:00Z", "--json"]) == 0
    return {m["metric"]: m["stop_text"] for m in json.loads(capsys.readouterr().out)["metrics"]}


def test_the_stop_text_names_what_the_trigger_looks_at(tmp_path, capsys):
    assert _stop_texts(tmp_path, capsys, "B") == {
        "in_tier2": "fulfilled by the move to group tier2",
        "owned": "fulfilled by the assignment to bob",
        "low_cancel": "cancelled by the priority change to low",
    }


def test_at_creation_the_text_names_the_attribute_it_was_created_with(tmp_path, capsys):
    texts = _stop_texts(tmp_path, capsys, "C")
    assert texts["in_tier2"] == "fulfilled by group tier2 at creation"
    assert texts["owned"] == "fulfilled by the assignment to bob at creation"
