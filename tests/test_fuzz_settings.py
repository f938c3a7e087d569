"""Settings files: every bad ``[live]`` value is a located usage error, never a traceback.

The corpus (tests/data/fuzz/settings/) holds the values found by fuzzing; hypothesis
then writes arbitrary values for every setting.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slaengine.cli import main
from slaengine.cli._live import LiveSettings, live_settings
from slaengine.config import MAX_SETTING_SECONDS, load_config, locate
from slaengine.errors import UserError

CORPUS = Path(__file__).resolve().parent / "data" / "fuzz" / "settings"


def _examples(default: int) -> int:
    """Examples per property: bounded for CI; SLAENGINE_FUZZ_EXAMPLES runs longer locally."""
    return int(os.environ.get("SLAENGINE_FUZZ_EXAMPLES", default))


FUZZ = settings(
    max_examples=_examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Every corpus file: the start of its error after "slaengine: ".
CORPUS_ERRORS = {
    "tick_text.toml": "tick_text.toml:2:1: [live] tick: expected a duration like 90m",
    "tick_inf.toml": "tick_inf.toml:2:1: [live] tick: expected seconds or a duration",
    "read_limit_zero.toml": "read_limit_zero.toml:2:1: [live] read_limit: must be from 1 to",
    "read_limit_text.toml": "read_limit_text.toml:2:1: [live] read_limit: expected a whole number",
    "lease_huge.toml": "lease_huge.toml:2:1: [live] lease: a duration may be at most 10,000h",
    "attempts_negative.toml": "attempts_negative.toml:3:1: [live.retry] attempts: must be from 1",
    "unknown_retry_key.toml": "unknown_retry_key.toml:2:1: [live.retry] firts: unknown setting",
    "policies_number.toml": "policies_number.toml:1:1: [live] policies: expected text or a list",
}


def _settings(path: Path) -> LiveSettings:
    return live_settings(argparse.Namespace(config=str(path), state=None, policies=None))


def _settings_or_error(path: Path) -> tuple[LiveSettings | None, str]:
    try:
        return _settings(path), ""
    except UserError as exc:
        return None, str(exc)


def test_every_corpus_file_has_its_expected_error():
    assert sorted(CORPUS_ERRORS) == sorted(p.name for p in CORPUS.iterdir())


@pytest.mark.parametrize("name", sorted(CORPUS_ERRORS))
def test_corpus_settings_are_located_usage_errors(name, capsys, monkeypatch):
    monkeypatch.chdir(CORPUS)
    assert main(["outbox", "--config", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"slaengine: {CORPUS_ERRORS[name]}"), err
    assert "Traceback" not in err


def test_good_settings_are_read(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(
        '[live]\ntick = "2m"\nread_limit = 50\nlease = 90\npolicies = "p/"\n'
        '[live.retry]\nfirst = "30s"\ncap = "1h"\nattempts = 3\n',
        encoding="utf-8",
    )
    got = _settings(path)
    assert (got.tick, got.read_limit, got.lease, got.policies) == (120.0, 50, 90, ("p/",))
    assert (got.backoff.first, got.backoff.cap, got.backoff.attempts) == (30, 3600, 3)


def test_locate_finds_dotted_and_tabled_keys(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        "# top\nlive.state = 'x'\nlive.tick = 3\n[live.retry]\n  first = 1\n", encoding="utf-8"
    )
    config = load_config(path)
    assert locate(config, "live", "state") == f"{path}:2:1"
    assert locate(config, "live", "tick") == f"{path}:3:1"
    assert locate(config, "live", "retry", "first") == f"{path}:5:3"
    assert locate(config, "live", "lease") == str(path)
    assert locate({}, "live", "tick") == "settings"


_VALUES = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["abc", "0s", "-5", "5x", "99999999999999999999999h", "2m", "30", "1h30m"]),
    st.lists(st.integers(), max_size=2),
)
_NAMES = st.sampled_from(
    ["tick", "read_limit", "lease", "state", "policies", "retry.first", "retry.cap",
     "retry.attempts", "bogus"]
)  # fmt: skip


@FUZZ
@given(values=st.dictionaries(_NAMES, _VALUES, max_size=4))
def test_any_live_values_are_read_or_refused_with_their_place(tmp_path, values):
    lines = ["[live]"]
    retry = []
    for name, value in values.items():
        text = (
            json.dumps(value, ensure_ascii=False) if not isinstance(value, float) else repr(value)
        )
        text = {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(text, text)
        if name.startswith("retry."):
            retry.append(f"{name.removeprefix('retry.')} = {text}")
        else:
            lines.append(f"{name} = {text}")
    path = tmp_path / "fuzz.toml"
    path.write_text("\n".join([*lines, "[live.retry]", *retry]) + "\n", encoding="utf-8")
    got, error = _settings_or_error(path)
    if got is None:
        assert re.match(rf"{re.escape(str(path))}:\d+:\d+: ", error), error
        return
    assert 0 < got.tick <= MAX_SETTING_SECONDS
    assert math.isfinite(got.tick)
    assert 1 <= got.read_limit <= 100_000
    assert 1 <= got.backoff.attempts <= 1000
    assert 1 <= got.lease <= MAX_SETTING_SECONDS
