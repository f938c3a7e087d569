"""Importers: hand-written samples give exactly the golden events; the real data imports cleanly."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import time
import zoneinfo
from pathlib import Path

import pytest

import slaengine
from slaengine.cli import main
from slaengine.importers import IMPORTERS, ImportFormatError, ImportOptions, ImportReport
from slaengine.importers.base import json_array_items

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "importers"
REAL = Path(__file__).parents[1].parent / "shared" / "data" / "real"

# (kind, sample file, expected skips as (line, reason))
CASES = [
    ("twitter", "cdp_sample.json", [(62, "bad conversation")]),
    (
        "twitter",
        "twcs_sample.csv",
        [
            (8, "brand tweet before the first customer tweet"),
            (11, "bad tweet row"),
            (12, "thread has no customer tweet"),
        ],
    ),
    (
        "servicenow",
        "servicenow_sample.csv",
        [(10, "unknown incident_state"), (12, "bad timestamp")],
    ),
    ("volvo", "volvo_sample.csv", [(6, "unknown status"), (10, "timestamp has no UTC offset")]),
]


def _import(kind: str, path: Path, zone: dt.tzinfo = dt.UTC) -> tuple[list[dict], ImportReport]:
    options = ImportOptions(timezone=zone)
    return list(IMPORTERS[kind].events(path, options)), options.report


def _expected(sample: str) -> list[dict]:
    golden = SAMPLES / (sample.rsplit(".", 1)[0] + ".expected.jsonl")
    return [json.loads(line) for line in golden.read_text(encoding="utf-8").splitlines()]


def _assert_all_parse(events: list[dict]) -> None:
    for event in events:
        slaengine.parse_event(event)


@pytest.mark.parametrize(("kind", "sample", "skips"), CASES, ids=[c[1] for c in CASES])
def test_sample_gives_golden_events(kind, sample, skips):
    events, report = _import(kind, SAMPLES / sample)
    assert events == _expected(sample)
    _assert_all_parse(events)
    assert sorted((s.line, s.reason) for s in report.skipped) == skips


@pytest.mark.parametrize(("kind", "sample", "skips"), CASES, ids=[c[1] for c in CASES])
def test_sample_timelines_are_clean(kind, sample, skips):
    del skips
    events, _ = _import(kind, SAMPLES / sample)
    timelines = slaengine.build_timelines(
        slaengine.parse_event(e, seq=n) for n, e in enumerate(events)
    )
    assert timelines.problems == []
    assert timelines.duplicates == 0
    assert len(timelines.timelines) == sum(e["type"] == "created" for e in events)


def test_reimport_is_idempotent():
    """Importing twice and reading both copies gives each event once: ids are stable."""
    events, _ = _import("servicenow", SAMPLES / "servicenow_sample.csv")
    again, _ = _import("servicenow", SAMPLES / "servicenow_sample.csv")
    assert events == again
    timelines = slaengine.build_timelines(slaengine.parse_event(e) for e in [*events, *again])
    assert timelines.duplicates == len(events)


def test_servicenow_reads_wall_times_in_the_given_zone():
    # 2016-03-27 is the spring-forward day in Berlin: 01:30 is +01:00, 03:00 is +02:00.
    events, _ = _import(
        "servicenow", SAMPLES / "servicenow_sample.csv", zoneinfo.ZoneInfo("Europe/Berlin")
    )
    second = [(e["id"], e["at"]) for e in events if e["ticket"] == "INC0000002"]
    assert second == [
        ("created", "2016-03-27T01:30:00+01:00"),
        ("mod1-status", "2016-03-27T01:30:00+01:00"),
        ("mod3-update", "2016-03-27T03:00:00+02:00"),
        ("mod3-status", "2016-03-27T03:00:00+02:00"),
    ]


def test_servicenow_keeps_the_last_made_sla_verdict():
    events, _ = _import("servicenow", SAMPLES / "servicenow_sample.csv")
    created = next(e for e in events if e["ticket"] == "INC0000001")
    assert created["fields"] == {"made_sla": False}


def test_twitter_directory_reads_every_file(tmp_path):
    for name in ("cdp_sample.json", "twcs_sample.csv"):
        (tmp_path / name).write_bytes((SAMPLES / name).read_bytes())
    events, report = _import("twitter", tmp_path)
    assert events == _expected("cdp_sample.json") + _expected("twcs_sample.csv")
    assert report.rows == 13


def test_json_array_items_streams_across_chunk_boundaries():
    text = "[\n" + ",\n".join(json.dumps({"n": n, "pad": "x" * 5000}) for n in range(40)) + "\n]"
    items = list(json_array_items(io.StringIO(text)))
    assert [item["n"] for _, item in items] == list(range(40))
    assert [line for line, _ in items] == list(range(2, 42))


def test_not_a_list_is_an_error_alone_and_skipped_in_a_directory(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text('{"AcmeHelp": 3}', encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"stats\.json: not an IBM CDP conversation list"):
        _import("twitter", path)
    events, report = _import("twitter", tmp_path)
    assert events == []
    assert [(s.line, s.reason) for s in report.skipped] == [(1, "not a list of conversations")]


def test_opening_tweet_is_the_created_event_not_a_message_too():
    """The first customer tweet opens the ticket once: as ``created``, by the customer."""
    for sample in ("cdp_sample.json", "twcs_sample.csv"):
        events, _ = _import("twitter", SAMPLES / sample)
        for created in (e for e in events if e["type"] == "created"):
            same = [
                e
                for e in events
                if e["ticket"] == created["ticket"]
                and e["type"] == "message"
                and e["at"] == created["at"]
                and e["author"] == "customer"
            ]
            assert same == [], created["ticket"]
            assert created["author"] == "customer"


# -- command line -------------------------------------------------------------


def test_cli_lists_kinds(capsys):
    assert main(["import", "--list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == sorted(IMPORTERS)


def test_cli_writes_gzip_and_summary(tmp_path, capsys):
    out = tmp_path / "events.jsonl.gz"
    status = main(["import", "volvo", str(SAMPLES / "volvo_sample.csv"), "-o", str(out)])
    assert status == 0
    with gzip.open(out, "rt", encoding="utf-8") as stream:
        assert [json.loads(line) for line in stream] == _expected("volvo_sample.csv")
    err = capsys.readouterr().err
    assert "volvo_sample.csv:6: unknown status: Unmatched/Unmatched" in err
    assert "9 rows read, 7 events written, 2 tickets, 2 rows skipped" in err


def test_cli_writes_stdout(capsys):
    assert main(["import", "twitter", str(SAMPLES / "twcs_sample.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == _expected("twcs_sample.csv")


SAMPLE = str(SAMPLES / "servicenow_sample.csv")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "nosuch", SAMPLE], "unknown kind 'nosuch'"),
        (["import", "volvo"], "needs KIND and PATH"),
        (["import", "volvo", "/no/such/file.csv"], "no such file"),
        (["import", "servicenow", SAMPLE, "--timezone", "Mars/Olympus"], "unknown time zone"),
    ],
    ids=["kind", "path-missing", "path-absent", "timezone"],
)
def test_cli_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


# -- the real data in ../shared/data/real --------------------------------------

# (kind, path under REAL, rows, tickets, skipped reasons)
REAL_CASES = [
    ("twitter", "ibm_twitter_cdp", 1025, 1025, {"not a list of conversations": 1}),
    (
        "twitter",
        "twcs_first5000/twcs_first5000.csv",
        5000,
        1311,
        {"brand tweet before the first customer tweet": 24, "thread has no customer tweet": 2},
    ),
    (
        "servicenow",
        "servicenow_incident_log/incident_event_log.csv",
        119998,
        20769,
        {"unknown incident_state": 2},
    ),
    (
        "volvo",
        "volvo_bpic2013_incidents/VINST-new.csv",
        65533,
        7554,
        {"unknown status": 5},
    ),
]


@pytest.mark.parametrize(
    ("kind", "relative", "rows", "tickets", "reasons"), REAL_CASES, ids=[c[1] for c in REAL_CASES]
)
def test_real_data_imports_and_evaluates(kind, relative, rows, tickets, reasons, tmp_path, capsys):
    """All output parses, counts match SOURCE.md, and evaluate finds no bad event."""
    path = REAL / relative
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    started = time.perf_counter()
    output = tmp_path / "imported.jsonl"
    options = ImportOptions()
    ids: set[tuple[str, str]] = set()
    created = 0
    with output.open("w", encoding="utf-8") as stream:
        for event in IMPORTERS[kind].events(path, options):
            slaengine.parse_event(event)
            key = (event["ticket"], event["id"])
            assert key not in ids
            ids.add(key)
            created += event["type"] == "created"
            stream.write(json.dumps(event) + "\n")
    assert options.report.rows == rows
    assert created == tickets
    assert dict(options.report.reasons()) == reasons
    imported = time.perf_counter() - started
    status = main(
        [
            "evaluate",
            "-p",
            str(ROOT / "policies"),
            "-e",
            str(output),
            "--format",
            "json",
            "--at",
            "2030-01-01T00:00:00Z",
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err[:2000]
    assert len(captured.out.splitlines()) == tickets
    evaluated = time.perf_counter() - started - imported
    with capsys.disabled():
        print(f"\n{relative}: imported in {imported:.1f}s, evaluated in {evaluated:.1f}s")


@pytest.mark.parametrize(
    ("relative", "customer_messages", "response_rate"),
    [("twcs_first5000/twcs_first5000.csv", 2778, 0.8985), ("ibm_twitter_cdp", 1211, 1.0)],
    ids=["twcs", "cdp"],
)
def test_real_twitter_counts_each_customer_tweet_once(
    relative, customer_messages, response_rate, tmp_path, capsys
):
    """Customer messages = customer tweets in threads (the opening one included, once)."""
    path = REAL / relative
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    output = tmp_path / "imported.jsonl"
    assert main(["import", "twitter", str(path), "-o", str(output)]) == 0
    capsys.readouterr()
    argv = ["audit", "-p", str(ROOT / "policies"), "-e", str(output), "--json"]
    assert main([*argv, "--at", "2030-01-01T00:00:00Z"]) == 0
    overall = json.loads(capsys.readouterr().out)["overall"]
    assert overall["customer_messages"] == customer_messages
    assert overall["response_rate"] == pytest.approx(response_rate, abs=5e-5)
