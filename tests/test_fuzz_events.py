"""Poison event input: one line (or row) is a located problem and never the end of a run.

A corpus (tests/data/fuzz/events/) holds the cases found by fuzzing; every reader
(one process, forked workers, chunks, the byte and text spills, gzip, stdin) must
report them with their lines and evaluate every other ticket exactly as without
them. Hypothesis then throws arbitrary lines, CSV tables and Parquet tables at the
readers: no traceback, every problem located.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slaengine.batches import runner as batch
from slaengine.batches.chunks import read_chunk, write_chunks
from slaengine.batches.spill import read_partition, spill, spill_file
from slaengine.cli import main
from slaengine.errors import Problem, UserError
from slaengine.inputs import parse_line, read_events
from slaengine.inputs.tables import csv_lines
from slaengine.safetext import printable
from slaengine.timeline import TimelineSet

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "data" / "fuzz" / "events"
EXAMPLE = ROOT.parent / "examples" / "tickets.jsonl"
POLICIES = ROOT.parent / "policies"
AT = "2025-12-03T16:00:00Z"


def _examples(default: int) -> int:
    """Examples per property: bounded for CI; SLAENGINE_FUZZ_EXAMPLES runs longer locally."""
    return int(os.environ.get("SLAENGINE_FUZZ_EXAMPLES", default))


FUZZ = settings(
    max_examples=_examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _shown_safely(text: str) -> bool:
    """True when ``text`` holds no control character (see test_fuzz_terminal for the escapes)."""
    return printable(text) == text


# (line, column, code, start of the message) of every poison line of poison.jsonl.
POISON_PROBLEMS = [
    (2, 82, "E401", "a number has too many digits to be read"),
    (4, 0, "E401", "nested more than 64 levels deep"),
    (6, 15, "E401", "a lone surrogate escape is not text"),
    (8, 82, "E401", "NaN is not a JSON number"),
    (10, 82, "E401", "-Infinity is not a JSON number"),
    (12, 0, "E400", "'score' must be a finite number, got inf"),
    (14, 0, "E401", "nested more than 64 levels deep"),
    (16, 0, "E400", "'status' must be one of"),
    (17, 86, "E401", "not UTF-8 text: byte 0xFF cannot be read"),
]


def _located(problems: list[Problem]) -> list[tuple[int, int, str, str]]:
    return [(p.line, p.column, p.code, p.message) for p in problems]


def _matches(problems: list[Problem], expected: list[tuple[int, int, str, str]]) -> bool:
    found = _located(problems)
    return len(found) == len(expected) and all(
        (line, column, code) == (want_line, want_column, want_code) and message.startswith(start)
        for (line, column, code, message), (want_line, want_column, want_code, start) in zip(
            found, expected, strict=True
        )
    )


def _shape(timelines: TimelineSet) -> dict[str, list[tuple[int, str]]]:
    """Each ticket's events as (instant, type): what evaluation sees, without line numbers."""
    return {
        ticket: [(e.at, e.type) for e in timeline.events]
        for ticket, timeline in sorted(timelines.timelines.items())
    }


@pytest.fixture(scope="module")
def clean_shape() -> dict[str, list[tuple[int, str]]]:
    """The example timeline's tickets as they are without any poison line."""
    return _shape(read_events(EXAMPLE))


def test_poison_lines_are_located_and_the_rest_is_read_as_without_them(clean_shape):
    read = read_events(CORPUS / "poison.jsonl")
    assert _matches(read.problems, POISON_PROBLEMS), _located(read.problems)
    assert _shape(read) == clean_shape


def test_poison_lines_in_gzip_are_the_same_problems(tmp_path, clean_shape):
    packed = tmp_path / "poison.jsonl.gz"
    packed.write_bytes(gzip.compress((CORPUS / "poison.jsonl").read_bytes()))
    read = read_events(packed)
    assert _matches(read.problems, POISON_PROBLEMS)
    assert _shape(read) == clean_shape


def test_poison_lines_on_stdin_are_the_same_problems(monkeypatch, clean_shape):
    data = (CORPUS / "poison.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    read = read_events("-")
    assert _matches(read.problems, POISON_PROBLEMS)
    assert _shape(read) == clean_shape


def _merged(parts: list[TimelineSet]) -> tuple[dict[str, Any], list[Problem]]:
    shape: dict[str, Any] = {}
    problems: list[Problem] = []
    for part in parts:
        shape.update(_shape(part))
        problems.extend(part.problems)
    problems.sort(key=lambda p: p.line)
    return dict(sorted(shape.items())), problems


def _text_spill(path: Path, where: Path) -> Any:
    with path.open(encoding="utf-8", errors="surrogateescape") as stream:
        return spill(stream, where, 3, "x")


@pytest.mark.parametrize(
    "split",
    [
        pytest.param(lambda path, where: spill_file(path, where, 3, "x"), id="byte-spill"),
        pytest.param(
            lambda path, where: spill_file(path, where, 3, "x", workers=2), id="shared-spill"
        ),
        pytest.param(_text_spill, id="text-spill"),
    ],
)
def test_every_spill_reports_poison_lines_and_keeps_the_rest(tmp_path, clean_shape, split):
    spilled = split(CORPUS / "poison.jsonl", tmp_path / "spill")
    parts = [read_partition(files, "x") for files in spilled.partition_files()]
    shape, problems = _merged(parts)
    assert _matches(problems, POISON_PROBLEMS), _located(problems)
    assert shape == clean_shape


@pytest.fixture
def grouped_poison(tmp_path: Path) -> Path:
    """The poison lines first, then the example's events grouped by ticket (T-1001 first,
    which the poison lines name): a file the chunked reader takes."""
    lines = (CORPUS / "poison.jsonl").read_bytes().split(b"\n")
    poison = [lines[p[0] - 1] for p in _GROUPED_ORDER]
    events = sorted(EXAMPLE.read_bytes().splitlines(), key=lambda raw: json.loads(raw)["ticket"])
    path = tmp_path / "grouped.jsonl"
    path.write_bytes(b"\n".join([*poison, *events]) + b"\n")
    return path


# The poison lines with the lines naming T-1001 last, next to T-1001's own events.
_GROUPED_ORDER = [POISON_PROBLEMS[i] for i in (0, 1, 2, 7, 3, 4, 5, 6, 8)]
# POISON_PROBLEMS for the grouped file: the same problems on its first lines.
GROUPED_PROBLEMS = [
    (number, column, code, start)
    for number, (_line, column, code, start) in enumerate(_GROUPED_ORDER, start=1)
]


def test_chunks_report_poison_lines_and_keep_the_rest(tmp_path, clean_shape, grouped_poison):
    chunks = list(write_chunks(grouped_poison, tmp_path / "chunks", 1 << 11))
    assert len(chunks) > 2
    shape, problems = _merged([read_chunk(chunk, "x", {}).timelines for chunk in chunks])
    assert _matches(problems, GROUPED_PROBLEMS), _located(problems)
    assert shape == clean_shape


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("reader", ["ranges", "chunks", "spill"])
def test_map_tickets_goes_on_past_poison_lines(
    monkeypatch, clean_shape, grouped_poison, jobs, reader
):
    used: list[str] = []
    range_reader, chunk_reader = batch._map_ranges, batch._map_chunks

    def record(name: str, real: Any) -> Any:
        def recorded(*args: Any) -> Any:
            used.append(name)
            return real(*args)

        return recorded

    monkeypatch.setattr(batch, "_map_ranges", record("ranges", range_reader))
    monkeypatch.setattr(batch, "_map_chunks", record("chunks", chunk_reader))
    if reader == "chunks":  # the chunk files a gzip file is cut into
        monkeypatch.setattr(batch, "readable_in_ranges", lambda path: False)
    if reader == "spill":
        monkeypatch.setattr(batch, "chunkable", lambda path: False)
    result = batch.map_tickets(grouped_poison, _shape, jobs=jobs, partitions=3)
    assert used == ([] if reader == "spill" else [reader])
    shape: dict[str, Any] = {}
    for part in result.results:
        shape.update(part)
    assert dict(sorted(shape.items())) == clean_shape
    assert _matches(result.problems, GROUPED_PROBLEMS), _located(result.problems)


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_audit_of_poison_lines_writes_valid_json(capsys, jobs):
    status = main(
        ["audit", "-p", str(POLICIES), "-e", str(CORPUS / "poison.jsonl"), "--at", AT,
         "--json", "--jobs", jobs]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 1
    doc = _strict_json(out)
    assert doc["input"]["events_rejected"] == len(POISON_PROBLEMS)
    assert "poison.jsonl:2:82: E401" in err
    assert "Traceback" not in err


def test_evaluate_goes_on_past_poison_lines(capsys):
    status = main(
        ["evaluate", "-p", str(POLICIES), "-e", str(CORPUS / "poison.jsonl"), "--at", AT,
         "--format", "json"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 1
    tickets = [_strict_json(line)["ticket"] for line in out.splitlines()]
    assert tickets == sorted(read_events(EXAMPLE).timelines)
    assert err.count("poison.jsonl:") == len(POISON_PROBLEMS)


def test_a_line_nested_100000_deep_is_one_problem(tmp_path):
    path = tmp_path / "deep.jsonl"
    created = '{"ticket": "T-1", "at": "2025-12-01T08:00:00Z", "type": "created", '
    created += '"channel": "email", "priority": "high"}\n'
    deep = '{"ticket": "T-1", "fields": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}\n"
    path.write_text(created + "[" * 100_000 + "]" * 100_000 + "\n" + deep, encoding="utf-8")
    read = read_events(path)
    assert [(p.line, p.code) for p in read.problems] == [(2, "E401"), (3, "E401")]
    assert list(read.timelines) == ["T-1"]


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ("1e400", "'score' must be a finite number, got inf"),
        ("1" + "0" * 400, "'score' must be a finite number, got a number too large"),
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
    ],
    ids=["overflowing-float", "int-too-large-for-float", "nan", "infinity"],
)
def test_scores_must_be_finite(score, expected):
    problems: list[Problem] = []
    line = f'{{"ticket": "T-1", "at": "2025-12-01T08:00:00Z", "type": "csat", "score": {score}}}'
    assert parse_line(line, 7, "e", {}, problems) is None
    assert [(p.line, p.message[: len(expected)]) for p in problems] == [(7, expected)]


# -- CSV -------------------------------------------------------------------------------


def _created_rows(*tickets: str) -> str:
    return "".join(f"{t},2025-12-01T08:00:00Z,created,email,high\n" for t in tickets)


def test_csv_with_a_byte_order_mark_is_read():
    read = read_events(CORPUS / "bom.csv")
    assert (read.problems, list(read.timelines)) == ([], ["T-1"])


def test_csv_with_a_column_given_twice_is_refused():
    with pytest.raises(
        UserError, match=r"duplicate_columns\.csv:1: the column 'ticket' is given twice"
    ):
        read_events(CORPUS / "duplicate_columns.csv")


def test_csv_cell_over_the_field_limit_is_a_problem_of_its_line(tmp_path):
    path = tmp_path / "big.csv"
    header = "ticket,at,type,channel,priority\n"
    big = f"T-2,2025-12-01T08:00:00Z,created,{'x' * 140_000},high\n"
    path.write_text(header + _created_rows("T-1") + big + _created_rows("T-3"), encoding="utf-8")
    read = read_events(path)
    assert [(p.line, p.code) for p in read.problems] == [(3, "E401")]
    assert "field larger than field limit" in read.problems[0].message
    assert list(read.timelines) == ["T-1", "T-3"]


def test_csv_row_with_more_cells_than_columns_is_a_problem(tmp_path):
    path = tmp_path / "wide.csv"
    header = "ticket,at,type,channel,priority\n"
    rows = _created_rows("T-1").rstrip("\n") + ",,\n"  # trailing empty cells: fine
    rows += _created_rows("T-2").rstrip("\n") + ",surprise\n"
    path.write_text(header + rows, encoding="utf-8")
    read = read_events(path)
    assert [(p.line, p.code, p.message) for p in read.problems] == [
        (3, "E401", "this CSV row has 6 cells; the header names 5 columns")
    ]
    assert list(read.timelines) == ["T-1"]


def test_parquet_with_a_column_given_twice_is_refused(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.Table.from_arrays([pa.array(["T-1"]), pa.array(["T-2"])], names=["ticket", "ticket"])
    path = tmp_path / "twice.parquet"
    pq.write_table(table, path)
    with pytest.raises(UserError, match=r"twice\.parquet:1: the column 'ticket' is given twice"):
        read_events(path)


def test_csv_bytes_that_are_not_utf8_are_reported(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(
        b"ticket,at,type,channel,priority,customer\n"
        b"T-1,2025-12-01T08:00:00Z,created,email,high,M\xfcller\n" + _created_rows("T-2").encode()
    )
    read = read_events(path)
    assert [(p.line, p.code) for p in read.problems] == [(2, "E401")]
    assert list(read.timelines) == ["T-2"]


# -- Parquet ---------------------------------------------------------------------------


def test_a_file_that_is_not_parquet_is_a_user_error_naming_it(capsys):
    status = main(["evaluate", "-p", str(POLICIES), "-e", str(CORPUS / "not_parquet.parquet")])
    err = capsys.readouterr().err
    assert status == 2
    assert "not_parquet.parquet: not a readable Parquet file" in err
    assert "Traceback" not in err


@pytest.fixture
def parquet_file(tmp_path: Path) -> Path:
    """Three tickets in Parquet, the second created in the year 11476."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    hour = 3_600_000_000
    start = 1_764_576_000_000_000  # 2025-12-01T08:00:00Z in microseconds
    table = pa.table(
        {
            "ticket": ["T-1", "T-2", "T-3"],
            "at": pa.array([start, 300_000_000_000 * 1_000_000, start + hour],
                           pa.timestamp("us", tz="UTC")),
            "type": ["created"] * 3,
            "channel": ["email"] * 3,
            "priority": ["high"] * 3,
        }
    )  # fmt: skip
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    return path


def test_parquet_timestamp_beyond_9999_is_a_problem_of_its_row(parquet_file, monkeypatch):
    read = read_events(parquet_file)
    assert [(p.line, p.code) for p in read.problems] == [(2, "E400")]
    assert read.problems[0].message.startswith("timestamp '11476-08-15")
    assert read.problems[0].message.endswith("is outside the years 1900 to 2199")
    assert list(read.timelines) == ["T-1", "T-3"]
    for chunked in (True, False):  # row ranges, and the Arrow spill
        if not chunked:
            monkeypatch.setattr(batch, "parquet_tasks", lambda path, count, jobs: None)
        result = batch.map_tickets(parquet_file, _shape, jobs=1)
        assert [(p.line, p.code) for p in result.problems] == [(2, "E400")]


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_parquet_is_a_user_error(parquet_file, tmp_path, capsys, keep):
    data = parquet_file.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: int(len(data) * keep)])
    for command in ("evaluate", "audit"):
        status = main([command, "-p", str(POLICIES), "-e", str(cut), "--at", AT])
        err = capsys.readouterr().err
        assert status == 2
        assert "cut.parquet: not a readable Parquet file" in err


# -- hypothesis --------------------------------------------------------------------------

_KEYS = ["ticket", "at", "type", "channel", "priority", "author", "status", "score", "fields",
         "tags", "id", "public"]  # fmt: skip
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**310),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["created", "message", "csat", "email", "high", "agent",
                     "2025-12-01T08:00:00Z", "9999-12-31T23:59:59+14:00", "T-\ud800"]),
)  # fmt: skip
_JSON = st.recursive(
    _VALUES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _event_text(obj: dict[str, Any], mangle: int) -> str:
    text = json.dumps(obj, allow_nan=True)
    if mangle == 1:
        return text.replace("1", "NaN", 1)
    if mangle == 2:
        return text[: len(text) // 2]
    if mangle == 3:
        return "[" * 80 + text + "]" * 80
    return text


def _checked_parse(line: str, number: int) -> None:
    problems: list[Problem] = []
    event = parse_line(line, number, "fuzz", {}, problems)
    if event is None:
        assert all(p.line == number and p.source == "fuzz" for p in problems)
        assert all(_shown_safely(str(p)) for p in problems)
    else:
        assert problems == []
        assert isinstance(event.at, int)
        assert event.score is None or math.isfinite(event.score)


@FUZZ
@given(
    obj=st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=8),
    mangle=st.integers(0, 4),
    number=st.integers(1, 10**6),
)
def test_any_json_line_is_an_event_or_a_located_problem(obj, mangle, number):
    _checked_parse(_event_text(obj, mangle), number)


@FUZZ
@given(line=st.text(max_size=200), number=st.integers(1, 1000))
def test_any_text_line_is_an_event_or_a_located_problem(line, number):
    _checked_parse(line, number)


@FUZZ
@given(lines=st.lists(st.binary(max_size=120), max_size=12))
def test_any_bytes_file_is_read_to_the_end(tmp_path, lines):
    path = tmp_path / "fuzz.jsonl"
    created = b'{"ticket": "T-ok", "at": "2025-12-01T08:00:00Z", "type": "created", '
    created += b'"channel": "email", "priority": "high"}'
    path.write_bytes(b"\n".join([*lines, created]) + b"\n")
    read = read_events(path)
    assert "T-ok" in read.timelines
    assert all(p.line >= 1 and _shown_safely(str(p)) for p in read.problems)


_CELL = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["T-1", "T-2", "created", "message", "email", "high", "agent", "NaN",
                     "inf", "-1e999", "2025-12-01T08:00:00Z", '["a"]', '{"a": 1}', "\ufeff"]),
)  # fmt: skip


@FUZZ
@given(
    header=st.lists(st.sampled_from([*_KEYS, "fields.plan", "x"]), min_size=1, max_size=7),
    rows=st.lists(st.lists(_CELL, max_size=8), max_size=6),
)
def test_any_csv_table_is_read_or_refused_clearly(tmp_path, header, rows):
    import csv

    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    if len(set(header)) < len(header):
        with pytest.raises(UserError, match="is given twice"):
            list(csv_lines(path))
        return
    read = read_events(path)
    assert all(p.line >= 2 and _shown_safely(str(p)) for p in read.problems)


def _keys(problems: list[Problem]) -> list[tuple[int, str, str]]:
    return sorted((p.line, p.code, p.message) for p in problems)


@FUZZ
@given(
    # Within what Parquet stores for every unit (seconds are written as milliseconds).
    at=st.lists(st.integers(-(2**53), 2**53) | st.none(), min_size=1, max_size=6),
    score=st.lists(st.floats() | st.none(), min_size=6, max_size=6),
    unit=st.sampled_from(["s", "ms", "us", "ns"]),
    tz=st.sampled_from([None, "UTC", "Europe/Berlin"]),
)
def test_any_parquet_table_is_read_row_by_row(tmp_path, at, score, unit, tz):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = len(at)
    table = pa.table(
        {
            "ticket": [f"T-{i // 2}" for i in range(rows)],  # grouped: row ranges apply
            "at": pa.array(at, pa.timestamp(unit, tz=tz)),
            "type": ["csat" if i % 2 else "created" for i in range(rows)],
            "channel": ["email"] * rows,
            "priority": ["high"] * rows,
            "score": pa.array(score[:rows], pa.float64()),
        }
    )
    path = tmp_path / "fuzz.parquet"
    pq.write_table(table, path, row_group_size=2)
    read = read_events(path)
    assert all(1 <= p.line <= rows and _shown_safely(str(p)) for p in read.problems)
    for timeline in read.timelines.values():
        assert all(e.score is None or math.isfinite(e.score) for e in timeline.events)
    # The column-wise readers (the Arrow spill, row ranges) report the same problems.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "parquet_tasks", lambda path, count, jobs: None)
        spilled = batch.map_tickets(path, _shape, partitions=2)
    assert _keys(spilled.problems) == _keys(read.problems)
    ranged = batch.map_tickets(path, _shape, partitions=2)
    assert _keys(ranged.problems) == _keys(read.problems)


def test_a_csat_score_from_a_table_must_be_finite(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(
        "ticket,at,type,channel,priority,score\n"
        "T-1,2025-12-01T08:00:00Z,created,email,high,\n"
        "T-1,2025-12-01T09:00:00Z,csat,,,NaN\n"
        "T-1,2025-12-01T09:00:00Z,csat,,,inf\n"
        "T-1,2025-12-01T09:00:00Z,csat,,,4\n",
        encoding="utf-8",
    )
    read = read_events(path)
    assert [(p.line, p.code, p.message) for p in read.problems] == [
        (3, "E400", "a csat event needs a numeric 'score', got a string"),
        (4, "E400", "a csat event needs a numeric 'score', got a string"),
    ]
    assert [e.score for e in read.timelines["T-1"].events] == [None, 4.0]


def test_nan_in_a_parquet_number_column_is_an_empty_cell(tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    nan = float("nan")
    table = pa.table(
        {
            "ticket": ["T-1", "T-1", "T-1"],
            "at": ["2025-12-01T08:00:00Z", "2025-12-01T09:00:00Z", "2025-12-01T10:00:00Z"],
            "type": ["created", "csat", "csat"],
            "channel": ["email", None, None],
            "priority": ["high", None, None],
            "score": [nan, float("inf"), 4.0],
            "fields.amount": [nan, None, None],
        }
    )
    path = tmp_path / "pandas.parquet"
    pq.write_table(table, path)
    read = read_events(path)
    expected = [(2, "E400", "a csat event needs a numeric 'score', got null")]
    assert _keys(read.problems) == expected
    assert [(e.type, e.score, e.fields) for e in read.timelines["T-1"].events] == [
        ("created", None, None),
        ("csat", 4.0, None),
    ]
    monkeypatch.setattr(batch, "parquet_tasks", lambda path, count, jobs: None)
    assert _keys(batch.map_tickets(path, _shape).problems) == expected
