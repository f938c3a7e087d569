"""Every way of reading and evaluating events gives the answer of the simplest one.

The simplest path reads a file line by line (universal line ends), decodes each
line with the standard library and validates it in full, groups the events with
:func:`build_timelines` and evaluates them with :func:`slaengine.evaluate`, in
the documented output order (each ticket's first kept line). Against it, on
seeded hostile and time-hard input (:mod:`hostile_timelines`): the scanner and
fast decoders a line at a time, ``read_events``, and ``slaengine evaluate``
streamed (byte ranges, chunk files, gzip, the spill, standard input; ``--jobs``
1 and 2; JSON Lines, CSV and Parquet), its problems (``--rejects``), and the
audit's totals.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hostile_timelines import (
    AT_CHOICES,
    HARD_POLICIES,
    LAYOUTS,
    HostileEvents,
    hostile_events,
    table_rows,
    write_csv,
    write_parquet,
)
from slaengine.cli import main
from slaengine.engine import TicketResult, evaluate
from slaengine.errors import EventError, Problem
from slaengine.event_parsing import _checked_event, parse_instant
from slaengine.inputs import read_events
from slaengine.inputs.files import TEXT_ERRORS
from slaengine.inputs.jsonl import _loaded, parse_line
from slaengine.inputs.jsonl_decode import BLANK, LineError, decode_line
from slaengine.inputs.jsonl_scan import scan_line
from slaengine.policy import PolicySet, load_policies
from slaengine.report.json import ticket_to_dict
from slaengine.timeline import Event, build_timelines
from test_stream import reference_csv

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """A seed's input evaluated under one policy file at one instant."""

    seed: int
    policies: str  # "shipped" or "hard"
    at: str

    def __str__(self) -> str:
        return f"seed{self.seed}-{self.policies}"


CASES = [
    Case(1, "shipped", AT_CHOICES[2]),
    Case(2, "hard", AT_CHOICES[0]),
    Case(3, "hard", AT_CHOICES[1]),
]
# SLAENGINE_DIFFERENTIAL_SEEDS=N runs the streamed comparison on seeds up to N locally.
CASES += [
    Case(seed, ("shipped", "hard")[seed % 2], AT_CHOICES[seed % 3])
    for seed in range(len(CASES) + 1, int(os.environ.get("SLAENGINE_DIFFERENTIAL_SEEDS", "0")) + 1)
]
#: The layouts that take each reader once: byte ranges, chunk files, the spill, and
#: chunks given up for the spill.
READERS = [layout for layout in LAYOUTS if layout.name in ("grouped", "crlf", "shuffled", "moved")]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = tmp_path_factory.mktemp("differential")
    (found / "hard.yaml").write_text(HARD_POLICIES, encoding="utf-8")
    return found


def _policy_path(case: Case, folder: Path) -> Path:
    return ROOT / "policies" if case.policies == "shipped" else folder / "hard.yaml"


_loaded_policies: dict[Path, PolicySet] = {}


def _policies(path: Path) -> PolicySet:
    if path not in _loaded_policies:
        _loaded_policies[path] = load_policies(path)
    return _loaded_policies[path]


_corpora: dict[int, HostileEvents] = {}


def _events(seed: int) -> HostileEvents:
    if seed not in _corpora:
        _corpora[seed] = hostile_events(seed)
    return _corpora[seed]


# -- the simplest path ---------------------------------------------------------------------


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines as text reading gives them: ``\\n``, ``\\r\\n`` and ``\\r`` end one."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    text = data.decode("utf-8", TEXT_ERRORS)
    return iter(re.split(r"\r\n|\r|\n", text))


def simplest_read(path: Path, status_map: Any) -> tuple[dict[str, list[Event]], list[str]]:
    """Each line decoded by the standard library and validated in full, then grouped."""
    events: list[Event] = []
    problems: list[Problem] = []
    source = str(path)
    for number, line in enumerate(_text_lines(path), start=1):
        try:
            obj = decode_line(line)
        except LineError as exc:
            problems.append(Problem(source, number, exc.column, exc.code, exc.reason))
            continue
        if obj is BLANK:
            continue
        try:
            events.append(_checked_event(obj, number, number, status_map))
        except EventError as exc:
            problems.append(Problem(source, number, 0, "E400", exc.reason))
    timelines = build_timelines(events, source, problems)
    shape = {ticket: list(t.events) for ticket, t in timelines.timelines.items()}
    return shape, _sorted_problems(timelines.problems)


def _sorted_problems(problems: list[Problem]) -> list[str]:
    return [str(p) for p in sorted(problems, key=lambda p: (p.line, p.code))]


def in_output_order(
    policies: PolicySet, path: Path, at: str, *, segments: bool = False
) -> tuple[list[TicketResult], Any]:
    """The library's results on ``path`` in the documented order (first kept line)."""
    read = read_events(path, policies.status_map)
    first = {ticket: min(e.seq for e in t.events) for ticket, t in read.timelines.items()}
    results = evaluate(policies, read, parse_instant(at), segments=segments)
    return sorted(results, key=lambda result: first[result.ticket]), read


def json_text(results: list[TicketResult]) -> str:
    return "".join(json.dumps(ticket_to_dict(r), ensure_ascii=False) + "\n" for r in results)


def run(argv: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    """``slaengine *argv`` in this process: exit status, standard output (through a real
    UTF-8 buffer, as a terminal or pipe has) and standard error."""
    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="\n")
    err = io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        if stdin is not None:
            raw = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors=TEXT_ERRORS)
            stack.enter_context(_stdin(raw))
        status = main(argv)
        out.flush()
    assert "Traceback" not in err.getvalue()
    return status, buffer.getvalue().decode("utf-8", "surrogatepass"), err.getvalue()


@contextlib.contextmanager
def _stdin(stream: io.TextIOWrapper) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = stream
    try:
        yield
    finally:
        sys.stdin = saved


# -- a line at a time -----------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """A value with its types spelt out (``1 == 1.0 == True`` for tuples; not here)."""
    if hasattr(value, "items"):
        return ("map", sorted((key, _canonical(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_canonical(item) for item in value])
    return (type(value).__name__, repr(value))


def _event_shape(event: Event | None) -> Any:
    return (
        None if event is None else tuple(_canonical(getattr(event, name)) for name in event._fields)
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_every_line_is_read_as_the_full_check_reads_it(seed):
    corpus = _events(seed)
    for raw in [*(line for lines in corpus.tickets.values() for line in lines), *corpus.junk]:
        line = raw.decode("utf-8", TEXT_ERRORS)
        try:
            obj = decode_line(line)
            expected = None if obj is BLANK else _event_shape(_checked_event(obj, 9, 9, {}))
        except (LineError, EventError):
            expected = "problem"
        problems: list[Problem] = []
        parsed = parse_line(line, 9, "x", {}, problems)
        found = _event_shape(parsed) if parsed is not None else "problem" if problems else None
        assert found == expected, line
        for fast in (scan_line(line, 9, ""), _loaded(line, 9)):
            # A fast path may decline (None); what it reads is the full check's event.
            assert fast is None or _event_shape(fast) == expected, line


# -- whole files ----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
@pytest.mark.parametrize("case", CASES[:2], ids=str)
def test_read_events_is_the_line_by_line_read(folder, case, layout):
    policies = _policies(_policy_path(case, folder))
    path = layout.write(_events(case.seed), folder, case.seed)
    read = read_events(path, policies.status_map)
    shape, problems = simplest_read(path, policies.status_map)
    assert {t: list(timeline.events) for t, timeline in read.timelines.items()} == shape
    assert _sorted_problems(read.problems) == problems


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_streamed_evaluate_prints_the_library_answer(folder, case, layout, jobs):
    policy_path = _policy_path(case, folder)
    path = layout.write(_events(case.seed), folder, case.seed)
    results, read = in_output_order(_policies(policy_path), path, case.at)
    rejects = folder / f"rejects-{case}-{layout.name}-{jobs}.txt"
    status, out, err = run(["evaluate", "-p", str(policy_path), "-e", str(path), "--at", case.at,
                            "-f", "json", "-j", jobs, "--rejects", str(rejects)])  # fmt: skip
    assert status == 1
    assert out == json_text(results)
    assert rejects.read_text(encoding="utf-8").splitlines() == _sorted_problems(read.problems)
    assert f"{read.duplicates} duplicate event" in err


@pytest.mark.parametrize("layout", READERS, ids=lambda layout: layout.name)
def test_streamed_csv_segments_and_selections_are_the_library_answer(folder, layout):
    case = CASES[1]
    policy_path = _policy_path(case, folder)
    path = layout.write(_events(case.seed), folder, case.seed)
    results, _ = in_output_order(_policies(policy_path), path, case.at)
    base = ["evaluate", "-p", str(policy_path), "-e", str(path), "--at", case.at, "-j", "2"]
    assert run([*base, "-f", "csv"])[1] == reference_csv(results)
    recorded, _ = in_output_order(_policies(policy_path), path, case.at, segments=True)
    assert run([*base, "-f", "json", "--segments"])[1] == json_text(recorded)
    chosen = [r for r in results if any(c.state in ("breached", "paused") for c in r.clocks)]
    assert len(chosen) > 5
    selected = run([*base, "-f", "json", "--state", "breached", "--state", "paused",
                    "--limit", "5"])  # fmt: skip
    assert selected[1] == json_text(chosen[:5])


def test_standard_input_is_read_as_the_file(folder):
    case = CASES[0]
    policy_path = _policy_path(case, folder)
    path = LAYOUTS[0].write(_events(case.seed), folder, case.seed)
    results, read = in_output_order(_policies(policy_path), path, case.at)
    status, out, err = run(["evaluate", "-p", str(policy_path), "-e", "-", "--at", case.at,
                            "-f", "json"], stdin=path.read_bytes())  # fmt: skip
    assert status == 1
    assert out == json_text(results)
    assert str(read.problems[0]).replace(str(path), "<stdin>") in err


# -- tables ---------------------------------------------------------------------------------

TABLES = ["csv", "parquet-text", "parquet-timestamps"]


def _table(case: Case, folder: Path, kind: str, shuffled: bool) -> tuple[Path, Path]:
    """The table of a case's rows, and the JSON Lines file of the same rows in its order."""
    rows = table_rows(_events(case.seed), random.Random(case.seed), shuffled)
    name = f"{case}-{'shuffled' if shuffled else 'grouped'}-{kind}"
    if kind == "csv":
        table = write_csv(rows, folder / f"{name}.csv")
    else:
        pytest.importorskip("pyarrow")
        table = write_parquet(rows, folder / f"{name}.parquet", timestamps=kind.endswith("s"))
    lines = folder / f"{name}.jsonl"
    lines.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return table, lines


@pytest.fixture
def small_parquet_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parquet parts of about a hundred rows: a small file is read in several row ranges."""
    from slaengine.batches import sizing

    monkeypatch.setattr(sizing, "PARQUET_PART_BYTES", 64 << 10)


@pytest.mark.usefixtures("small_parquet_parts")
@pytest.mark.parametrize(
    ("kind", "shuffled"),
    [("csv", False), ("csv", True), ("parquet-text", False), ("parquet-timestamps", True)],
    ids=["csv-grouped", "csv-shuffled", "parquet-grouped", "parquet-timestamps-shuffled"],
)
def test_tables_stream_the_library_answer_and_that_of_their_lines(folder, kind, shuffled):
    case = CASES[2]
    policy_path = _policy_path(case, folder)
    policies = _policies(policy_path)
    table, lines = _table(case, folder, kind, shuffled)
    results, read = in_output_order(policies, table, case.at)
    expected = json_text(results)
    assert expected == json_text(in_output_order(policies, lines, case.at)[0])
    assert len(results) > 40
    for jobs in ("1", "2"):
        rejects = folder / f"rejects-{table.name}-{jobs}.txt"
        argv = ["evaluate", "-p", str(policy_path), "-e", str(table), "--at", case.at]
        status, out, _ = run([*argv, "-f", "json", "-j", jobs, "--rejects", str(rejects)])
        assert (status, out) == (1 if read.problems else 0, expected)
        assert rejects.read_text(encoding="utf-8").splitlines() == _sorted_problems(read.problems)


# -- empty input ----------------------------------------------------------------------------


def _write_empty(folder: Path, name: str) -> Path:
    path = folder / name
    if name.endswith(".parquet"):
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        text = pa.array([], pa.string())
        pq.write_table(pa.table({"ticket": text, "at": text, "type": text}), path)
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(b""))
    else:
        path.write_bytes({"empty.jsonl": b"", "blank.jsonl": b"\n \r\n\t\r",
                          "header.csv": b"ticket,at,type\r\n"}[name])  # fmt: skip
    return path


@pytest.mark.parametrize(
    "name", ["empty.jsonl", "blank.jsonl", "empty.jsonl.gz", "header.csv", "rows.parquet"]
)
def test_an_empty_input_is_no_ticket_on_every_path(folder, name):
    path = _write_empty(folder, name)
    read = read_events(path)
    assert (read.timelines, read.problems) == ({}, [])
    base = ["evaluate", "-p", str(ROOT / "policies"), "-e", str(path), "--at", AT_CHOICES[0]]
    assert run([*base, "-f", "json", "-j", "2"]) == (0, "", "")
    assert run([*base, "-f", "csv"]) == (0, reference_csv([]), "")
    status, out, _ = run(["audit", "-p", str(ROOT / "policies"), "-e", str(path), "--at",
                          AT_CHOICES[0], "--json"])  # fmt: skip
    assert status == 0
    counts = json.loads(out)["input"]
    assert (counts["lines"], counts["events"], counts["tickets"]) == (0, 0, 0)


# -- audit ----------------------------------------------------------------------------------


def audit_json(policy_path: Path, path: Path, at: str, *extra: str) -> dict[str, Any]:
    """``slaengine audit --json`` of ``path``: the document without what names the input
    (its file name) or how it was cut (its partitions)."""
    status, out, _ = run(["audit", "-p", str(policy_path), "-e", str(path), "--at", at, "--json",
                          "--by", "channel,agent", *extra])  # fmt: skip
    assert status == 1
    doc = json.loads(out)
    del doc["input"]["source"], doc["input"]["partitions"]
    return doc


def _breaches(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_audit_totals_are_the_same_whatever_the_path(folder):
    case = CASES[1]
    policy_path = _policy_path(case, folder)
    grouped = LAYOUTS[0].write(_events(case.seed), folder, case.seed)
    read = read_events(grouped, _policies(policy_path).status_map)
    reference = audit_json(policy_path, grouped, case.at, "--breaches", str(folder / "b.csv"))
    codes = [problem.code for problem in read.problems]
    assert reference["input"]["events_rejected"] == len(codes) - codes.count("E410")
    assert reference["input"]["tickets_rejected"] == codes.count("E410") > 0
    assert reference["input"]["duplicates"] == read.duplicates
    assert reference["overall"]["tickets"] > 40
    breaches = _breaches(folder / "b.csv")
    for layout in LAYOUTS:
        path = layout.write(_events(case.seed), folder, case.seed)
        for jobs in ("1", "2") if layout in READERS else ("1",):
            found = audit_json(policy_path, path, case.at, "-j", jobs,
                               "--breaches", str(folder / f"b-{jobs}.csv"))  # fmt: skip
            if layout.lone_cr:  # "\r" then a blank line's "\n" is one line end, not two
                found["input"]["lines"] = reference["input"]["lines"]
            assert found == reference, (layout.name, jobs)
            assert sorted(_breaches(folder / f"b-{jobs}.csv")) == sorted(breaches)
        if layout in READERS:  # row for row whatever --jobs
            assert _breaches(folder / "b-1.csv") == _breaches(folder / "b-2.csv")
    # A table audits as the JSON Lines of its rows.
    for kind in ("csv", "parquet-text"):
        table, lines = _table(case, folder, kind, shuffled=True)
        found = audit_json(policy_path, table, case.at, "-j", "2")
        expected = audit_json(policy_path, lines, case.at)
        if kind == "csv":  # the header is the file's first line
            expected["input"]["lines"] += 1
        assert found == expected, kind
        assert {k: v for k, v in found.items() if k != "input"} == {
            k: v for k, v in reference.items() if k != "input"
        }


# -- cases the differential runs found -------------------------------------------------------


@pytest.mark.parametrize("written", ["0", "-0", '"0"', "42", "-7", '"-0"'])
def test_a_line_is_routed_by_the_ticket_the_parser_reads(written):
    from slaengine.inputs.tickets import ticket_of

    line = f'{{"ticket": {written}, "at": "2025-10-01T08:03:00Z", "type": "message", '
    line += '"author": "agent"}'
    parsed = parse_line(line, 1, "x", {}, [])
    assert parsed is not None
    assert ticket_of(line) == parsed.ticket


def test_negative_zero_names_ticket_zero_in_every_path(folder):
    # JSON's -0 is the integer 0: the reply belongs to ticket "0" wherever it is routed.
    lines = [
        '{"ticket": 0, "at": "2025-10-01T08:00:00Z", "type": "created", "channel": "chat", '
        '"priority": "high"}',
        *(f'{{"ticket": "F-{n}", "at": "2025-10-01T08:00:00Z", "type": "created", '
          '"channel": "chat", "priority": "high"}' for n in range(40)),
        '{"ticket": -0, "at": "2025-10-01T08:03:00Z", "type": "message", "author": "agent"}',
    ]  # fmt: skip
    path = folder / "negative-zero.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    policies = ROOT / "policies"
    results, read = in_output_order(_policies(policies), path, AT_CHOICES[2])
    assert read.problems == []
    expected = json_text(results)
    assert '"stop_reason": "fulfilled"' in expected.splitlines()[0]
    argv = ["evaluate", "-p", str(policies), "--at", AT_CHOICES[2], "-f", "json"]
    assert run([*argv, "-e", str(path)]) == (0, expected, "")
    assert run([*argv, "-e", "-"], stdin=path.read_bytes()) == (0, expected, "")


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_an_output_encoding_without_the_ids_characters_is_a_user_error(folder, fmt, capsys):
    # A Windows console's code page, PYTHONIOENCODING=ascii ...: no traceback, and a hint.
    path = folder / "accented.jsonl"
    path.write_text('{"ticket": "ü-1", "at": "2025-12-01T08:00:00Z", "type": "created", '
                    '"channel": "email", "priority": "high"}\n', encoding="utf-8")  # fmt: skip
    narrow = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    with contextlib.redirect_stdout(narrow):
        status = main(["evaluate", "-p", str(ROOT / "policies"), "-e", str(path), "--at",
                       "2025-12-02T00:00:00Z", "-f", fmt])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2
    assert "standard output's encoding (ascii) cannot write 'ü'" in err
    assert "PYTHONIOENCODING=utf-8" in err
