"""The clock examples of docs/metrics.md give the output the page shows.

Each example there is a ``jsonl`` block of events, then a paragraph "At `--at INSTANT`...:"
followed by a ``json`` block of what ``slaengine evaluate --format json --at INSTANT`` prints,
often shortened to some fields of each clock. The policy is the last policy block before the
example. This test runs every example through the CLI and compares every field the page
shows; a ticket's ``metrics`` must list the same clocks in the same order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from slaengine.cli import main

PAGE = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[^\n]*\n", re.MULTILINE | re.DOTALL)
_AT = re.compile(r"^At `--at (\S+)`[^\n]*:\n\n\Z", re.MULTILINE)


@dataclass(frozen=True)
class Example:
    line: int
    policy: str
    events: str
    at: str
    shown: list[dict[str, Any]]


def _objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a block, one after the other (each may span lines)."""
    decoder = json.JSONDecoder()
    found, index = [], 0
    text = text.strip()
    while index < len(text):
        value, index = decoder.raw_decode(text, index)
        found.append(value)
        while index < len(text) and text[index].isspace():
            index += 1
    return found


def _examples() -> list[Example]:
    text = PAGE.read_text(encoding="utf-8")
    examples: list[Example] = []
    policy = events = ""
    previous_end = 0
    for match in _FENCE.finditer(text):
        language, body = match.group(1), match.group(2)
        between = text[previous_end : match.start()]
        previous_end = match.end()
        line = text.count("\n", 0, match.start()) + 1
        if language == "yaml":
            data = YAML(typ="safe").load(body)
            if isinstance(data, dict) and "policies" in data:
                policy = body
        elif language == "jsonl":
            events = body
        elif language == "json":
            at = _AT.search(between)
            if at is not None:
                examples.append(Example(line, policy, events, at.group(1), _objects(body)))
    return examples


EXAMPLES = _examples()


def test_the_page_has_its_examples():
    assert len(EXAMPLES) >= 14


def _compare(shown: Any, printed: Any, where: str) -> None:
    """Every field ``shown`` has ``printed`` has too, with the same value."""
    if isinstance(shown, dict):
        assert isinstance(printed, dict), where
        for key, value in shown.items():
            assert key in printed, f"{where}: no field {key!r}"
            _compare(value, printed[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(printed, list), where
        assert len(printed) == len(shown), f"{where}: {printed!r} is not like {shown!r}"
        for index, (a, b) in enumerate(zip(shown, printed, strict=True)):
            _compare(a, b, f"{where}[{index}]")
    else:
        assert printed == shown, f"{where}: the engine gives {printed!r}, the page {shown!r}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"metrics.md:{e.line}" for e in EXAMPLES])
def test_example_gives_the_output_shown(example, tmp_path, capsys):
    (tmp_path / "policy.yaml").write_text(example.policy, encoding="utf-8")
    (tmp_path / "events.jsonl").write_text(example.events, encoding="utf-8")
    code = main(
        [
            "evaluate",
            *("-p", str(tmp_path / "policy.yaml"), "-e", str(tmp_path / "events.jsonl")),
            *("--at", example.at, "--format", "json"),
        ]
    )
    assert code in (0, 1)
    printed = {
        ticket["ticket"]: ticket for ticket in map(json.loads, capsys.readouterr().out.splitlines())
    }
    for shown in example.shown:
        name = shown["ticket"]
        assert name in printed, f"no ticket {name!r} in the output"
        _compare(shown, printed[name], name)
