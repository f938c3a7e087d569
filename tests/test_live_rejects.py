"""Rejected input keeps what was sent, to fix and resend: its text, ``outbox --rejects``."""

from __future__ import annotations

import json

import pytest

from live_support import POLICY, at, created
from slaengine.cli import main
from slaengine.live import LiveEngine, Store
from slaengine.live import store as store_module
from slaengine.live.schema import LATEST, MIGRATIONS
from slaengine.live.store import Reject
from slaengine.live.text import RAW_LIMIT, raw_text
from slaengine.policy import loads_policies


@pytest.mark.parametrize(
    ("raw", "limit", "text", "size"),
    [
        pytest.param(b'{"a": 1', RAW_LIMIT, '{"a": 1', 7, id="utf-8 bytes as they are"),
        pytest.param("caf\xe9", RAW_LIMIT, "caf\xe9", 5, id="text as it is"),
        pytest.param(b"caf\xe9", RAW_LIMIT, "caf\\xe9", 4, id="a byte that is not utf-8"),
        pytest.param("caf\udce9", RAW_LIMIT, "caf\\xe9", 4, id="that byte as a surrogate escape"),
        pytest.param("a\x00b", RAW_LIMIT, "a\\x00b", 3, id="nul"),
        pytest.param("x\ud800", RAW_LIMIT, "x\\ud800", 4, id="lone surrogate"),
        pytest.param("é" * 10, 4, "éé", 20, id="cut to the limit in bytes, full size kept"),
        pytest.param(b"ab\xc3\xa9", 3, "ab\\xc3", 4, id="a character cut in two"),
    ],
)
def test_raw_text_is_storable_and_sized(raw, limit, text, size):
    assert raw_text(raw, limit) == (text, size)


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    # No plugin is loaded, so the escalations notify nobody by name.
    policy = POLICY.replace("[lead]", "[]").replace("[manager]", "[]")
    (tmp_path / "policies.yaml").write_text(policy, encoding="utf-8")
    return tmp_path / "state.db"


def test_ingest_keeps_unreadable_lines_and_rejects_lists_and_exports_them(state, capsys):
    events = state.parent / "events.jsonl"
    refused = {**created("T-3"), "at": "yesterday"}
    events.write_bytes(
        json.dumps(created("T-1")).encode()
        + b'\n{"ticket": "T-2", "type": "crea\n'  # cut short
        + b'[red]\x1b[2J{"ticket": "caf\xe9"}\r\n'  # markup, a control code, not UTF-8
        + json.dumps(refused).encode()  # read, then refused
        + b"\n"
    )
    assert main(["ingest", "-p", "policies.yaml", "--state", str(state), str(events)]) == 1
    capsys.readouterr()

    assert main(["outbox", "--rejects", "--state", str(state), "--json"]) == 1
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["origin"] for row in exported] == [f"{events}:{n}" for n in (4, 3, 2)]
    newest, unreadable, cut_short = exported
    assert cut_short["raw"] == '{"ticket": "T-2", "type": "crea'
    assert (cut_short["raw_size"], cut_short["raw_complete"]) == (31, True)
    assert cut_short["payload"] is None
    assert cut_short["problem"].startswith("not valid JSON")
    assert unreadable["raw"] == '[red]\x1b[2J{"ticket": "caf\\xe9"}'
    # An event read as JSON: the object, with its keys in the order they were sent.
    assert newest["payload"] == refused
    assert list(newest["payload"]) == list(refused)
    assert list(refused) != sorted(refused)
    assert (newest["payload_text"], newest["raw"]) == (None, None)

    # --after goes on from an id, oldest first: an export in pieces.
    after = ["--after", str(cut_short["id"])]
    assert main(["outbox", "--rejects", "--state", str(state), "--json", *after]) == 1
    onward = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    assert onward == [unreadable["id"], newest["id"]]

    # The table shows the text with control codes as escapes and brackets as brackets.
    assert main(["outbox", "--rejects", "--state", str(state), "--tz", "UTC"]) == 1
    table = capsys.readouterr().out
    assert "\x1b" not in table
    assert "[red]\\x1b[2J" in table
    assert "3 rejects shown of 3" in table


def test_a_long_line_is_kept_up_to_the_limit_with_its_size(state, capsys):
    events = state.parent / "events.jsonl"
    line = '{"ticket": "' + "x" * (RAW_LIMIT + 5)
    events.write_text(line + "\n", encoding="utf-8")
    assert main(["ingest", "-p", "policies.yaml", "--state", str(state), str(events)]) == 1
    capsys.readouterr()
    assert main(["outbox", "--rejects", "--state", str(state), "--json"]) == 1
    (row,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert row["raw"] == line[:RAW_LIMIT]
    assert (row["raw_size"], row["raw_complete"]) == (len(line), False)


def test_no_rejects_exit_zero(state, capsys):
    Store.open(state).close()
    assert main(["outbox", "--rejects", "--state", str(state)]) == 0
    assert "0 rejects shown of 0" in capsys.readouterr().out
    assert main(["outbox", "--rejects", "--state", str(state), "--limit", "0"]) == 2


def test_a_state_from_before_migration_4_keeps_its_rejects(state, monkeypatch):
    with monkeypatch.context() as old:
        old.setattr(store_module, "MIGRATIONS", MIGRATIONS[:3])
        old.setattr(store_module, "LATEST", 3)
        store = Store.open(state)
        store._execute(
            "INSERT INTO rejects (origin, problem, payload, received) VALUES (?, ?, ?, ?)",
            ("f:1", "bad", None, 1),
        )
        store.close()
    store = Store.open(state)
    try:
        assert store.schema_version() == LATEST
        assert store.rejects() == [Reject("f:1", "bad", None, None, None)]
    finally:
        store.close()


def test_a_state_from_before_migration_7_keeps_its_rejects_without_a_body(state, monkeypatch):
    with monkeypatch.context() as old:
        old.setattr(store_module, "MIGRATIONS", MIGRATIONS[:6])
        old.setattr(store_module, "LATEST", 6)
        store = Store.open(state)
        store._execute(
            "INSERT INTO rejects (origin, problem, payload, received) VALUES (?, ?, ?, ?)",
            ("f:1", "bad", '{"n": 1}', 1),
        )
        store.close()
    store = Store.open(state)
    try:
        assert store.schema_version() == LATEST == 7
        (row,) = store.reject_page()
        kept = store.reject(row.id)
        assert kept is not None
        assert kept.reject == Reject("f:1", "bad", '{"n": 1}')
    finally:
        store.close()


def test_a_payload_with_no_json_form_keeps_its_stored_text(state, capsys):
    store = Store.open(state)
    try:
        store.add_events([], 1, [Reject("api:1", "cannot be written as JSON", "{'n': 1}")])
    finally:
        store.close()
    assert main(["outbox", "--rejects", "--state", str(state), "--json"]) == 1
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["payload"], row["payload_text"], row["raw"]) == (None, "{'n': 1}", None)


def test_the_json_export_keeps_the_webhook_body_an_inbox_reject_was_read_from(state, capsys):
    store = Store.open(state)
    try:
        engine = LiveEngine(loads_policies(POLICY, "live.yaml"), store)
        body = b'{"ticket": {"id": 88, "created_at": "soon", "note": "caf\xc3\xa9"}}'
        bad = {"id": "created", "ticket": "88", "at": "soon", "type": "created"}
        received = [("POST /inbox/acme#1 event 0", bad, None)]
        engine.ingest(received, at(1), body=(body, "application/json"))
        engine.ingest([("POST /events#2 index 0", {**bad, "ticket": "89"}, None)], at(2))
    finally:
        store.close()
    capsys.readouterr()

    for extra in ([], ["--after", "0"], ["--source", "POST /inbox/"]):
        assert main(["outbox", "--rejects", "--state", str(state), "--json", *extra]) == 1
        exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        rows = {row["payload"]["ticket"]: row for row in exported}
        inbox = rows["88"]
        # The webhook as the vendor sent it, beside the event it was translated into.
        assert inbox["body"] == body.decode("utf-8")
        assert (inbox["body_type"], inbox["body_size"], inbox["body_complete"]) == (
            "application/json",
            len(body),
            True,
        )
        assert inbox["payload"] == bad
        if "89" in rows:  # an event posted as such has no body beside it
            other = rows["89"]
            assert (other["body"], other["body_type"], other["body_size"]) == (None, None, None)
            assert other["body_complete"] is None
