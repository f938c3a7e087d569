"""Streaming evaluate writing a grouped input's parts straight to a file or the null device.

In one process, the parts of an input read in order need no spool file when the
output can take back what it got should the input turn out not to be grouped
after all: a regular file is truncated to where it was, the null device keeps
nothing. The output is the same bytes the spooled run writes.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest

from slaengine import stream
from slaengine.event_parsing import parse_instant
from slaengine.inputs.synthetic import write_jsonl
from slaengine.policy import PolicySet, load_policies
from slaengine.stream import StreamOptions, evaluate_stream
from slaengine.stream_output import DirectOutput
from stream_support import reference_csv, reference_json, reference_results, write_regrouped

ROOT = Path(__file__).resolve().parents[1]
AT = "2025-10-01T00:00:00Z"


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(ROOT / "policies")


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 synthetic tickets, each ticket's events on consecutive lines."""
    path = tmp_path_factory.mktemp("direct") / "grouped.jsonl"
    write_jsonl(path, 1500, 7, dt.datetime(2025, 9, 1, tzinfo=dt.UTC), 30)
    return path


@pytest.fixture(scope="module")
def regrouped(grouped: Path) -> Path:
    """Grouped for more lines than the check of a file's start reads, then the first
    ticket's events again: the parts are given up for the spill midway."""
    return write_regrouped(grouped)


def _expected(policies: PolicySet, events: Path, fmt: str, limit: int | None = None) -> str:
    results = reference_results(policies, events, AT)[:limit]
    return reference_csv(results) if fmt == "csv" else reference_json(results)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many parts were spooled and how many written straight to the output."""
    counted = {"spooled": 0, "direct": 0}
    spooled, direct = stream.evaluate_part, stream._direct_part

    def counting_spooled(*args: object) -> stream.PartOutput:
        counted["spooled"] += 1
        return spooled(*args)  # type: ignore[arg-type]

    def counting_direct(*args: object) -> stream.PartOutput:
        counted["direct"] += 1
        return direct(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(stream, "evaluate_part", counting_spooled)
    monkeypatch.setattr(stream, "_direct_part", counting_direct)
    return counted


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("limit", [None, 700])
def test_a_file_gets_a_grouped_inputs_parts_straight(policies, grouped, tmp_path, monkeypatch,
                                                     calls, fmt, limit):  # fmt: skip
    monkeypatch.setattr(stream, "CHUNK_BYTES", 1 << 16)  # many parts: --limit spans them
    target = tmp_path / f"out.{fmt}"
    options = StreamOptions(parse_instant(AT), fmt, limit=limit)
    with target.open("w", encoding="utf-8") as out:
        out.write("first\n")  # text the stream holds before the parts follow
        summary = evaluate_stream(policies, grouped, options, out)
    assert target.read_text(encoding="utf-8") == "first\n" + _expected(
        policies, grouped, fmt, limit
    )
    assert calls["direct"] > 3
    assert calls["spooled"] == 0
    assert summary.shown == (limit or 1500)


@pytest.mark.parametrize("mode", ["w", "a"])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_what_a_file_got_is_taken_back_when_the_input_is_spilled_after_all(
    policies, regrouped, tmp_path, calls, mode, fmt
):
    # The first ticket comes back after the chunks written so far: the run starts again
    # from the spill, and the file holds what it held before, then the output, once.
    target = tmp_path / f"out.{fmt}"
    target.write_text("before\n", encoding="utf-8")
    options = StreamOptions(parse_instant(AT), fmt)
    with target.open(mode, encoding="utf-8") as out:
        if mode == "w":
            out.write("first\n")
        evaluate_stream(policies, regrouped, options, out)
    prefix = "first\n" if mode == "w" else "before\n"
    assert target.read_text(encoding="utf-8") == prefix + _expected(policies, regrouped, fmt)
    assert calls["direct"] > 1
    assert calls["spooled"] > 1


def test_a_run_that_fails_leaves_the_file_as_it_was(policies, grouped, tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_BYTES", 1 << 16)
    real = stream._direct_part
    made: list[int] = []

    def failing(*args: object) -> stream.PartOutput:
        if made:
            raise OSError(28, "No space left on device")
        made.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(stream, "_direct_part", failing)
    target = tmp_path / "out.jsonl"
    options = StreamOptions(parse_instant(AT), "json")
    with target.open("w", encoding="utf-8") as out:
        out.write("first\n")
        with pytest.raises(OSError, match="No space"):
            evaluate_stream(policies, grouped, options, out)
    assert made  # a part was written before the failure, and taken back
    assert target.read_text(encoding="utf-8") == "first\n"


def test_the_null_device_gets_the_parts_straight(policies, grouped, regrouped, calls):
    options = StreamOptions(parse_instant(AT), "json")
    with open(os.devnull, "w", encoding="utf-8") as out:
        assert evaluate_stream(policies, grouped, options, out).shown == 1500
    assert calls == {"direct": calls["direct"], "spooled": 0}
    assert calls["direct"] > 0
    with open(os.devnull, "w", encoding="utf-8") as out:
        summary = evaluate_stream(policies, regrouped, options, out)
    assert summary.shown == summary.tickets == 3000


def test_only_outputs_that_can_take_text_back_are_written_straight(tmp_path):
    read, write = os.pipe()
    try:
        with open(write, "w", encoding="utf-8", closefd=False) as pipe:
            assert DirectOutput.of(pipe) is None
    finally:
        os.close(read)
        os.close(write)
    assert DirectOutput.of(io.StringIO()) is None
    with (tmp_path / "latin.txt").open("w", encoding="latin-1") as latin:
        assert DirectOutput.of(latin) is None  # its text would not be the UTF-8 bytes
    with (tmp_path / "out.txt").open("w", encoding="utf-8") as out:
        out.write("abc")
        direct = DirectOutput.of(out)
        assert direct is not None
        assert direct.regular
        assert direct.start == 3


def test_a_stream_without_a_file_still_spools(policies, grouped, calls):
    options = StreamOptions(parse_instant(AT), "json")
    out = io.StringIO()
    evaluate_stream(policies, grouped, options, out)
    assert calls["direct"] == 0
    assert calls["spooled"] > 0
    assert out.getvalue() == _expected(policies, grouped, "json")
