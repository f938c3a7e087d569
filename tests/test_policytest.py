"""``slaengine test``: policy tests in YAML, their report, exit statuses and located problems."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_support import RunCli

DATA = Path("tests/data/policytests")
FAILING = DATA / "failing"
FAILING_CASES = FAILING / "tests" / "cases.yaml"
BROKEN = DATA / "broken"


# Every test runs from the repository root, where ``policies/tests`` is the default.
pytestmark = pytest.mark.usefixtures("at_repo_root")


@pytest.fixture
def write_tests(tmp_path: Path) -> Callable[[str], Path]:
    """Write one test file into ``tmp/tests/`` next to a copy of the small policy set."""

    def write(text: str) -> Path:
        (tmp_path / "policies.yaml").write_text(
            (FAILING / "policies.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
        folder = tmp_path / "tests"
        folder.mkdir(exist_ok=True)
        path = folder / "t.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


# -- the shipped policies ----------------------------------------------------------------------


def test_shipped_policy_tests_pass(run_cli: RunCli) -> None:
    status, out, _ = run_cli("test")
    lines = out.splitlines()
    assert status == 0, out
    assert lines[0].startswith("policies/tests/support.yaml ")
    assert set(lines[0].split()[1]) == {"."}
    assert lines[-1] == f"{len(lines[0].split()[1])} passed, 0 failed"
    assert "untested" not in out


def test_shipped_policy_tests_cover_every_policy(run_cli: RunCli) -> None:
    status, out, _ = run_cli("test", "policies/", "--strict-coverage", "--format", "json")
    report = json.loads(out)
    assert status == 0
    assert report["untested_policies"] == []
    assert report["failed"] == 0
    assert report["passed"] >= 10
    assert {t["policy"] for t in report["tests"]} == {
        "urgent-any-channel",
        "social-messaging",
        "live-chat",
        "phone",
        "americas-email-web",
        "email-and-web",
    }


# -- failures ----------------------------------------------------------------------------------


def test_failing_case_is_located_with_expected_and_got(run_cli: RunCli) -> None:
    status, out, _ = run_cli("test", str(FAILING / "tests"))
    lines = out.splitlines()
    assert status == 1
    assert lines[0] == f"{FAILING_CASES} .FF"
    # One located header per expectation (editors jump to it), what failed indented under it.
    header = lines.index(f"{FAILING_CASES}:17: test 'chat answered late,")
    assert lines[header + 1] == "    wrongly expected achieved'"
    assert lines[header + 2] == (
        "    metric first_response #1: state expected 'achieved', got 'breached'"
    )
    # The actual clock follows the failure, with instants as written (UTC here), wrapped.
    detail = lines[header + 3 : lines.index(f"{FAILING_CASES}:24: test 'email in office hours'")]
    assert detail[0].startswith("    actual first_response #1: state breached, ")
    assert all(line.startswith("      ") for line in detail[1:])
    actual = " ".join(line.strip() for line in detail)
    assert "due 2025-12-01T09:15:00Z (+15m)" in actual
    assert "elapsed 20m, remaining -5m, target 15m" in actual
    assert "    policy expected 'chat', got 'email'" in lines
    assert "'chat' does not match: channel 'email' not in ['chat']" in " ".join(out.split())
    header = lines.index(f"{FAILING_CASES}:27: test 'email in office hours'")
    assert lines[header + 1] == "    metric first_response: expected no clock, got 1 instance(s)"
    assert lines[-1] == "1 passed, 2 failed"


def test_failures_stay_within_80_columns_with_their_file_and_line(
    run_cli: RunCli, write_tests: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_tests(
        """\
- name: an email that arrives on a Friday evening before a long holiday weekend in Berlin
  timeline:
    - {at: 2025-12-01T09:00:00+01:00, type: created, channel: email, priority: normal}
  at: +30m
  policy: chat
  expect:
    - {metric: first_response, state: breached, due: +2h, elapsed: 1h}
"""
    )
    monkeypatch.chdir(path.parent.parent)  # a short relative path, as people type it
    status, out, _ = run_cli("test", "tests/t.yaml")
    lines = out.splitlines()
    assert status == 1
    too_long = [line for line in lines if len(line) > 80]
    assert not too_long, too_long
    assert not [line for line in lines if line != line.rstrip()]
    # Each failure starts on a line of its own with the file and line of the expectation.
    assert [line.split(":")[1] for line in lines if line.startswith("tests/t.yaml:")] == ["5", "7"]
    text = " ".join(out.split())
    assert (
        "tests/t.yaml:7: test 'an email that arrives on a Friday evening before a long holiday "
        "weekend in Berlin' metric first_response #1: state expected 'breached', got 'active' "
        "metric first_response #1: due expected 2025-12-01T11:00:00+01:00 (+2h), "
        "got 2025-12-01T10:00:00+01:00 (+1h)"
    ) in text
    assert "metric first_response #1: elapsed expected 1h, got 30m actual first_response" in text


def test_every_checked_field_reports_expected_and_got(
    run_cli: RunCli, write_tests: Callable[[str], Path]
) -> None:
    path = write_tests(
        """\
- name: all wrong
  timeline:
    - {at: 2025-12-01T09:00:00+01:00, type: created, channel: email, priority: normal}
  at: +30m
  expect:
    - {metric: first_response, state: breached, start: +1m, due: +2h, stop: +30m,
       stop_reason: fulfilled, elapsed: 1h, remaining: 0, target: 2h, paused: 1m,
       priority: high}
    - {metric: resolution, instance: 2}
    - {metric: next_response}
"""
    )
    status, out, _ = run_cli("test", str(path))
    assert status == 1
    for text in (
        "state expected 'breached', got 'active'",
        "start expected 2025-12-01T09:01:00+01:00 (+1m), got 2025-12-01T09:00:00+01:00 (+0s)",
        "due expected 2025-12-01T11:00:00+01:00 (+2h), got 2025-12-01T10:00:00+01:00 (+1h)",
        "stop expected 2025-12-01T09:30:00+01:00 (+30m), got null",
        "stop_reason expected 'fulfilled', got null",
        "elapsed expected 1h, got 30m",
        "remaining expected 0s, got 30m",
        "target expected 2h, got 1h",
        "paused expected 1m, got 0s",
        "priority expected 'high', got 'normal'",
        "metric resolution #2: expected a clock, got none "
        "(the ticket has 1 resolution instance(s))",
        "metric next_response #1: expected a clock, got none (policy 'email' has no next_response)",
    ):
        assert text in " ".join(out.split())  # the report wraps at 80 columns
    assert out.splitlines()[-1] == "0 passed, 1 failed"


# -- broken test files -------------------------------------------------------------------------


def test_broken_file_reports_every_problem_located(run_cli: RunCli) -> None:
    status, out, err = run_cli("test", str(BROKEN))
    assert status == 2
    assert out == (BROKEN / "broken.expected").read_text(encoding="utf-8")
    assert "no test was run" in err
    assert "passed" not in out


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        pytest.param(
            "  at: +1h\n  expcet: []\n",
            ":5:3: E101 unknown key 'expcet' in test 'c'; expected one of name, description, "
            "timeline, at, policy, expect, absent; did you mean 'expect'?",
            id="unknown-key",
        ),
        pytest.param(
            "  at: +1.5h\n  policy: chat\n",
            ":4:7: E201 bad offset in 'at' of test 'c': expected a duration like 90m, 2h or "
            "1h30m, got '1.5h'",
            id="bad-offset",
        ),
        pytest.param(
            "  at: 2025-12-01T10:00:00\n  policy: chat\n",
            ":4:7: E204 bad 'at' of test 'c': timestamp '2025-12-01T10:00:00' has no UTC offset",
            id="timestamp-without-offset",
        ),
        pytest.param(
            "    - {at: +5m, type: status, status: pendng}\n  at: +1h\n  policy: chat\n",
            ":4:39: E400 'status' must be one of new, open, pending, on_hold, solved, closed, "
            "got 'pendng'; did you mean 'pending'?",
            id="bad-event",
        ),
        pytest.param(
            "  at: +1h\n  expect:\n    - {metric: resolutoin}\n",
            ":6:16: E101 unknown metric 'resolutoin' in test 'c'; expected one of first_response, "
            "next_response, periodic_update, resolution; did you mean 'resolution'?",
            id="unknown-metric",
        ),
        pytest.param(
            "  at: +1h\n  absent: [next_respons]\n",
            ":5:12: E101 unknown metric 'next_respons' in 'absent' of test 'c'",
            id="unknown-absent-metric",
        ),
        pytest.param(
            "  at: +1h\n  policy: emial\n",
            ":5:11: E301 unknown policy 'emial'; expected one of chat, email, phone, or null for "
            "no policy; did you mean 'email'?",
            id="unknown-policy",
        ),
        pytest.param(
            "  at: +1h\n  expect:\n    - {metric: first_response, state: breachd}\n",
            ":6:39: E103 'state' must be one of active, paused, achieved, breached, cancelled, "
            "got 'breachd'; did you mean 'breached'?",
            id="bad-state",
        ),
        pytest.param(
            "  at: +1h\n  expect:\n    - {metric: first_response, elapsed: 2d}\n",
            ":6:41: E201 bad 'elapsed': '2d': days and weeks are ambiguous",
            id="bad-duration",
        ),
        pytest.param(
            "  at: 2025-11-30T09:00:00Z\n  policy: chat\n",
            ":4:7: E204 'at' of test 'c' is before the ticket is created",
            id="at-before-created",
        ),
        pytest.param(
            "  at: +1h\n",
            ":1:3: E102 test 'c' checks nothing; give 'expect', 'absent' or 'policy'",
            id="checks-nothing",
        ),
    ],
)
def test_broken_case_is_reported_with_location(
    run_cli: RunCli, write_tests: Callable[[str], Path], snippet: str, expected: str
) -> None:
    head = (
        "- name: c\n"
        "  timeline:\n"
        "    - {at: 2025-12-01T09:00:00Z, type: created, channel: chat, priority: normal}\n"
    )
    path = write_tests(head + snippet)
    status, out, _ = run_cli("test", str(path))
    assert status == 2, out
    assert f"{path}{expected}" in out
    assert "passed" not in out


def test_offset_in_the_first_event_is_refused(
    run_cli: RunCli, write_tests: Callable[[str], Path]
) -> None:
    path = write_tests(
        "- name: c\n  timeline:\n    - {at: +0m, type: created, channel: chat, priority: normal}\n"
        "  at: +1h\n  policy: chat\n"
    )
    status, out, _ = run_cli("test", str(path))
    assert status == 2
    assert f"{path}:3:12: E201" in out
    assert "the first event has no timestamp to count from" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", ":1:1: E102 the file is empty", id="empty"),
        pytest.param("name: c\n", ":1:1: E103 a test file is a list of test cases", id="mapping"),
        pytest.param("- name: [\n", ": E001 YAML syntax", id="yaml-syntax"),
    ],
)
def test_broken_file_shape(
    run_cli: RunCli, write_tests: Callable[[str], Path], text: str, expected: str
) -> None:
    path = write_tests(text)
    status, out, _ = run_cli("test", str(path))
    assert status == 2
    assert str(path) in out
    assert expected.split(": ", 1)[1] in out


def test_missing_path_is_a_located_problem(run_cli: RunCli) -> None:
    status, out, _ = run_cli("test", "no/such/tests")
    assert status == 2
    assert "no/such/tests: E002 no such file or directory" in out


@pytest.mark.parametrize("named", ["support.yaml", "./support.yaml", ".", "../tests/support.yaml"])
def test_a_test_file_runs_from_inside_its_tests_folder(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    # The path's text names no tests folder, the folder it is in does: the policies are the
    # folder above it, as from the repository root.
    root_status, root_out, _ = run_cli("test", "policies/tests/support.yaml")
    assert root_status == 0
    monkeypatch.chdir("policies/tests")
    status, out, _ = run_cli("test", named)
    assert status == 0, out
    assert "E002" not in out
    assert out.splitlines()[-1] == root_out.splitlines()[-1]
    assert out.splitlines()[-1].endswith(" passed, 0 failed")


def test_a_file_outside_a_tests_folder_still_needs_its_policies(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("policies")
    status, out, _ = run_cli("test", "support.yaml")
    assert status == 2
    assert "support.yaml: E002 not in a 'tests' folder" in out


def test_broken_policies_are_reported(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "policies.yaml").write_text("version: 1\npolicies: 3\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.yaml").write_text("- name: c\n", encoding="utf-8")
    status, out, _ = run_cli("test", str(tmp_path))
    assert status == 2
    assert f"{tmp_path / 'policies.yaml'}:2:" in out


# -- selection, formats, coverage --------------------------------------------------------------


def test_k_selects_by_name_substring(run_cli: RunCli) -> None:
    status, out, err = run_cli("test", str(FAILING), "-k", "ANSWERED")
    assert status == 1
    assert out.splitlines()[0] == f"{FAILING_CASES} .F"
    assert out.splitlines()[-1] == "1 passed, 1 failed"
    assert "1 test deselected by -k" in err
    status, out, _ = run_cli("test", str(FAILING), "-k", "in time")
    assert status == 0
    assert out.splitlines()[-1] == "1 passed, 0 failed"


def test_k_matching_nothing_is_a_usage_error(run_cli: RunCli) -> None:
    status, _, err = run_cli("test", str(FAILING), "-k", "no such test")
    assert status == 2
    assert "no test name contains 'no such test'" in err


def test_json_report(run_cli: RunCli) -> None:
    status, out, _ = run_cli("test", str(FAILING), "--format", "json")
    report = json.loads(out)
    assert status == 1
    assert (report["passed"], report["failed"]) == (1, 2)
    assert report["untested_policies"] == ["phone"]
    assert report["problems"] == []
    first, second, third = report["tests"]
    assert first == {
        "file": str(FAILING_CASES),
        "line": 1,
        "name": "chat answered in time",
        "outcome": "passed",
        "policy": "chat",
        "failures": [],
        "clocks": first["clocks"],
    }
    assert first["clocks"][0]["metric"] == "first_response"
    assert first["clocks"][0]["state"] == "achieved"
    assert second["outcome"] == "failed"
    assert second["failures"][0]["line"] == 17
    assert second["failures"][0]["message"] == (
        "metric first_response #1: state expected 'achieved', got 'breached'"
    )
    assert third["policy"] == "email"


def test_json_report_of_broken_files(run_cli: RunCli) -> None:
    status, out, _ = run_cli("test", str(BROKEN), "--format", "json")
    report = json.loads(out)
    assert status == 2
    assert report["tests"] == []
    unknown = report["problems"][0]
    assert (unknown["line"], unknown["column"], unknown["code"]) == (6, 3, "E101")
    assert unknown["file"] == str(BROKEN / "tests" / "broken.yaml")


def test_untested_policies_warn_and_strict_coverage_fails(run_cli: RunCli) -> None:
    status, out, _ = run_cli("test", str(FAILING), "-k", "in time")
    assert status == 0
    assert "warning: untested policies: email, phone" in out.splitlines()
    status, out, _ = run_cli("test", str(FAILING), "-k", "in time", "--strict-coverage")
    assert status == 1
    assert "error: untested policies: email, phone" in out.splitlines()
    assert out.splitlines()[-1] == "1 passed, 0 failed"


def test_policies_option_overrides_the_folder_above(
    run_cli: RunCli, write_tests: Callable[[str], Path]
) -> None:
    path = write_tests(
        "- name: urgent chat\n  timeline:\n"
        "    - {at: 2025-12-01T09:00:00Z, type: created, channel: chat, priority: urgent}\n"
        "  at: +1m\n  policy: urgent-any-channel\n"
    )
    status, out, _ = run_cli("test", str(path), "--policies", "policies/")
    assert status == 0, out
    assert "untested policies: social-messaging, live-chat" in out


def test_unmatched_ticket_is_expected_with_null(
    run_cli: RunCli, write_tests: Callable[[str], Path]
) -> None:
    path = write_tests(
        "- name: web form\n  timeline:\n"
        "    - {at: 2025-12-01T09:00:00Z, type: created, channel: web, priority: low}\n"
        "  at: +1m\n  policy: null\n  absent: [first_response, resolution]\n"
        "- name: web form wrongly expected\n  timeline:\n"
        "    - {at: 2025-12-01T09:00:00Z, type: created, channel: web, priority: low}\n"
        "  at: +1m\n  expect:\n    - {metric: first_response}\n"
    )
    status, out, _ = run_cli("test", str(path))
    assert status == 1
    assert "got none (the ticket matched no policy)" in " ".join(out.split())
    assert out.splitlines()[-1] == "1 passed, 1 failed"


def test_a_created_event_may_name_its_author(run_cli: RunCli, write_tests) -> None:
    path = write_tests(
        """\
- name: opened by an agent
  timeline:
    - {at: 2025-12-01T09:00:00+01:00, type: created, channel: email, priority: normal,
       author: agent}
  at: +30m
  expect:
    - {metric: first_response, state: active}
"""
    )
    status, out, _ = run_cli("test", str(path))
    assert status == 0, out
    assert out.splitlines()[-1] == "1 passed, 0 failed"
