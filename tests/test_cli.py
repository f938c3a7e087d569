"""The ``slaengine`` command line: check, evaluate, exit statuses and messages."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import REPO_ROOT, RunCli
from slaengine import __version__
from slaengine.cli import main

EXAMPLE_EVENTS = "examples/tickets.jsonl"
MIXED_EVENTS = "tests/data/events/mixed.jsonl"
EXAMPLE_TICKETS = ["T-1001", "T-1002", "T-1003", "T-1004", "T-1005", "T-1006", "T-1007"]
TICKET_KEYS = ["ticket", "policy", "matched", "channel", "priority", "status", "created", "metrics"]
CLOCK_KEYS = [
    "metric",
    "instance",
    "state",
    "start",
    "due",
    "stop",
    "stop_reason",
    "elapsed_seconds",
    "target_seconds",
    "remaining_seconds",
    "paused_seconds",
    "priority",
    "calendar",
    "pauses",
    "agent",
    "alerts",
]


# Every CLI test runs from the repository root, as the README's commands do.
pytestmark = pytest.mark.usefixtures("at_repo_root")


def _problem_lines(err: str, source: str) -> list[str]:
    """The ``source:line...`` problem lines of stderr, without summaries and notices."""
    return [line for line in err.splitlines() if line.startswith(f"{source}:")]


def _evaluate(*extra: str) -> list[str]:
    return ["evaluate", "--policies", "policies/", *extra]


# -- check --------------------------------------------------------------------------------


def test_check_shipped_policies_is_clean(run_cli: RunCli) -> None:
    status, out, err = run_cli("check", "policies/")
    assert status == 0
    assert out == ""
    assert err == "ok: 6 policies, 4 calendars in 1 file\n"


def test_check_counts_agreements_in_its_summary(tmp_path: Path, capsys) -> None:
    from slaengine.cli import main

    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\n"
        "policies: [{name: sla, metrics: {first_response: {targets: 4h}}}]\n"
        "agreements:\n"
        "  - {name: tier2-ola, match: {group: tier2}, metrics: {first_response: {targets: 1h}}}\n"
        "  - {name: vendor-uc, kind: underpinning, metrics: {resolution: {targets: 8h}}}\n",
        encoding="utf-8",
    )
    assert main(["check", str(policy)]) == 0
    assert capsys.readouterr().err == "ok: 1 policy, 2 agreements, 1 calendar in 1 file\n"


def test_check_reports_problems_with_exit_1(run_cli: RunCli) -> None:
    status, out, err = run_cli("check", "tests/data/policies/bad/unknown_key.yaml")
    assert status == 1
    assert out.startswith("tests/data/policies/bad/unknown_key.yaml:4:5: E101 unknown key")
    assert err == "1 error, 0 warnings\n"


def test_check_with_only_warnings_exits_0(run_cli: RunCli) -> None:
    status, out, err = run_cli("check", "tests/data/policies/bad/channel_typo_warning.yaml")
    assert status == 0
    assert ": W201 " in out
    assert err == "ok: 1 policy, 1 calendar in 1 file (1 warning)\n"


def test_check_missing_path_is_a_usage_error(run_cli: RunCli) -> None:
    status, out, err = run_cli("check", "no/such/policies.yaml")
    assert status == 2
    assert out == ""
    assert err == "slaengine: no/such/policies.yaml: E002 no such file or directory\n"


def test_check_without_paths_checks_policies_like_fmt_and_test(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, err = run_cli("check")  # from the repository root
    assert status == 0
    assert err == "ok: 6 policies, 4 calendars in 1 file\n"
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli("check")
    assert status == 2
    assert err == "slaengine: policies: E002 no such file or directory\n"


# -- evaluate: output ---------------------------------------------------------------------


def test_evaluate_table_lists_tickets_and_states(run_cli: RunCli) -> None:
    status, out, err = run_cli(
        *_evaluate("--events", EXAMPLE_EVENTS, "--at", "2025-12-03T16:00:00Z")
    )
    assert status == 0
    assert err == ""
    assert "SLA states (times in UTC)" in out
    for ticket in EXAMPLE_TICKETS:
        assert ticket in out
    for word in ("achieved", "breached", "paused", "active", "cancelled", "email-and-web"):
        assert word in out
    assert "7 tickets, 1 duplicate event ignored" in out


def test_evaluate_table_in_another_time_zone(run_cli: RunCli) -> None:
    status, out, _ = run_cli(
        *_evaluate("-e", EXAMPLE_EVENTS, "--at", "2025-12-03T16:00:00Z", "--tz", "Europe/Berlin")
    )
    assert status == 0
    assert "times in Europe/Berlin" in out
    assert "2025-12-01 08:30" in out  # T-1001 created 08:30 Berlin time


def test_evaluate_table_shows_unmatched_tickets(run_cli: RunCli, tmp_path: Path) -> None:
    policy = tmp_path / "chat.yaml"
    policy.write_text(
        "version: 1\npolicies:\n  - name: chat\n    match: {channel: chat}\n"
        "    metrics: {first_response: {targets: 10m}}\n",
        encoding="utf-8",
    )
    status, out, _ = run_cli(
        "evaluate", "-p", str(policy), "-e", EXAMPLE_EVENTS, "--at", "2025-12-03T16:00:00Z"
    )
    assert status == 0
    assert "unmatched" in out
    assert "7 tickets, 6 matched no policy: T-1001, T-1002, T-1004, T-1005, T-1006, T-1007" in out


def test_evaluate_json_lines(run_cli: RunCli) -> None:
    status, out, _ = run_cli(
        *_evaluate("-e", EXAMPLE_EVENTS, "--at", "2025-12-03T16:00:00Z", "--format", "json")
    )
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["ticket"] for r in records] == EXAMPLE_TICKETS
    for record in records:
        assert list(record) == TICKET_KEYS
        assert record["created"].endswith("Z")
        assert record["matched"] is True
        for clock in record["metrics"]:
            assert list(clock) == CLOCK_KEYS
            for key in ("start", "due", "stop"):
                assert clock[key] is None or clock[key].endswith("Z")
            for pause in clock["pauses"]:
                assert pause["from"].endswith("Z")
    first = records[0]
    assert (first["policy"], first["channel"], first["priority"]) == (
        "email-and-web",
        "email",
        "normal",
    )
    assert first["created"] == "2025-12-01T07:30:00Z"
    assert first["metrics"][0]["state"] == "achieved"


def test_evaluate_at_ignores_later_events_and_tickets(run_cli: RunCli) -> None:
    status, out, _ = run_cli(
        *_evaluate("-e", EXAMPLE_EVENTS, "--at", "2025-12-02T01:00:00+01:00", "-f", "json")
    )
    assert status == 0
    records = {r["ticket"]: r for r in map(json.loads, out.splitlines())}
    assert list(records) == ["T-1001", "T-1002", "T-1004", "T-1007"]  # others created later
    assert records["T-1001"]["status"] == "pending"  # reopened only on Dec 2 09:41
    assert records["T-1002"]["status"] == "new"  # set pending at 00:12Z, after --at
    assert records["T-1007"]["status"] == "solved"


def test_evaluate_at_without_offset_is_a_usage_error(run_cli: RunCli) -> None:
    status, out, err = run_cli(*_evaluate("-e", EXAMPLE_EVENTS, "--at", "2025-12-02T12:00:00"))
    assert status == 2
    assert out == ""
    assert err == (
        "slaengine: --at: timestamp '2025-12-02T12:00:00' has no UTC offset; "
        "add 'Z' or e.g. '+01:00'\n"
    )


def test_evaluate_at_not_a_timestamp_names_the_option(run_cli: RunCli) -> None:
    status, out, err = run_cli(*_evaluate("-e", EXAMPLE_EVENTS, "--at", "tomorrow"))
    assert (status, out) == (2, "")
    assert err == "slaengine: --at is not an ISO 8601 timestamp: 'tomorrow'\n"


def test_generate_start_not_a_timestamp_names_the_option(run_cli: RunCli) -> None:
    status, _, err = run_cli("generate", "--start", "soon", "--tickets", "1")
    assert status == 2
    assert err == "slaengine: --start is not an ISO 8601 timestamp: 'soon'\n"


def test_evaluate_unknown_display_zone_is_a_usage_error(run_cli: RunCli) -> None:
    status, _, err = run_cli(*_evaluate("-e", EXAMPLE_EVENTS, "--tz", "Mars/Base"))
    assert status == 2
    assert err == "slaengine: --tz: unknown time zone 'Mars/Base' (e.g. UTC, Europe/Berlin)\n"


# -- evaluate: problems -------------------------------------------------------------------


def test_bad_events_exit_1_report_lines_and_still_evaluate(run_cli: RunCli) -> None:
    status, out, err = run_cli(
        *_evaluate("-e", MIXED_EVENTS, "--at", "2025-12-03T00:00:00Z", "-f", "json")
    )
    assert status == 1
    assert [json.loads(line)["ticket"] for line in out.splitlines()] == ["T-1", "T-3"]
    assert "1 duplicate event ignored" in err
    assert [line.split(" ")[0] for line in _problem_lines(err, MIXED_EVENTS)] == [
        f"{MIXED_EVENTS}:2:37:",
        f"{MIXED_EVENTS}:3:",
        f"{MIXED_EVENTS}:6:",
        f"{MIXED_EVENTS}:7:",
        f"{MIXED_EVENTS}:8:",
        f"{MIXED_EVENTS}:10:",
    ]


def test_rejects_file_gets_every_problem(run_cli: RunCli, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    good = (
        '{"ticket": "T-1", "at": "2025-12-01T09:00:00Z", "type": "created", '
        '"channel": "email", "priority": "low"}\n'
    )
    events.write_text(good + "not json\n" * 25, encoding="utf-8")
    rejects = tmp_path / "rejects.txt"
    status, out, err = run_cli(
        *_evaluate("-e", str(events), "--at", "2025-12-02T00:00:00Z", "--rejects", str(rejects))
    )
    assert status == 1
    assert "T-1" in out
    shown = _problem_lines(err, str(events))
    assert len(shown) == 20
    assert shown[0] == f"{events}:2:1: E401 not valid JSON: Expecting value"
    assert f"... and 5 more problems; all in {rejects}" in err.splitlines()
    written = rejects.read_text(encoding="utf-8").splitlines()
    assert len(written) == 25
    assert written[-1] == f"{events}:26:1: E401 not valid JSON: Expecting value"


def test_many_problems_without_rejects_suggest_the_option(run_cli: RunCli, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("[]\n" * 21, encoding="utf-8")
    status, _, err = run_cli(*_evaluate("-e", str(events), "--at", "2025-12-02T00:00:00Z"))
    assert status == 1
    assert "... and 1 more problem; use --rejects FILE to keep them all" in err.splitlines()


def test_events_from_stdin(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (REPO_ROOT / EXAMPLE_EVENTS).read_bytes() + b"{broken\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    status, out, err = run_cli(
        *_evaluate("--events", "-", "--at", "2025-12-03T16:00:00Z", "-f", "json")
    )
    assert status == 1
    assert [json.loads(line)["ticket"] for line in out.splitlines()] == EXAMPLE_TICKETS
    assert _problem_lines(err, "<stdin>") == [
        "<stdin>:33:2: E401 not valid JSON: Expecting property name enclosed in double quotes"
    ]


def test_missing_events_file_is_a_usage_error(run_cli: RunCli) -> None:
    status, out, err = run_cli(*_evaluate("-e", "no/such/events.jsonl"))
    assert status == 2
    assert out == ""
    assert (
        err == "slaengine: --events: cannot read no/such/events.jsonl: No such file or directory\n"
    )


def test_broken_policies_are_a_usage_error_listing_problems(run_cli: RunCli) -> None:
    path = "tests/data/policies/bad/many_problems.yaml"
    status, out, err = run_cli("evaluate", "-p", path, "-e", EXAMPLE_EVENTS)
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == (
        f"slaengine: {path}:4:15: E203 unknown time zone 'Mars/Olympus'; "
        "expected an IANA name like Europe/Berlin"
    )
    assert len(lines) == 8
    assert all(line.split(" ")[0].rstrip(":").startswith(path) for line in lines[1:])


def test_policies_that_only_warn_still_evaluate(run_cli: RunCli) -> None:
    status, out, err = run_cli(
        "evaluate",
        "-p",
        "tests/data/policies/bad/channel_typo_warning.yaml",
        "-e",
        EXAMPLE_EVENTS,
        "--at",
        "2025-12-03T16:00:00Z",
        "-f",
        "json",
    )
    assert status == 0
    assert "W201" not in err
    assert "Traceback" not in err
    assert len(out.splitlines()) == 7


def test_debug_shows_the_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    from slaengine.errors import UserError

    with pytest.raises(UserError, match="no UTC offset"):
        main(["--debug", *_evaluate("-e", EXAMPLE_EVENTS, "--at", "2025-12-02")])


# -- version and console script -----------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    # The source tree runs pure Python (tests/test_compiled.py checks a compiled wheel).
    assert capsys.readouterr().out == f"slaengine {__version__} (pure Python)\n"


def test_installed_console_script() -> None:
    script = shutil.which("slaengine")
    if script is None:
        pytest.skip("the slaengine console script is not installed on PATH")
    done = subprocess.run(
        [script, "check", "policies/"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout == ""
    assert done.stderr == "ok: 6 policies, 4 calendars in 1 file\n"
