"""Golden tests for the problems ``slaengine check`` reports on broken policy files.

Each ``tests/data/policies/bad/NAME.yaml`` holds one family of mistakes; ``NAME.expected``
is the exact stdout of ``slaengine check tests/data/policies/bad/NAME.yaml`` run from the
repository root. Refresh deliberately with ``SLAENGINE_UPDATE_GOLDEN=1 python3 -m pytest
tests/test_policy_errors.py`` and review the diff: every line and column must point at the
token that is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slaengine.cli import main
from slaengine.errors import PolicyError
from slaengine.policy import loads_policies, read_policies

REPO_ROOT = Path(__file__).resolve().parents[1]
BAD_DIR = Path("tests", "data", "policies", "bad")  # relative: goldens hold this path
UPDATE_GOLDEN = os.environ.get("SLAENGINE_UPDATE_GOLDEN") == "1"

# name of the broken file -> the problem codes its golden must contain (nothing else).
EXPECTED_CODES: dict[str, set[str]] = {
    "bad_date": {"E204"},
    "bad_duration": {"E201"},
    "bad_interval": {"E202"},
    "bad_subdivision": {"E205"},
    "calendar_never_open": {"E303"},
    "channel_typo_warning": {"W201"},
    "clock_rules": {"E103", "E204", "E208", "E213", "E214", "E306"},
    "day_twice": {"E104"},
    "days_refused": {"E201"},
    "duplicate_key": {"E104"},
    "duplicate_policy_name": {"E302"},
    "empty": {"E102"},
    "empty_values": {"E102", "E103"},
    "established_rules": {"E201", "E211", "E212", "E213", "E214"},
    "hour_25": {"E202"},
    "many_problems": {"E201", "E202", "E203", "E207", "E208", "E101", "E301"},
    "missing_priority_target": {"E102"},
    "overlapping_intervals": {"E206"},
    "policies_not_list": {"E103"},
    "redefine_24x7": {"E104"},
    "shadowed_policy": {"E304"},
    "solved_in_pause_when": {"E208"},
    "unknown_calendar": {"E301"},
    "unknown_condition": {"E307"},
    "unknown_country": {"E205"},
    "unknown_key": {"E101"},
    "unknown_status_in_pause_when": {"E208"},
    "unknown_timezone": {"E203"},
    "version_2": {"E209"},
    "wrong_type": {"E103"},
    "yaml_syntax": {"E001"},
    "yaml_colon_in_value": {"E001"},
    "yaml_indent": {"E001"},
    "yaml_missing_colon": {"E001"},
    "yaml_python_tag": {"E105"},
    "yaml_tab": {"E001"},
    "yaml_two_documents": {"E001"},
}
WARNINGS_ONLY = frozenset({"channel_typo_warning"})


@pytest.fixture
def at_repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory set to the repository root, as the goldens assume."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


def _run_check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["check", path.as_posix()])
    out, err = capsys.readouterr()
    return status, out, err


def test_every_bad_file_has_a_golden_and_a_known_family() -> None:
    stems = {p.stem for p in (REPO_ROOT / BAD_DIR).glob("*.yaml")}
    goldens = {p.stem for p in (REPO_ROOT / BAD_DIR).glob("*.expected")}
    assert stems == set(EXPECTED_CODES)
    if not UPDATE_GOLDEN:
        assert goldens == stems


@pytest.mark.parametrize("name", sorted(EXPECTED_CODES))
def test_check_output_matches_golden(
    name: str, at_repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run_check(BAD_DIR / f"{name}.yaml", capsys)
    golden = at_repo_root / BAD_DIR / f"{name}.expected"
    if UPDATE_GOLDEN:
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")
    assert status == (0 if name in WARNINGS_ONLY else 1)
    assert "Traceback" not in out + err


@pytest.mark.parametrize("name", sorted(EXPECTED_CODES))
def test_golden_lines_are_located_and_of_the_expected_family(name: str) -> None:
    lines = (REPO_ROOT / BAD_DIR / f"{name}.expected").read_text(encoding="utf-8").splitlines()
    assert lines, "a broken file must produce at least one problem"
    prefix = f"{BAD_DIR.as_posix()}/{name}.yaml:"
    codes = set()
    for line in lines:
        assert line.startswith(prefix)
        where, _, rest = line[len(prefix) :].partition(": ")
        line_no, _, column = where.partition(":")
        assert int(line_no) >= 1
        assert int(column) >= 1
        codes.add(rest.split(" ", 1)[0])
    assert codes == EXPECTED_CODES[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_CODES))
def test_check_summary_counts_errors_and_warnings(
    name: str, at_repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _status, out, err = _run_check(BAD_DIR / f"{name}.yaml", capsys)
    problems = out.splitlines()
    warnings = sum(1 for line in problems if ": W" in line)
    errors = len(problems) - warnings
    if name in WARNINGS_ONLY:
        assert err.startswith("ok: ")
        assert f"({warnings} warning" in err
    else:
        noun = "error" if errors == 1 else "errors"
        assert f"{errors} {noun}, {warnings} warnings" in err


def test_many_problems_are_all_collected_in_line_order(at_repo_root: Path) -> None:
    _policy_set, problems = read_policies([BAD_DIR / "many_problems.yaml"])
    assert len(problems) == 8
    assert [(p.line, p.column) for p in problems] == sorted((p.line, p.column) for p in problems)
    assert {p.line for p in problems} == {4, 7, 10, 11, 13, 14}


def test_policy_error_carries_every_problem_of_the_string(at_repo_root: Path) -> None:
    text = (REPO_ROOT / BAD_DIR / "many_problems.yaml").read_text(encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        loads_policies(text, source="inline.yaml")
    assert len(info.value.problems) == 8
    assert all(p.source == "inline.yaml" for p in info.value.problems)
    assert str(info.value).splitlines()[0].startswith("inline.yaml:4:15: E203 ")


def test_check_of_two_files_reports_both_in_argument_order(
    at_repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["check", (BAD_DIR / "version_2.yaml").as_posix(), (BAD_DIR / "empty.yaml").as_posix()]
    )
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert [line.split(":")[0].rsplit("/", 1)[1] for line in out] == [
        "version_2.yaml",
        "empty.yaml",
    ]


def test_invalid_only_interval_is_not_also_reported_as_never_open() -> None:
    text = """\
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours:
      mon-fri: ["9-17"]
policies:
  - name: email
    calendar: office
    metrics:
      first_response: {targets: 1h}
"""
    with pytest.raises(PolicyError) as info:
        loads_policies(text, source="office.yaml")
    assert [p.code for p in info.value.problems] == ["E202"]
