"""docs/hooks.md as a plugin author reads it: its examples run, and what they and the hooks
need comes from the public API it lists."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

from slaengine import hookspecs
from slaengine.plugins import ON_HOOKS

ROOT = Path(__file__).resolve().parent.parent
HOOKS_MD = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")


def public_modules() -> tuple[str, ...]:
    """The modules of the table "The public API for plugins" in docs/hooks.md."""
    section = HOOKS_MD.split("### The public API for plugins", 1)[1].split("\n## ", 1)[0]
    return tuple(re.findall(r"^\| `(slaengine[\w.]*)` \|", section, re.MULTILINE))


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", HOOKS_MD, re.MULTILINE | re.DOTALL)


def _block(first_line: str) -> str:
    (found,) = [block for block in _code_blocks("python") if block.startswith(first_line)]
    return found


def test_the_public_table_is_read():
    modules = public_modules()
    assert "slaengine.hookspecs" in modules
    assert len(modules) == len(set(modules)) >= 10


def test_the_examples_import_only_the_public_api():
    imports = [
        (module, name.strip())
        for block in _code_blocks("python")
        for module, names in re.findall(r"^from (slaengine[\w.]*) import (.+)$", block, re.M)
        for name in names.split(",")
    ]
    assert imports, "the examples import nothing from slaengine"
    public = public_modules()
    wrong = [
        f"{module}.{name}"
        for module, name in imports
        if module not in public or name not in importlib.import_module(module).__all__
    ]
    assert wrong == []


def test_every_type_a_hook_passes_or_takes_is_public():
    # The classes hookspecs uses in its signatures and registrars (Importer, Inbox, ...).
    needed = {
        name: value
        for name, value in vars(hookspecs).items()
        if isinstance(value, type)
        and value.__module__.startswith("slaengine.")
        and value.__module__ != hookspecs.__name__
    }
    assert {"Importer", "Inbox", "Notification", "TicketState"} <= set(needed)
    exported: set[int] = set()
    for module in public_modules():
        loaded = importlib.import_module(module)
        exported.update(id(getattr(loaded, name)) for name in loaded.__all__)
    assert sorted(name for name, value in needed.items() if id(value) not in exported) == []


def test_the_testing_example_runs(tmp_path, monkeypatch):
    (tmp_path / "my_plugin.py").write_text(_block("# my_plugin.py"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_plugin", raising=False)
    namespace: dict[str, Any] = {"__name__": "test_my_plugin"}
    exec(compile(_block("# test_my_plugin.py"), "test_my_plugin.py", "exec"), namespace)
    state = tmp_path / "run"
    state.mkdir()
    namespace["test_a_breach_reaches_the_plugin"](state)
    assert sys.modules["my_plugin"].received == ["T-1/first_response/1/breach/0"]


def test_the_prose_counts_the_notification_hooks():
    hooks = set(ON_HOOKS.values())  # the worker's own start and stop are no notification
    assert hooks < {name for name in hookspecs.__all__ if name.startswith("slaengine_on_")}
    words = {4: "four", 5: "five", 6: "six", 7: "seven"}
    assert f"The {words[len(hooks)]} notification hooks" in HOOKS_MD
