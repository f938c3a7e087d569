"""Streaming evaluate: the output of evaluating the whole file at once, part by part.

The reference is the evaluation as it was before it streamed: every event read
(``read_events``), every ticket evaluated, each result written with
``json.dumps(ticket_to_dict(result))`` or a ``csv.DictWriter``. Files in
``tests/data/evaluate`` hold that command's output for the examples.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import random
import tracemalloc
from pathlib import Path

import pytest

from slaengine.cli import main
from slaengine.engine import evaluate
from slaengine.event_parsing import parse_instant
from slaengine.importers import IMPORTERS, ImportOptions
from slaengine.inputs import parse_lines, read_events
from slaengine.inputs.synthetic import write_jsonl
from slaengine.policy import PolicySet, load_policies
from slaengine.report.json import ticket_json, ticket_to_dict
from slaengine.report.table import select_tickets
from slaengine.stream import FORMATS, StreamOptions, evaluate_part, evaluate_stream
from slaengine.timeline import build_timelines
from stream_support import reference_csv, reference_json, reference_results, write_regrouped

ROOT = Path(__file__).resolve().parents[1]
POLICIES = str(ROOT / "policies")
GOLDEN = ROOT / "tests" / "data" / "evaluate"
EXAMPLES = str(ROOT / "examples" / "tickets.jsonl")
EXAMPLES_AT = "2025-12-03T16:00:00Z"
REAL = ROOT.parent / "shared" / "data" / "real"
START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
DAYS = 30
GENERATED_AT = "2025-10-01T00:00:00Z"


# -- the reference: the whole file read, evaluated and written at once (stream_support) --


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["evaluate", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


# -- data ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(POLICIES)


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 synthetic tickets, each ticket's events on consecutive lines (about 15,000)."""
    path = tmp_path_factory.mktemp("generated") / "grouped.jsonl"
    write_jsonl(path, 1500, 7, START, DAYS)
    return path


@pytest.fixture(scope="module")
def shuffled(grouped: Path) -> Path:
    """The same events in random line order: read through the spill."""
    lines = grouped.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(5).shuffle(lines)
    path = grouped.with_name("shuffled.jsonl")
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def regrouped(grouped: Path) -> Path:
    """Grouped by ticket for more lines than the check of a file's start reads, then the
    first ticket's events again: the chunks are given up for the spill midway."""
    return write_regrouped(grouped)


# -- the examples: the output of the command before it streamed, byte for byte ----------------
# The tables and the problems are golden files written by the command before it streamed:
# refresh them (and review the difference) when the engine's results change on purpose.


@pytest.mark.parametrize(
    ("extra", "golden"),
    [([], "examples-table.txt"),
     (["--state", "breached", "--state", "active", "--limit", "2"], "examples-table-limit.txt")],
    ids=["table", "table-state-limit"],
)  # fmt: skip
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_example_tables_are_those_of_before(capsys, monkeypatch, extra, golden, jobs):
    monkeypatch.delenv("COLUMNS", raising=False)
    status, out, _ = run(capsys, "-p", POLICIES, "-e", EXAMPLES, "--at", EXAMPLES_AT, "-j", jobs,
                         *extra)  # fmt: skip
    assert status == 0
    assert out == (GOLDEN / golden).read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["json", "segments", "csv"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_examples_give_the_output_of_before(capsys, policies, fmt, jobs):
    segments = fmt == "segments"
    results = evaluate(policies, read_events(EXAMPLES, policies.status_map),
                       parse_instant(EXAMPLES_AT), segments=segments)  # fmt: skip
    expected = reference_csv(results) if fmt == "csv" else reference_json(results)
    extra = ["-f", "json", "--segments"] if segments else ["-f", fmt]
    status, out, _ = run(capsys, "-p", POLICIES, "-e", EXAMPLES, "--at", EXAMPLES_AT, "-j", jobs,
                         *extra)  # fmt: skip
    assert status == 0
    assert out == expected


def test_bad_lines_give_the_output_and_problems_of_before(capsys):
    status, out, err = run(capsys, "-p", POLICIES, "-e", "tests/data/events/mixed.jsonl",
                           "--at", "2025-12-03T00:00:00Z", "-f", "json")  # fmt: skip
    assert status == 1
    assert out == (GOLDEN / "mixed.jsonl").read_text(encoding="utf-8")
    assert err == (GOLDEN / "mixed.stderr").read_text(encoding="utf-8")


def test_a_json_line_is_the_encoders_text(policies):
    # ticket_json and json.dumps(ticket_to_dict(...)) agree, with and without segments,
    # on ids and names that need escaping.
    events = [
        {"id": "1", "ticket": 'T-"1"\n\\é\u2028', "at": "2025-12-01T09:00:00Z", "type": "created",
         "channel": "email", "priority": "high"},
        {"id": "2", "ticket": 'T-"1"\n\\é\u2028', "at": "2025-12-01T09:30:00Z", "type": "message",
         "author": "agent", "agent": "Zoë \"z\" \t"},
    ]  # fmt: skip
    lines = "".join(json.dumps(e) + "\n" for e in events)
    for segments in (False, True):
        timelines = build_timelines(parse_lines(lines.splitlines(), "<t>", policies.status_map))
        results = evaluate(policies, timelines, parse_instant(EXAMPLES_AT), segments=segments)
        assert results
        assert results[0].clocks
        for result in results:
            assert ticket_json(result) == json.dumps(ticket_to_dict(result), ensure_ascii=False)


# -- generated data: grouped (chunks), shuffled (spill), regrouped (chunks, then spill) -------


@pytest.mark.parametrize("which", ["grouped", "shuffled", "regrouped"])
@pytest.mark.parametrize("fmt", ["json", "csv", "segments"])
def test_generated_data_give_the_output_of_before(request, capsys, policies, which, fmt):
    events = request.getfixturevalue(which)
    results = reference_results(policies, events, GENERATED_AT)
    assert len(results) > 1000
    args = ["-p", POLICIES, "-e", str(events), "--at", GENERATED_AT]
    if fmt == "segments":
        args += ["-f", "json", "--segments"]
        results = evaluate(policies, read_events(events, policies.status_map),
                           parse_instant(GENERATED_AT), segments=True)  # fmt: skip
    else:
        args += ["-f", fmt]
    expected = reference_csv(results) if fmt == "csv" else reference_json(results)
    outputs = []
    for jobs in ("1", "2"):
        status, out, err = run(capsys, *args, "-j", jobs)
        assert status == 0, err
        outputs.append(out)
    # Byte for byte, in input order, whether chunked or spilled, and whatever --jobs.
    assert outputs[0] == expected
    assert outputs[1] == expected


def test_the_regrouped_file_reports_its_duplicates(capsys, regrouped, grouped):
    lines = grouped.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])["ticket"]
    again = sum(json.loads(line)["ticket"] == first for line in lines)
    status, _, err = run(capsys, "-p", POLICIES, "-e", str(regrouped), "--at", GENERATED_AT,
                         "-f", "json")  # fmt: skip
    assert status == 0
    assert f"{again} duplicate events ignored" in err


def test_gzip_and_stdin_give_the_same_output(capsys, monkeypatch, policies, shuffled, tmp_path):
    expected = reference_json(reference_results(policies, shuffled, GENERATED_AT))
    packed = tmp_path / "shuffled.jsonl.gz"
    packed.write_bytes(gzip.compress(shuffled.read_bytes()))
    args = ["-p", POLICIES, "--at", GENERATED_AT, "-f", "json"]
    assert run(capsys, *args, "-e", str(packed))[1] == expected
    stdin = io.TextIOWrapper(io.BytesIO(shuffled.read_bytes()), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    assert run(capsys, *args, "-e", "-")[1] == expected


@pytest.mark.parametrize("which", ["grouped", "shuffled"])
@pytest.mark.parametrize(
    ("states", "limit"), [((), 7), (("breached",), None), (("breached", "paused"), 25)]
)
def test_state_and_limit_select_as_before(request, capsys, policies, which, states, limit):
    events = request.getfixturevalue(which)
    shown, matching = select_tickets(
        reference_results(policies, events, GENERATED_AT), states or None, limit
    )
    args = ["-p", POLICIES, "-e", str(events), "--at", GENERATED_AT, "-f", "json"]
    args += [arg for state in states for arg in ("--state", state)]
    args += ["--limit", str(limit)] if limit else []
    for jobs in ("1", "2"):
        status, out, _ = run(capsys, *args, "-j", jobs)
        assert status == 0
        assert out == reference_json(shown)
    options = StreamOptions(parse_instant(GENERATED_AT), "results", states=states, limit=limit)
    summary = evaluate_stream(policies, events, options, io.StringIO())
    assert summary.matching == matching
    assert [r.ticket for r in summary.results] == [r.ticket for r in shown]


# -- the real data in ../shared/data/real ---------------------------------------------------------

REAL_CASES = [
    ("twitter", "twcs_first5000/twcs_first5000.csv"),
    ("twitter", "ibm_twitter_cdp"),
    ("volvo", "volvo_bpic2013_incidents/VINST-new.csv"),
]


@pytest.mark.parametrize(("kind", "relative"), REAL_CASES, ids=[c[1] for c in REAL_CASES])
def test_real_data_give_the_output_of_before(capsys, policies, tmp_path, kind, relative):
    path = REAL / relative
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    events = [json.dumps(event) + "\n" for event in IMPORTERS[kind].events(path, ImportOptions())]
    imported = tmp_path / "imported.jsonl"
    imported.write_text("".join(events), encoding="utf-8")
    at = "2030-01-01T00:00:00Z"
    expected = reference_json(reference_results(policies, imported, at))
    assert expected
    for jobs in ("1", "2"):
        status, out, err = run(capsys, "-p", POLICIES, "-e", str(imported), "--at", at,
                               "-f", "json", "-j", jobs)  # fmt: skip
        assert status == 0, err
        assert out == expected
    # Shuffled, the same events take the spill and come out in the same order.
    random.Random(1).shuffle(events)
    imported.write_text("".join(events), encoding="utf-8")
    assert run(capsys, "-p", POLICIES, "-e", str(imported), "--at", at, "-f", "json")[1] == (
        reference_json(reference_results(policies, imported, at))
    )


# -- memory: what a part renders is written, not kept -----------------------------------------


def _part_peak(policies: PolicySet, events: Path, tickets: int, fmt: str, spool: Path) -> int:
    # Peak traced memory of evaluating the first ``tickets`` tickets of a part, beyond
    # the timelines themselves.
    timelines = read_events(events, policies.status_map)
    first = dict(list(timelines.timelines.items())[:tickets])
    timelines.timelines = first
    options = StreamOptions(parse_instant(GENERATED_AT), fmt)
    tracemalloc.start()
    try:
        part = evaluate_part(policies, options, str(spool), timelines)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert part.tickets == tickets
    return peak


def test_a_part_writes_its_tickets_instead_of_keeping_them(policies, grouped, tmp_path):
    small = {fmt: _part_peak(policies, grouped, 300, fmt, tmp_path) for fmt in FORMATS}
    large = {fmt: _part_peak(policies, grouped, 1200, fmt, tmp_path) for fmt in FORMATS}
    # Kept results grow with the tickets (the check can fail) ...
    assert large["results"] > 3 * small["results"]
    # ... written ones do not: the index of a (key, length) pair per ticket is all that grows.
    for fmt in ("json", "csv"):
        assert large[fmt] < small[fmt] + 1200 * 64, fmt


def test_the_summary_keeps_no_results_unless_asked(policies, shuffled):
    options = StreamOptions(parse_instant(GENERATED_AT), "json")
    out = io.StringIO()
    summary = evaluate_stream(policies, shuffled, options, out, jobs=2)
    assert summary.results == []
    assert summary.tickets == summary.shown == len(out.getvalue().splitlines()) > 1000


@pytest.mark.parametrize("order", ["grouped", "shuffled"])
def test_text_outside_ascii_arrives_whole_on_any_stream(policies, monkeypatch, tmp_path, order):
    # A stream without a binary buffer gets text decoded from the spool, in blocks small
    # enough here to split characters; a binary one gets the bytes.
    lines = []
    for n, name in enumerate(["Tä-1", "票-2", "🎫-3", "Zoë-4"] * 3):
        ticket = f"{name}-{n}"
        lines.append(json.dumps({"id": "1", "ticket": ticket, "at": "2025-12-01T09:00:00Z",
                                 "type": "created", "channel": "email", "priority": "high"},
                                ensure_ascii=False))  # fmt: skip
        lines.append(json.dumps({"id": "2", "ticket": ticket, "at": "2025-12-01T09:30:00Z",
                                 "type": "message", "author": "agent", "agent": f"Zoë {n}"},
                                ensure_ascii=False))  # fmt: skip
    if order == "shuffled":
        random.Random(2).shuffle(lines)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = reference_json(reference_results(policies, events, EXAMPLES_AT))
    monkeypatch.setattr("slaengine.stream._BLOCK", 7)
    options = StreamOptions(parse_instant(EXAMPLES_AT), "json")
    text = io.StringIO()
    evaluate_stream(policies, events, options, text)
    assert text.getvalue() == expected
    binary = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    evaluate_stream(policies, events, options, binary)
    binary.flush()
    assert binary.buffer.getvalue().decode("utf-8") == expected  # type: ignore[attr-defined]
    limited = io.StringIO()
    evaluate_stream(policies, events, StreamOptions(parse_instant(EXAMPLES_AT), "json", limit=5),
                    limited)  # fmt: skip
    assert limited.getvalue() == "".join(expected.splitlines(keepends=True)[:5])


def test_a_reader_that_goes_away_ends_the_command_quietly(grouped):
    # `slaengine evaluate ... | head -1`: the rest of the output has nowhere to go.
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "slaengine", "evaluate", "-p", POLICIES, "-e", str(grouped),
               "--at", GENERATED_AT, "-f", "json"]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read()
        assert process.wait(timeout=120) == 0
    assert json.loads(first)["ticket"]
    assert b"Traceback" not in err
    assert b"cannot" not in err


def test_without_orjson_the_output_and_problems_are_the_same(capsys, shuffled):
    # orjson is an optional extra (slaengine[fast]): without it the standard library's
    # scanner takes the fast path, with the same events and the same problems.
    import os
    import subprocess
    import sys

    blocked = "import sys; sys.modules['orjson'] = None; from slaengine.cli import main; "
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for events, at in ((EXAMPLES, EXAMPLES_AT), ("tests/data/events/mixed.jsonl", EXAMPLES_AT),
                       (str(shuffled), GENERATED_AT)):  # fmt: skip
        argv = ["evaluate", "-p", POLICIES, "-e", events, "--at", at, "-f", "json"]
        without = subprocess.run(
            [sys.executable, "-c", f"{blocked}sys.exit(main({argv!r}))"],
            capture_output=True, text=True, env=env, cwd=ROOT, check=False,
        )  # fmt: skip
        status, out, err = run(capsys, *argv[1:])
        assert (without.returncode, without.stdout, without.stderr) == (status, out, err)
        assert out
    # The check can fail: blocked, orjson really is not there.
    probe_code = f"{blocked}import slaengine.inputs.jsonl_decode as j; print(j.fast_loads)"
    probe = subprocess.run(
        [sys.executable, "-c", probe_code],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    )  # fmt: skip
    assert "_decode_object" in probe.stdout


# -- tables: Parquet (row ranges, or an Arrow spill) and CSV (spilled as JSON text) ------------


def _table_rows(events: Path) -> list[dict[str, object]]:
    # Plain columns only: the table readers' own tests cover lists and nested fields.
    rows = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    return [{k: v for k, v in row.items() if k not in ("fields", "tags")} for row in rows]


@pytest.mark.parametrize("which", ["grouped", "shuffled"])
@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_tables_give_the_output_of_before(request, capsys, policies, tmp_path, which, kind):
    rows = _table_rows(request.getfixturevalue(which))
    keys = sorted({key for row in rows for key in row})
    path = tmp_path / f"events.{kind}"
    if kind == "parquet":
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        table = pa.table({key: [row.get(key) for row in rows] for key in keys})
        pq.write_table(table, path, row_group_size=2_000)
    else:
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, keys, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    expected = reference_json(reference_results(policies, path, GENERATED_AT))
    assert expected.count("\n") > 1000
    for jobs in ("1", "2"):
        status, out, err = run(capsys, "-p", POLICIES, "-e", str(path), "--at", GENERATED_AT,
                               "-f", "json", "-j", jobs)  # fmt: skip
        assert status == 0, err
        assert out == expected


# -- the caller's garbage collector -------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_library_leaves_the_callers_collector_as_it_was(policies, shuffled, jobs):
    # Only the command line pauses the collector (its own process); a program calling
    # the library finds its collector on and its thresholds as they were afterwards.
    import gc

    seen: list[bool] = []
    thresholds = gc.get_threshold()
    assert gc.isenabled()
    out = io.StringIO()
    options = StreamOptions(parse_instant(GENERATED_AT), format="json")
    evaluate_stream(policies, shuffled, options, out, jobs=jobs)
    seen.append(gc.isenabled())
    timelines = read_events(shuffled, policies.status_map)
    seen.append(gc.isenabled())
    assert len(timelines.timelines) == out.getvalue().count("\n") == 1500
    assert seen == [True, True]
    assert gc.get_threshold() == thresholds


# -- the output: spool files copied by the kernel where the stream takes them -------------------


@pytest.mark.parametrize("limit", [None, 7])
def test_a_file_gets_the_spool_files_from_the_kernel(policies, grouped, tmp_path, monkeypatch,
                                                     limit):  # fmt: skip
    # Spooled by two workers (in one process, a grouped input's parts are written straight
    # to a file: test_stream_direct.py).
    import os

    sent: list[int] = []
    real = os.sendfile

    def counted(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        sent.append(count)
        return real(out_fd, in_fd, offset, count)

    monkeypatch.setattr("os.sendfile", counted)
    expected = reference_json(reference_results(policies, grouped, GENERATED_AT))
    if limit is not None:
        expected = "".join(expected.splitlines(keepends=True)[:limit])
    target = tmp_path / "out.jsonl"
    options = StreamOptions(parse_instant(GENERATED_AT), "json", limit=limit)
    with target.open("w", encoding="utf-8") as out:
        out.write("first\n")  # text the stream holds before the spool files follow
        evaluate_stream(policies, grouped, options, out, jobs=2)
    assert target.read_text(encoding="utf-8") == "first\n" + expected
    assert sent


@pytest.mark.parametrize("which", ["grouped", "shuffled"])
def test_pipes_and_appending_files_get_the_whole_output(request, policies, tmp_path, which):
    # A pipe takes sendfile a piece at a time; a file opened to append refuses it (the
    # bytes are copied instead).
    import os
    import subprocess
    import sys

    events = request.getfixturevalue(which)
    expected = reference_json(reference_results(policies, events, GENERATED_AT)).encode()
    command = [sys.executable, "-m", "slaengine", "evaluate", "-p", POLICIES, "-e", str(events),
               "--at", GENERATED_AT, "-f", "json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    piped = subprocess.run(command, capture_output=True, env=env, timeout=300, check=False)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout == expected
    appended = tmp_path / "appended.jsonl"
    appended.write_bytes(b"before\n")
    with appended.open("ab") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, env=env, timeout=300,
                              check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert appended.read_bytes() == b"before\n" + expected
