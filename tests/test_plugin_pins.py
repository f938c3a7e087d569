"""The bundled plugins require the slaengine minor series whose hook contract they implement.

docs/hooks.md: the hooks follow slaengine's version, and before 1.0 a minor release may
change them, so a plugin pins the minor series it was tested with (from 1.0, the major).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import slaengine

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted((ROOT / "plugins").glob("*/pyproject.toml"))


def _project(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))["project"]


def _contract_series(version: Version) -> SpecifierSet:
    """The releases sharing ``version``'s hook contract."""
    if version.major == 0:
        return SpecifierSet(f">=0.{version.minor},<0.{version.minor + 1}")
    return SpecifierSet(f">={version.major}.{version.minor},<{version.major + 1}")


MAIN = Version(_project(ROOT / "pyproject.toml")["version"])


def test_the_main_version_is_the_packages():
    assert Version(slaengine.__version__) == MAIN


def test_every_bundled_plugin_is_checked():
    assert {path.parent.name for path in PLUGINS} >= {
        "slaengine-webhook",
        "slaengine-jsonl",
        "slaengine-email",
        "slaengine-django-helpdesk",
    }


@pytest.mark.parametrize("pyproject", PLUGINS, ids=lambda path: path.parent.name)
def test_a_bundled_plugin_pins_the_contract_series_of_this_release(pyproject):
    pins = [Requirement(d) for d in _project(pyproject)["dependencies"]]
    (pin,) = [r for r in pins if r.name == "slaengine"]
    assert pin.specifier == _contract_series(MAIN), f"{pyproject}: {pin}"
    assert MAIN in pin.specifier  # the plugin installs beside this very slaengine
    # The next contract, which may change a hook, is refused.
    following = Version(f"0.{MAIN.minor + 1}") if MAIN.major == 0 else Version(f"{MAIN.major + 1}")
    assert following not in pin.specifier


def test_the_pin_docs_hooks_md_shows_is_this_releases_series():
    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    section = text.split("## Versioning of the contract", 1)[1].split("\n## ", 1)[0]
    (shown,) = re.findall(r'dependencies = \["(slaengine[^"]*)"\]', section)
    assert Requirement(shown).specifier == _contract_series(MAIN)
