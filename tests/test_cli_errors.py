"""Every command meets user mistakes with a message and exit status 2, never a traceback."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from slaengine.cli import main
from slaengine.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
EVENTS = str(ROOT / "examples" / "tickets.jsonl")
POLICIES = str(ROOT / "policies")


@pytest.fixture
def broken_policy(tmp_path: Path) -> str:
    path = tmp_path / "broken.yaml"
    path.write_text("policies:\n  - name: x\n    metrics: {first_response: {targets: 2d}}\n")
    return str(path)


@pytest.fixture
def broken_test_file(tmp_path: Path) -> str:
    path = tmp_path / "tests" / "broken.yaml"
    path.parent.mkdir()
    path.write_text("- name: t\n  timline: []\n")
    return str(path)


def _cases(
    broken_policy: str, broken_test_file: str, tmp: Path
) -> list[tuple[str, list[str], str]]:
    missing = str(tmp / "missing.jsonl")
    return [
        ("check-missing-path", ["check", str(tmp / "nope")], "no such file"),
        ("evaluate-broken-policy", ["evaluate", "-p", broken_policy, "-e", EVENTS], "E201"),
        ("evaluate-missing-events", ["evaluate", "-p", POLICIES, "-e", missing], "--events"),
        (
            "evaluate-naive-at",
            ["evaluate", "-p", POLICIES, "-e", EVENTS, "--at", "2025-01-01"],
            "--at",
        ),
        (
            "evaluate-bad-tz",
            ["evaluate", "-p", POLICIES, "-e", EVENTS, "--tz", "Mars/Base"],
            "--tz",
        ),
        (
            "explain-unknown-ticket",
            ["explain", "-p", POLICIES, "-e", EVENTS, "--ticket", "T-1"],
            "T-1",
        ),
        (
            "explain-broken-policy",
            ["explain", "-p", broken_policy, "-e", EVENTS, "--ticket", "T-1001"],
            "E201",
        ),
        (
            "whatif-broken-new",
            ["whatif", "-p", POLICIES, "-a", broken_policy, "-e", EVENTS],
            "E201",
        ),
        (
            "whatif-missing-events",
            ["whatif", "-p", POLICIES, "-a", POLICIES, "-e", missing],
            "--events",
        ),
        ("test-broken-file", ["test", broken_test_file, "--policies", POLICIES], "timline"),
        ("test-missing-path", ["test", str(tmp / "nope.yaml"), "--policies", POLICIES], "nope"),
        (
            "fmt-syntax-error",
            ["fmt", "--check", str(ROOT / "tests/data/fmt/syntax_error.yaml")],
            "E001",
        ),
        ("generate-bad-days", ["generate", "--days", "0"], "--days"),
        (
            "generate-output-in-missing-dir",
            ["generate", "-n", "2", "-o", str(tmp / "no-dir" / "x.jsonl")],
            "no-dir",
        ),
        (
            "whatif-flips-in-missing-dir",
            [
                "whatif",
                "-p",
                POLICIES,
                "-a",
                POLICIES,
                "-e",
                EVENTS,
                "--flips",
                str(tmp / "no-dir" / "flips.csv"),
            ],
            "no-dir",
        ),
    ]


def test_each_command_reports_user_mistakes_with_exit_2(
    broken_policy, broken_test_file, tmp_path, capsys
):
    for name, argv, needle in _cases(broken_policy, broken_test_file, tmp_path):
        status = main(argv)
        captured = capsys.readouterr()
        assert status == 2, f"{name}: exit {status}\n{captured.err}"
        assert needle in captured.err + captured.out, f"{name}: {captured.err}"
        assert "Traceback" not in captured.err, name


def test_debug_shows_the_exception(tmp_path):
    with pytest.raises(UserError):
        main(["--debug", "check", str(tmp_path / "nope")])


def test_debug_shows_a_file_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["--debug", "generate", "-n", "1", "-o", str(tmp_path / "no-dir" / "x.jsonl")])


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["evaluate", "-p", "policies", "-e", "x.jsonl", "--nope"])
    assert caught.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def _damaged_gzip_files(tmp: Path) -> dict[str, Path]:
    import gzip

    whole = gzip.compress((ROOT / "examples" / "tickets.jsonl").read_bytes() * 50)
    cut = tmp / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    not_gzip = tmp / "plain.jsonl.gz"
    not_gzip.write_bytes((ROOT / "examples" / "tickets.jsonl").read_bytes())
    flipped = bytearray(whole)
    flipped[len(flipped) // 3] ^= 0xFF
    corrupt = tmp / "corrupt.jsonl.gz"
    corrupt.write_bytes(bytes(flipped))
    csv_cut = tmp / "cut.csv.gz"
    csv_cut.write_bytes(
        gzip.compress(b"ticket,at,type\n" + b"T-1,2025-12-01T10:00:00Z,x\n" * 9000)[:200]
    )
    return {"cut": cut, "not-gzip": not_gzip, "corrupt": corrupt, "csv-cut": csv_cut}


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "-p", POLICIES, "--at", "2025-12-05T00:00:00Z", "-e"],
        ["audit", "-p", POLICIES, "--at", "2025-12-05T00:00:00Z", "--jobs", "1", "-e"],
        ["audit", "-p", POLICIES, "--at", "2025-12-05T00:00:00Z", "--jobs", "2", "-e"],
    ],
    ids=["evaluate", "audit-j1", "audit-j2"],
)
def test_damaged_gzip_input_is_named_not_a_traceback(command, tmp_path, capsys):
    for kind, path in _damaged_gzip_files(tmp_path).items():
        status = main([*command, str(path)])
        captured = capsys.readouterr()
        assert status == 2, f"{kind}: exit {status}\n{captured.err}"
        assert f"{path}: the gzip data is damaged or cut short" in captured.err, kind
        assert "Traceback" not in captured.err, kind


@pytest.mark.parametrize(
    "command",
    [
        ["outbox"],
        ["status", "-p", POLICIES, "T-1001"],
        ["explain", "-p", POLICIES, "-t", "T-1001"],
        ["ingest", "-p", POLICIES, EVENTS],
        ["run", "-p", POLICIES, "--once"],
    ],
    ids=["outbox", "status", "explain", "ingest", "run"],
)
def test_a_state_that_is_no_slaengine_state_is_named(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    monkeypatch.setenv("SLAENGINE_PLUGINS", "")
    not_a_database = tmp_path / "events.jsonl"  # the events file given as the state
    not_a_database.write_bytes(Path(EVENTS).read_bytes())
    another_app = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(another_app)) as other:
        other.execute("CREATE TABLE events (x INTEGER)")
        other.commit()
    for state, reason in ((not_a_database, "file is not a database"), (another_app, "events")):
        assert main([*command, "--state", str(state)]) == 2
        err = capsys.readouterr().err  # run logs its plugins first, as a worker does
        assert f"slaengine: state '{state}' cannot be used as a slaengine state (" in err
        assert reason in err
        assert "Traceback" not in err
