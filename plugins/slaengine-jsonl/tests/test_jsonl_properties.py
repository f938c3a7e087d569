"""Property: however the files grow and whatever the limits, every line is read exactly once."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slaengine_jsonl.reader import JsonlSource

_values = st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.none())
_objects = st.dictionaries(st.text(max_size=6), _values, max_size=4).map(
    lambda obj: json.dumps(obj, ensure_ascii=False)  # multibyte text gets cut mid-character too
)
_lines = st.one_of(
    _objects,
    _objects,
    st.sampled_from(["", "   ", "\r", "{", "not json", "[1, 2]", '{"a": }', "42"]),
)
# A file: its lines, and whether its last line ends with a newline.
_files = st.tuples(st.lists(_lines, max_size=12), st.booleans())


def _content(lines: list[str], newline_at_end: bool) -> bytes:
    text = "\n".join(lines) + ("\n" if newline_at_end and lines else "")
    return text.encode()


def _expected(where: str, content: bytes, complete: bool) -> list[tuple[str, object]]:
    """What a reader must return for a file: ``(origin, payload or "problem")`` per line."""
    raws = content.split(b"\n")
    if not complete or content.endswith(b"\n"):
        raws = raws[:-1]  # an unfinished last line, or the nothing after the final newline
    found: list[tuple[str, object]] = []
    for number, raw in enumerate(raws, start=1):
        text = raw.decode()
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        found.append((f"{where}:{number}", value if isinstance(value, dict) else "problem"))
    return found


def _seen(records) -> list[tuple[str, object]]:
    return [(r.origin, r.payload if r.problem is None else "problem") for r in records]


@pytest.mark.parametrize("layout", ["file", "directory"])
@given(files=st.lists(_files, min_size=1, max_size=4), data=st.data())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_line_once_whatever_the_chunks_and_limits(layout, files, data):
    if layout == "file":
        files = files[:1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "000.jsonl" if layout == "file" else root
        cursor: str | None = None
        got = []

        def read_some() -> None:
            nonlocal cursor
            for _ in range(data.draw(st.integers(0, 3), label="reads")):
                limit = data.draw(st.integers(1, 6), label="limit")
                # A fresh source each time, as after a restart of the worker.
                batch = JsonlSource("events", path).read(cursor, limit)
                assert JsonlSource("events", path).read(cursor, limit) == batch
                assert len(batch.records) <= limit
                if not batch.records:
                    assert batch.cursor == cursor
                got.extend(batch.records)
                cursor = batch.cursor

        expected = []
        for index, (lines, newline_at_end) in enumerate(files):
            name = root / f"{index:03d}.jsonl"
            content = _content(lines, newline_at_end)
            cuts = sorted(
                data.draw(st.lists(st.integers(0, len(content)), max_size=5), label="cuts")
            )
            name.write_bytes(b"")
            for start, end in zip([0, *cuts], [*cuts, len(content)], strict=True):
                with name.open("ab") as handle:
                    handle.write(content[start:end])
                read_some()
            last = index == len(files) - 1
            where = str(path) if layout == "file" else str(name)
            expected += _expected(where, content, complete=not last)

        while True:  # drain what is left
            batch = JsonlSource("events", path).read(cursor, data.draw(st.integers(1, 6)))
            if not batch.records:
                break
            got.extend(batch.records)
            cursor = batch.cursor

        assert _seen(got) == expected
