"""``slaengine status --due-within``: the at-risk queue from the command line."""

from __future__ import annotations

import json

import pytest

from live_support import at, created, event, iso_at, reply, restored_logging_fixture  # noqa: F401 (fixture)
from slaengine.cli import main
from slaengine.live import LiveEngine, Store
from slaengine.policy import loads_policies

POLICY = """
policies:
  - name: chat
    match: {channel: chat}
    metrics:
      first_response:
        targets: 1h
        pause_when: [on_hold]
"""

pytestmark = pytest.mark.usefixtures("restored_logging")


@pytest.fixture
def state(tmp_path, monkeypatch):
    """A state database advanced to minute 40, and the policy file; run from tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    store = Store.open(tmp_path / "state.db")
    engine = LiveEngine(loads_policies(POLICY, "policy.yaml"), store)
    engine.ingest(
        [
            created("T-late", 30, group="billing", assignee="ana"),
            created("T-early", 0, group="billing", assignee="ben"),
            created("T-mid", 10, group="tech", assignee="ana"),
            created("T-paused", 5, group="tech"),
            event("T-paused", 6, "status", status="on_hold"),
            created("T-done", 0),
            reply("T-done", 2),
        ],
        at(0),
    )
    engine.advance(at(40))
    store.close()
    return ["--state", "state.db", "-p", "policy.yaml", "--at", iso_at(40)]


def queue(capsys, *args):
    assert main(["status", *args, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    return document, [clock["ticket"] for clock in document["clocks"]]


def test_queue_as_json(state, capsys):
    document, tickets = queue(capsys, *state, "--due-within", "2h")
    assert tickets == ["T-early", "T-mid", "T-late"]
    assert (document["at"], document["within_seconds"], document["count"]) == (
        "2025-12-01T10:40:00Z",
        7200,
        3,
    )
    assert document["clocks"][0]["due_in_seconds"] == 20 * 60


def test_queue_needs_no_policies(state, capsys):
    without = [word for word in state if word not in ("-p", "policy.yaml")]
    assert queue(capsys, *without, "--due-within", "2h")[1] == ["T-early", "T-mid", "T-late"]


def test_queue_filters_and_limit(state, capsys):
    assert queue(capsys, *state, "--due-within", "30m")[1] == ["T-early", "T-mid"]
    assert queue(capsys, *state, "--due-within", "2h", "--group", "billing")[1] == [
        "T-early",
        "T-late",
    ]
    assert queue(capsys, *state, "--due-within", "2h", "--agent", "ana")[1] == ["T-mid", "T-late"]
    assert queue(capsys, *state, "--due-within", "2h", "--limit", "1")[1] == ["T-early"]


def test_queue_as_a_table(state, capsys):
    assert main(["status", *state, "--due-within", "2h", "--group", "billing"]) == 0
    out = capsys.readouterr().out
    assert "Due within 2h · group billing · 2 clocks" in out
    lines = [line for line in out.splitlines() if "T-" in line]
    assert _cells(out, "Ticket", "Metric") == ["T-early", "T-late"]
    assert "20m" in lines[0]
    assert "ben" in lines[0]


def test_the_queue_says_when_tickets_wait_for_the_worker(state, capsys):
    assert main(["status", *state, "--due-within", "2h"]) == 0
    assert capsys.readouterr().err == ""  # the worker is up to date: nothing to say
    store = Store.open("state.db")  # a ticket ingested since the worker's last cycle
    try:
        LiveEngine(loads_policies(POLICY, "policy.yaml"), store).ingest(
            [created("T-new", 35)], at(36)
        )
    finally:
        store.close()
    assert main(["status", *state, "--due-within", "2h"]) == 0
    out, err = capsys.readouterr()
    assert "T-new" not in out
    assert err == (
        "note: 1 ticket waits for the worker's next cycle (new events, or a warning or breach "
        "point reached) and may be missing above; slaengine run, serve or ingest --advance "
        "evaluates them\n"
    )
    # JSON is for tools: the document alone.
    assert main(["status", *state, "--due-within", "2h", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["count"] == 3
    assert err == ""


def test_overdue_clocks_say_so(state, capsys):
    late = [*state[:-1], iso_at(70)]
    main(["status", *late, "--due-within", "5m"])
    out = capsys.readouterr().out
    assert "overdue 10m" in out


def test_long_durations_read_in_days_and_hours_as_in_the_audit(state, capsys):
    # T-early was due at minute 60: three days and four hours later, in the terminal as
    # the audit reports write it, never as 76h; JSON keeps whole seconds for tools.
    later = [*state[:-1], iso_at(60 + (3 * 24 + 4) * 60)]
    assert main(["status", *later, "--due-within", "5m", "--group", "billing"]) == 0
    assert "overdue 3d 4h" in capsys.readouterr().out
    assert main(["status", *later, "T-early"]) == 0
    table = capsys.readouterr().out
    assert "-3d 4h" in table
    assert "76h" not in table
    assert main(["status", *later, "T-early", "--format", "json"]) == 0
    remaining = json.loads(capsys.readouterr().out)["metrics"][0]["remaining_seconds"]
    assert remaining == -(3 * 24 + 4) * 3600


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give ticket ids, or --due-within"),
        (["T-1", "--due-within", "1h"], "not both"),
        (["T-1", "--group", "x"], "add --due-within"),
        (["--due-within", "soon"], "--due-within: expected a duration"),
        (["--due-within", "1h", "--limit", "0"], "--limit must be 1 or more"),
    ],
)
def test_usage_errors(state, capsys, extra, message):
    assert main(["status", *state, *extra]) == 2
    assert message in capsys.readouterr().err


def test_ticket_status_still_works_with_format_json(state, capsys):
    assert main(["status", *state, "T-mid", "--format", "json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["metrics"][0]["remaining_seconds"] == 30 * 60


LABELLED = """
version: 1
metrics:
  owning: {start: created, stop: assigned, label: Ownership}
policies:
  - name: chat
    metrics:
      first_response: {targets: 1h}
      owning: {targets: 2h}
agreements:
  - name: tier2-ola
    kind: ola
    match: {group: tier2}
    metrics:
      first_response: {targets: 30m}
"""


@pytest.fixture
def labelled(tmp_path, monkeypatch):
    """A state with a defined metric that has a label and an agreement's clock."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    (tmp_path / "policy.yaml").write_text(LABELLED, encoding="utf-8")
    store = Store.open(tmp_path / "state.db")
    engine = LiveEngine(loads_policies(LABELLED, "policy.yaml"), store)
    engine.ingest([created("T-1", 0, group="tier2")], at(0))
    engine.advance(at(10))
    store.close()
    return ["--state", "state.db", "--at", iso_at(10), "--due-within", "3h"]


def _cells(out: str, column: str, after: str, ticket: str = "T-") -> list[str]:
    """The cells of ``column`` (up to ``after``'s header) in the rows of ``ticket``."""
    header = next(line for line in out.splitlines() if line.split()[:2] == ["Due", "In"])
    start, end = header.index(column), header.index(after)
    return [line[start:end].strip() for line in out.splitlines() if ticket in line]


def _metric_cells(out: str) -> list[str]:
    return _cells(out, "Metric", "#", "T-1")


def test_the_queue_names_metrics_by_their_labels_when_policies_are_given(labelled, capsys):
    assert main(["status", *labelled, "-p", "policy.yaml"]) == 0
    cells = _metric_cells(capsys.readouterr().out)
    assert cells == ["tier2-ola: First response", "First response", "Ownership"]


def test_the_queue_reads_the_policies_the_live_config_names(labelled, capsys, tmp_path):
    (tmp_path / "slaengine.toml").write_text('[live]\npolicies = ["policy.yaml"]\n')
    assert main(["status", *labelled]) == 0
    assert _metric_cells(capsys.readouterr().out)[-1] == "Ownership"


def test_without_policies_the_queue_shows_stored_names_and_json_keeps_names(labelled, capsys):
    assert main(["status", *labelled]) == 0
    cells = _metric_cells(capsys.readouterr().out)
    assert cells == ["tier2-ola/first_response", "first_response", "owning"]
    assert main(["status", *labelled, "-p", "policy.yaml", "--format", "json"]) == 0
    clocks = json.loads(capsys.readouterr().out)["clocks"]
    assert [(c["metric"], c.get("agreement")) for c in clocks] == [
        ("first_response", "tier2-ola"),
        ("first_response", None),
        ("owning", None),
    ]


@pytest.mark.parametrize("width", [40, 56, 72])
def test_a_terminal_too_narrow_for_the_kept_columns_shows_each_clock_as_a_record(
    tmp_path, monkeypatch, capsys, width
):
    """Nothing is cut: when even the columns that are never dropped do not fit, each
    clock is a block of ``Header value`` lines instead of a table with its right cut off."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    monkeypatch.setenv("COLUMNS", str(width))
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    ticket = "ACME/support/2026/0000098765"
    store = Store.open(tmp_path / "state.db")
    engine = LiveEngine(loads_policies(POLICY, "policy.yaml"), store)
    engine.ingest([created(ticket, 0, group="billing")], at(0))
    engine.advance(at(90))
    store.close()
    args = ["--state", "state.db", "-p", "policy.yaml", "--at", iso_at(90)]

    assert main(["status", *args, "--due-within", "2h"]) == 0
    queue_out = capsys.readouterr().out
    assert main(["status", *args, ticket]) == 0
    ticket_out = capsys.readouterr().out
    for out, kept in (
        (queue_out, (ticket, "First response", "breached", "overdue 30m")),
        (ticket_out, ("First response", "breached", "-30m", "Next alert")),
    ):
        lines = out.splitlines()
        assert max(len(line.rstrip()) for line in lines) <= width, out
        cells = {cell.strip() for line in lines for cell in line.split("  ") if cell.strip()}
        for value in kept:
            assert any(value in cell for cell in cells), (value, out)
        assert "…" not in out
