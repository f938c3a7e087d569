"""Hostile policy files: refused quickly, every problem located, nothing raw on the terminal.

The corpus (tests/data/fuzz/policies/) holds one file per defect found by fuzzing;
hypothesis then writes arbitrary YAML text and arbitrary policy documents.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slaengine.cli import main
from slaengine.durations import MAX_SECONDS, MAX_WORKING_DAYS
from slaengine.errors import PolicyError, Problem
from slaengine.policy import loads_policies, read_policies
from slaengine.policy.load import MAX_POLICY_BYTES
from slaengine.policy.source import MAX_ALIAS_VALUES, MAX_DEPTH, parse_yaml
from slaengine.policy.validate_calendars import HOLIDAY_YEARS
from slaengine.safetext import printable
from slaengine.timeline import MAX_YEAR, MIN_YEAR

CORPUS = Path(__file__).resolve().parent / "data" / "fuzz" / "policies"


def _examples(default: int) -> int:
    """Examples per property: bounded for CI; SLAENGINE_FUZZ_EXAMPLES runs longer locally."""
    return int(os.environ.get("SLAENGINE_FUZZ_EXAMPLES", default))


FUZZ = settings(
    max_examples=_examples(120),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _shown_safely(text: str) -> bool:
    """True when ``text`` holds no control character (see test_fuzz_terminal for the escapes)."""
    return printable(text) == text


CALENDAR = """calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
"""

# Every corpus file: its problems as (line, column, code, start of the message).
CORPUS_PROBLEMS = {
    "billion_laughs.yaml": [(6, 4, "E003", "aliases make this value larger than 100,000 values")],
    "recursive_alias.yaml": [(1, 11, "E003", "an alias refers to the value that contains it")],
    "deep_flow.yaml": [(1, 111, "E001", "YAML syntax: nested more than 100 levels deep")],
    # Only the tag: what was read around it has lost its meaning.
    "unknown_tag.yaml": [
        (2, 11, "E105", "the YAML tag '!!python/name:os.system' is not allowed"),
    ],
    "local_tag.yaml": [(6, 11, "E105", "the YAML tag '!custom' is not allowed")],
    "empty_name.yaml": [(6, 11, "E102", "policy #1 has an empty 'name'; give it one")],
    "holiday_9999.yaml": [
        (5, 23, "E204", "'from' must fall in the years 1900 to 2199, got 9999-12-31"),
        (5, 39, "E204", "'to' must fall in the years 1900 to 2199, got 9999-12-31"),
    ],
    "holiday_years.yaml": [
        (5, 23, "E204", "'from' must fall in the years 1900 to 2199, got 0001-01-01"),
        (5, 39, "E204", "'to' must fall in the years 1900 to 2199, got 9999-12-31"),
    ],
    "huge_target.yaml": [(9, 29, "E201", "bad target of resolution of policy 'desk': a duration")],
    "zone_folder.yaml": [(3, 15, "E203", "unknown time zone 'Europe'")],
    "zone_long.yaml": [(3, 15, "E203", "unknown time zone 'AAAAAAAA")],
    "nul.yaml": [(6, 13, "E001", "YAML syntax: the character U+0000 is not allowed")],
    "u_fffe.yaml": [(6, 13, "E001", "YAML syntax: the character U+FFFE is not allowed")],
    "terminal_escape.yaml": [(6, 12, "E001", "YAML syntax: the character U+001B is not allowed")],
    "escaped_escape.yaml": [(7, 15, "E301", "unknown calendar '\x1b[2Joffice'")],
    "not_utf8.yaml": [(6, 12, "E002", "not UTF-8 text: the byte 0xFF cannot be read")],
}


def _errors(path: Path) -> list[Problem]:
    policy_set, problems = read_policies([path])
    assert policy_set is None
    return [p for p in problems if not p.is_warning]


# A bound against blow-ups (an alias bomb expanded, nesting walked exponentially), which
# take minutes to hours; not a speed goal, so it is generous enough for a loaded machine.
BLOWUP_BOUND = 15.0


def test_every_corpus_file_has_its_expected_problems():
    assert sorted(CORPUS_PROBLEMS) == sorted(p.name for p in CORPUS.iterdir())


@pytest.mark.parametrize("name", sorted(CORPUS_PROBLEMS))
def test_corpus_file_is_refused_quickly_with_located_problems(name):
    started = time.perf_counter()
    problems = _errors(CORPUS / name)
    assert time.perf_counter() - started < BLOWUP_BOUND
    found = [(p.line, p.column, p.code, p.message) for p in problems]
    expected = CORPUS_PROBLEMS[name]
    assert len(found) == len(expected), found
    for (line, column, code, message), (want_line, want_column, want_code, start) in zip(
        found, expected, strict=True
    ):
        assert (line, column, code) == (want_line, want_column, want_code), found
        assert message.startswith(start), message
        assert _shown_safely(str(Problem(str(CORPUS / name), line, column, code, message)))


@pytest.mark.parametrize(
    ("name", "where"), [("billion_laughs.yaml", "6:4"), ("recursive_alias.yaml", "1:11")]
)
def test_fmt_refuses_alias_bombs_quickly(capsys, name, where):
    started = time.perf_counter()
    assert main(["fmt", "--check", str(CORPUS / name)]) == 2
    assert time.perf_counter() - started < BLOWUP_BOUND
    assert f"{name}:{where}: E003" in capsys.readouterr().err


def test_check_prints_control_characters_from_a_file_as_escapes(capsys):
    assert main(["check", str(CORPUS / "escaped_escape.yaml")]) == 1
    out = capsys.readouterr().out
    assert "unknown calendar '\\x1b[2Joffice'" in out
    assert "\x1b" not in out


def test_nesting_1000_levels_deep_in_block_style_is_refused_quickly():
    text = "policies:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 1000))
    started = time.perf_counter()
    root, problems = parse_yaml(text, "deep.yaml")
    assert time.perf_counter() - started < BLOWUP_BOUND
    assert root is None
    assert [(p.line, p.code) for p in problems] == [(MAX_DEPTH, "E001")]


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH + 1])
def test_flow_nesting_limit(depth):
    _root, problems = parse_yaml("x: " + "[" * depth + "]" * depth + "\n", "f.yaml")
    assert [p.code for p in problems] == ([] if depth < MAX_DEPTH else ["E001"])


def test_aliases_chained_deeper_than_the_nesting_limit_are_refused():
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 1000))
    started = time.perf_counter()
    root, problems = parse_yaml(chain, "chain.yaml")
    assert time.perf_counter() - started < BLOWUP_BOUND
    assert root is None
    assert [(p.line, p.code) for p in problems] == [(MAX_DEPTH, "E003")]
    assert "nest values more than 100 levels deep" in problems[0].message


def test_aliases_within_the_limit_still_work():
    repeated = ", ".join(["*hours"] * 50)
    text = f"a: &hours {{mon-fri: ['09:00-17:00']}}\nb: [{repeated}]\n"
    root, problems = parse_yaml(text, "ok.yaml")
    assert problems == []
    assert root is not None
    assert MAX_ALIAS_VALUES > 50 * 3


def test_a_file_over_the_size_limit_is_refused_without_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as out:  # 50 MB of policies, written sparsely
        out.write(b"policies:\n")
        out.truncate(50 * 1024 * 1024)
    started = time.perf_counter()
    problems = _errors(path)
    assert time.perf_counter() - started < BLOWUP_BOUND
    assert [(p.code, p.line) for p in problems] == [("E002", 0)]
    assert f"at most {MAX_POLICY_BYTES:,}" in problems[0].message


def test_a_huge_target_passes_neither_check_nor_evaluate():
    with pytest.raises(PolicyError, match="a duration may be at most"):
        loads_policies(
            CALENDAR + "policies:\n  - name: p\n    calendar: office\n"
            f"    metrics: {{resolution: {{targets: {MAX_SECONDS // 3600 + 1}h}}}}\n"
        )
    with pytest.raises(PolicyError, match="at most 1,000 working days"):
        loads_policies(
            CALENDAR + "policies:\n  - name: p\n    calendar: office\n"
            f"    metrics: {{resolution: {{targets: {MAX_WORKING_DAYS + 1} working days}}}}\n"
        )
    assert loads_policies(
        CALENDAR + "policies:\n  - name: p\n    calendar: office\n"
        f"    metrics: {{resolution: {{targets: {MAX_SECONDS // 3600}h}}}}\n"
    )


def test_holiday_years_are_the_years_events_may_have():
    assert (HOLIDAY_YEARS.start, HOLIDAY_YEARS.stop - 1) == (MIN_YEAR, MAX_YEAR)


def test_a_holiday_range_over_all_allowed_years_is_quick():
    started = time.perf_counter()
    loads_policies(
        CALENDAR.replace(
            "    hours:", "    holidays: [{from: 1900-01-01, to: 2199-12-31}]\n    hours:"
        )
        + "policies:\n  - name: p\n    calendar: office\n"
        "    metrics: {resolution: {targets: 8h}}\n"
    )
    # About half a second alone; the bound leaves room for a busy CI machine.
    assert time.perf_counter() - started < BLOWUP_BOUND


@pytest.mark.parametrize("zone", ["Europe", "A" * 300, "Europe/../../etc/passwd", "\x00"])
def test_a_zone_that_is_not_a_zone_is_a_usage_error(capsys, zone):
    events = Path(__file__).resolve().parent.parent / "examples" / "tickets.jsonl"
    policies = Path(__file__).resolve().parent.parent / "policies"
    assert main(["evaluate", "-p", str(policies), "-e", str(events), "--tz", zone]) == 2
    assert "--tz: unknown time zone" in capsys.readouterr().err


# -- hypothesis -------------------------------------------------------------------------

_YAML_ALPHABET = st.sampled_from(
    [*"abcz019 -:[]{},&*!|>'\"#%@`?\n\t\\", "\x00", "\x1b", "\ufffe", "\u202e", "é"]
)


def _load_problems(text: str) -> list[Problem]:
    """The errors of loading ``text`` (none when it loads)."""
    try:
        loads_policies(text, "fuzz.yaml")
    except PolicyError as exc:
        return list(exc.problems) or [Problem("fuzz.yaml", 0, 0, "E???", "no problem given")]
    return []


def _assert_located(problems: list[Problem]) -> None:
    for problem in problems:
        assert problem.code[0] in "EW"
        assert problem.code[1:].isdigit()
        # Only whole-file problems (size, unreadable) may lack a line.
        assert problem.line >= 1 or problem.code == "E002", problem
        assert _shown_safely(str(problem))


@FUZZ
@given(text=st.text(_YAML_ALPHABET, max_size=300))
def test_any_yaml_text_loads_or_gives_located_problems(text):
    _assert_located(_load_problems(text))


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.sampled_from(["Europe", "Europe/Berlin", "A" * 300, "9999-12-31", "0001-01-01",
                     "99999999999999999999999h", "8h", "09:00-17:00", "mon-fri", "email",
                     "high", "", "2 working days", "office", "DE"]),
)  # fmt: skip
_KEYS = st.sampled_from(
    ["name", "calendar", "metrics", "match", "targets", "timezone", "hours", "holidays", "from",
     "to", "date", "country", "resolution", "first_response", "pause_when", "channel", "office"]
)  # fmt: skip
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


def _policy_doc(calendar: Any, policy: Any) -> str:
    return json.dumps({"calendars": {"office": calendar}, "policies": [policy]}, default=str)


@FUZZ
@given(calendar=_DOCS, policy=_DOCS)
def test_any_policy_document_loads_or_gives_located_problems(calendar, policy):
    _assert_located(_load_problems(_policy_doc(calendar, policy)))


@FUZZ
@given(
    zone=_SCALARS,
    holiday_from=_SCALARS,
    holiday_to=_SCALARS,
    target=_SCALARS,
    name=_SCALARS,
)
def test_any_values_in_a_valid_shape_load_or_give_located_problems(
    zone, holiday_from, holiday_to, target, name
):
    calendar = {
        "timezone": zone,
        "hours": {"mon-fri": ["09:00-17:00"]},
        "holidays": [{"from": holiday_from, "to": holiday_to}],
    }
    policy = {"name": name, "calendar": "office", "metrics": {"resolution": {"targets": target}}}
    _assert_located(_load_problems(_policy_doc(calendar, policy)))


def test_a_policy_test_file_that_is_not_utf8_is_located(tmp_path):
    from slaengine.policy import load_policies
    from slaengine.policytest.parse import parse_test_file

    path = tmp_path / "bad_test.yaml"
    path.write_bytes(b"cases:\n  - name: caf\xe9\n")
    policies = load_policies(Path(__file__).resolve().parent.parent / "policies")
    cases, problems = parse_test_file(path, policies)
    assert cases == []
    assert [(p.line, p.column, p.code) for p in problems] == [(2, 14, "E002")]
