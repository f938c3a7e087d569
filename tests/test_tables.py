"""CSV and Parquet events read exactly like the same events in JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import slaengine
from slaengine.cli import main
from slaengine.inputs.tables import csv_lines

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tickets.jsonl"
COLUMNS = [
    "ticket",
    "at",
    "type",
    "id",
    "channel",
    "priority",
    "status",
    "customer",
    "group",
    "assignee",
    "tags",
    "fields",
    "author",
    "public",
    "agent",
    "score",
]


def _example_events() -> list[dict]:
    return [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()]


def _write_csv(path: Path, events: list[dict]) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        for event in events:
            row = {k: v for k, v in event.items() if k in COLUMNS}
            if "tags" in row:
                row["tags"] = ";".join(row["tags"])
            if "fields" in row:
                row["fields"] = json.dumps(row["fields"])
            if "public" in row:
                row["public"] = "true" if row["public"] else "false"
            writer.writerow(row)


def _table(pa, rows: list[dict]):
    """A pyarrow table with every key of every row as a column (missing cells null)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    return pa.Table.from_pylist([{k: row.get(k) for k in keys} for row in rows])


def _evaluate_json(path: Path, capsys) -> list[dict]:
    status = main(
        [
            "evaluate",
            "-p",
            str(ROOT / "policies"),
            "-e",
            str(path),
            "--at",
            "2025-12-03T16:00:00Z",
            "--format",
            "json",
        ]
    )
    assert status == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_csv_evaluates_like_json_lines(tmp_path, capsys):
    table = tmp_path / "events.csv"
    _write_csv(table, _example_events())
    assert _evaluate_json(table, capsys) == _evaluate_json(EXAMPLE, capsys)


def test_parquet_evaluates_like_json_lines(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    events = _example_events()
    for event in events:  # Parquet has real types: aware timestamps, lists, numbers
        event["at"] = slaengine.calendar.from_epoch(slaengine.parse_event(event).at)
    table = _table(pa, events)
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    assert _evaluate_json(path, capsys) == _evaluate_json(EXAMPLE, capsys)


def test_csv_cells_are_typed_and_lines_are_the_files(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "ticket,at,type,channel,priority,tags,fields.plan,author,public,score\n"
        "A,2025-12-01T10:00:00Z,created,email,high,vip; gold,pro,,,\n"
        "A,2025-12-01T10:05:00Z,message,,,,,agent,false,\n"
        '"B\nB",2025-12-01T10:00:00Z,created,chat,low,,,,,\n'
        "A,2025-12-01T10:09:00,csat,,,,,,,4\n",
        encoding="utf-8",
    )
    lines = list(csv_lines(path))
    assert lines[0] == ""
    first = json.loads(lines[1])
    assert first["tags"] == ["vip", "gold"]
    assert first["fields"] == {"plan": "pro"}
    assert json.loads(lines[2])["public"] is False
    timelines = slaengine.read_events(path)
    # Line 6 holds the csat row (the quoted cell of B spans lines 4 and 5); it has no offset.
    assert [(p.line, p.code) for p in timelines.problems] == [(6, "E400")]
    assert "no UTC offset" in timelines.problems[0].message
    assert sorted(timelines.timelines) == ["A", "B\nB"]


def test_audit_and_whatif_read_parquet(tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    jsonl = tmp_path / "h.jsonl"
    assert main(["generate", "-n", "300", "--seed", "4", "-o", str(jsonl)]) == 0
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    pq.write_table(_table(pa, rows), tmp_path / "h.parquet")
    args = ["-p", str(ROOT / "policies"), "--at", "2025-12-01T00:00:00Z"]
    outputs = []
    for source in ("h.jsonl", "h.parquet"):
        assert (
            main(
                [
                    "whatif",
                    *args,
                    "-a",
                    str(ROOT / "policies"),
                    "-e",
                    str(tmp_path / source),
                    "--json",
                ]
            )
            == 0
        )
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert outputs[0]["tickets"] == 300
