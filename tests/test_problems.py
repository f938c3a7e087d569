"""One located-problem collector and one "did you mean" wording for every kind of input."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from slaengine.config import load_config
from slaengine.errors import Problem
from slaengine.hookspecs import hookimpl
from slaengine.plugins import make_plugins
from slaengine.problems import ProblemCollector, did_you_mean, placed, setting_place


@dataclass
class _Node:
    line: int
    column: int


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        pytest.param("pendng", ["new", "pending"], "; did you mean 'pending'?", id="close"),
        pytest.param("zzz", ["new", "pending"], "", id="nothing-close"),
        pytest.param("x", [], "", id="no-choices"),
    ],
)
def test_did_you_mean(word, choices, expected):
    assert did_you_mean(word, choices) == expected


def test_collector_reports_located_problems_and_unknown_keys():
    collector = ProblemCollector("p.yaml")
    collector.report(_Node(3, 5), "E103", "bad")
    entries = {"name": (_Node(4, 1), None), "calender": (_Node(5, 1), None)}
    assert collector.unknown_keys(entries, ("name", "calendar"), "policy 'x'") == 1
    assert collector.problems == [
        Problem("p.yaml", 3, 5, "E103", "bad"),
        Problem(
            "p.yaml",
            5,
            1,
            "E101",
            "unknown key 'calender' in policy 'x'; expected one of name, calendar; "
            "did you mean 'calendar'?",
        ),
    ]


def test_plugins_get_settings_that_place_their_problems(tmp_path):
    path = tmp_path / "slaengine.toml"
    path.write_text(
        '[plugins.mine]\nurl = "x"\n\n[plugins.mine.targets."night desk"]\n  to = 3\n',
        encoding="utf-8",
    )
    seen = []

    class Mine:
        @hookimpl
        def slaengine_configure(self, config):
            seen.append(config)

    make_plugins(entry_points=False, plugins=[("mine", Mine())]).configure(load_config(path))
    (config,) = seen
    with pytest.raises(TypeError):
        config["plugins"] = {}  # read-only, as before
    assert config["plugins"]["mine"]["url"] == "x"
    assert setting_place(config, "plugins", "mine", "url") == f"{path}:2:1"
    targets = ("plugins", "mine", "targets", "night desk")
    assert setting_place(config, *targets) == f"{path}:4:1"  # a quoted table header
    assert placed(config, targets, "to: expected text") == f"{path}:5:3: to: expected text"
    assert placed(config, targets, "from: required") == f"{path}:4:1: from: required"
    assert placed(config, ("plugins", "mine"), "unknown setting 'url'") == (
        f"{path}:2:1: unknown setting 'url'"
    )
    # Settings from no file (a host's own mapping): no place, the problem as it is.
    assert setting_place({"plugins": {}}, "plugins") is None
    assert placed({"plugins": {}}, ("plugins",), "x: bad") == "x: bad"
