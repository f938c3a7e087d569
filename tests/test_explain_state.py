"""``slaengine explain --state``: a ticket of the live state explained from its stored events."""

from __future__ import annotations

import json
import re

import pytest

from live_support import (  # noqa: F401 (fixture)
    EXAMPLE_AT,
    EXAMPLE_EVENTS,
    EXAMPLE_POLICIES,
    example_state_fixture,
)
from slaengine.cli import main

EVENTS = EXAMPLE_EVENTS
POLICIES = EXAMPLE_POLICIES
AT = EXAMPLE_AT


@pytest.mark.parametrize("ticket", ["T-1003", "T-1005"])
def test_explain_from_the_state_matches_explain_from_the_events_file(example_state, capsys, ticket):
    common = ["explain", "-p", str(POLICIES), "--ticket", ticket, "--at", AT, "--json"]
    assert main([*common, "--events", str(EVENTS)]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert main([*common, "--state", str(example_state)]) == 0
    from_state = json.loads(capsys.readouterr().out)
    # The same explanation; the state's events come from no file, so their line is 0.
    assert _without_lines(from_state) == _without_lines(from_file)
    assert from_state["ticket"] == ticket
    assert {use["line"] for use in from_state["events"]} == {0}
    assert 0 not in {use["line"] for use in from_file["events"]}


def _without_lines(value):
    if isinstance(value, str):
        return re.sub(r" \(line \d+\)", "", value)
    if isinstance(value, dict):
        return {k: _without_lines(v) for k, v in value.items() if not k.endswith("line")}
    if isinstance(value, list):
        return [_without_lines(v) for v in value]
    return value


def test_explain_from_the_state_as_a_table(example_state, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    args = [
        "explain",
        "-p",
        str(POLICIES),
        "-t",
        "T-1005",
        "--at",
        AT,
        "--state",
        str(example_state),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Ticket T-1005" in out
    assert "priority changed from normal to urgent at Tue 2025-12-02 13:20" in out
    assert "message from agent mia (public)" in out
    # No file, so no line numbers: neither "(line 0)" nor a Line column of zeros.
    assert "line" not in out.lower().replace("phone-lines", "")


def test_explain_from_the_state_says_what_is_wrong(example_state, tmp_path, capsys):
    base = ["explain", "-p", str(POLICIES), "--at", AT]
    assert main([*base, "-t", "T-1O05", "--state", str(example_state)]) == 2
    assert "no ticket 'T-1O05' in the state" in capsys.readouterr().err
    assert main([*base, "-t", "T-1005", "--state", str(tmp_path / "typo.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "typo.db").exists()
    # One source of events, not two, and not none.
    with pytest.raises(SystemExit) as stopped:
        main([*base, "-t", "T-1005", "--state", str(example_state), "-e", str(EVENTS)])
    assert stopped.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert main([*base, "-t", "T-1005"]) == 2
    assert capsys.readouterr().err == (
        "slaengine: no events: give --events FILE, or the live state with --state URL or "
        "'state' in the [live] table of the settings file\n"
    )


def _settings(path, state, policies=POLICIES):
    path.write_text(f'[live]\nstate = "{state}"\npolicies = ["{policies}"]\n', encoding="utf-8")
    return path


def _explained(capsys, *argv):
    assert main(["explain", "-t", "T-1005", "--at", AT, "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_explain_reads_the_state_and_policies_of_the_live_table(example_state, tmp_path, capsys):
    expected = _explained(capsys, "-p", str(POLICIES), "--state", str(example_state))
    # As status and outbox do: ./slaengine.toml, --config or $SLAENGINE_CONFIG name them.
    _settings(tmp_path / "slaengine.toml", example_state)
    assert _explained(capsys) == expected
    elsewhere = _settings(tmp_path / "elsewhere.toml", example_state)
    (tmp_path / "slaengine.toml").unlink()
    assert _explained(capsys, "--config", str(elsewhere)) == expected


def test_explain_flags_win_over_the_live_table(example_state, tmp_path, capsys):
    expected = _explained(capsys, "-p", str(POLICIES), "--state", str(example_state))
    settings = _settings(tmp_path / "slaengine.toml", tmp_path / "typo.db", tmp_path / "none")
    assert _explained(capsys, "-p", str(POLICIES), "--state", str(example_state)) == expected
    # --events reads the file, never the state of the settings.
    from_file = _explained(capsys, "--events", str(EVENTS), "-p", str(POLICIES))
    assert _without_lines(from_file) == _without_lines(expected)
    # The state the settings name is checked like status checks it.
    assert main(["explain", "-t", "T-1005", "-p", str(POLICIES), "--config", str(settings)]) == 2
    assert f"state '{tmp_path / 'typo.db'}' does not exist" in capsys.readouterr().err


def test_explain_without_policies_says_where_to_give_them(example_state, tmp_path, capsys):
    (tmp_path / "slaengine.toml").write_text(f'[live]\nstate = "{example_state}"\n', "utf-8")
    assert main(["explain", "-t", "T-1005", "--at", AT]) == 2
    assert "no policies: give --policies PATH or 'policies' in the [live] table" in (
        capsys.readouterr().err
    )
