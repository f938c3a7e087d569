"""The documentation's examples work, and it names every problem code the code can report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

import slaengine

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"\b[EW]\d{3}\b")


def _blocks(path: Path, languages: tuple[str, ...]) -> list[tuple[str, int, str]]:
    """``(id, line of the opening fence, text)`` of every fenced block in one of ``languages``."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        if match.group(1) in languages:
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.name}:{line}", line, match.group(2)))
    return found


def _policy_documents() -> list[tuple[str, str]]:
    documents = []
    for path in [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]:
        for block_id, _line, text in _blocks(path, ("yaml", "yml")):
            data = YAML(typ="safe").load(text)
            if isinstance(data, dict) and "policies" in data:
                documents.append((block_id, text))
    return documents


def _event_lines() -> list[tuple[str, str]]:
    lines = []
    for _block_id, start, text in _blocks(DOCS / "events.md", ("json", "jsonl")):
        for offset, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                lines.append((f"events.md:{start + offset}", line))
    return lines


POLICY_DOCUMENTS = _policy_documents()
EVENT_LINES = _event_lines()


def test_docs_have_examples():
    assert len(POLICY_DOCUMENTS) >= 5
    assert len(EVENT_LINES) >= 10


@pytest.mark.parametrize(
    "text", [text for _, text in POLICY_DOCUMENTS], ids=[i for i, _ in POLICY_DOCUMENTS]
)
def test_yaml_policy_example_loads(text):
    policies = slaengine.loads_policies(text)
    assert policies.policies


@pytest.mark.parametrize("line", [line for _, line in EVENT_LINES], ids=[i for i, _ in EVENT_LINES])
def test_event_example_parses(line):
    event = slaengine.parse_event(json.loads(line))
    assert event.ticket


def _codes_in_source() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "src" / "slaengine").rglob("*.py"):
        codes.update(re.findall(r"[\"']([EW]\d{3})[\"']", path.read_text(encoding="utf-8")))
    return codes


def test_every_problem_code_is_documented():
    codes = _codes_in_source()
    assert {"E001", "E101", "E400", "W201"} <= codes
    documented = set(_CODE.findall((DOCS / "policies.md").read_text(encoding="utf-8")))
    assert sorted(codes - documented) == []


def test_issue_reference_policy_means_what_it_says():
    """The complete example in policies.md is the issue's reference policy."""
    first = next(text for block_id, text in POLICY_DOCUMENTS if block_id.startswith("policies.md"))
    policies = slaengine.loads_policies(first)
    social, email = policies.policies
    assert social.name == "social-messaging"
    assert social.calendar.name == "24x7"
    assert social.bot_replies_count is False
    assert {m.kind for m in social.metrics} == {"first_response", "next_response", "resolution"}
    resolution = social.metrics[-1]
    assert resolution.targets["normal"] == 24 * 3600
    assert resolution.pause_when == {"pending", "on_hold"}
    assert email.match.is_catch_all
    calendar = policies.calendars["office-berlin"]
    assert email.calendar is calendar
    # 2025-12-23 is a Tuesday: 09:00-17:00 Berlin is 08:00-16:00 UTC.
    tuesday = 1766476800  # 2025-12-23T08:00:00Z
    assert calendar.between(tuesday - 3600, tuesday + 9 * 3600) == 8 * 3600
    # The next day is a holiday, Christmas Eve: closed.
    assert calendar.between(tuesday + 86400, tuesday + 86400 + 8 * 3600) == 0


def _command_lines() -> list[tuple[str, str]]:
    """Every ``slaengine ...`` command line in shell and console blocks of the docs and README."""
    found = []
    for path in [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]:
        for block_id, _line, text in _blocks(path, ("sh", "console", "bash", "shell")):
            for line in text.replace("\\\n", " ").splitlines():
                command = line.removeprefix("$ ").split("#", 1)[0].strip()
                for part in re.split(r"\s*(?:&&|\|\||;)\s*", command):
                    if part.startswith("slaengine "):
                        found.append((block_id, part))
    return found


@pytest.mark.parametrize(("where", "command"), _command_lines(), ids=lambda v: str(v)[:60])
def test_documented_commands_are_valid(where, command):
    """Each documented command line parses: its subcommand and options exist."""
    import shlex

    from slaengine.cli import build_parser

    words = [w for w in shlex.split(command)[1:] if w not in {"<", ">"}]
    if "<" in command or ">" in command:  # drop redirections and their targets
        words = shlex.split(re.split(r"\s[<>]\s", command)[0])[1:]
    try:
        build_parser().parse_args(words)
    except SystemExit as exc:  # argparse exits on unknown options
        pytest.fail(f"{where}: '{command}' does not parse (exit {exc.code})")


def test_docs_name_every_command():
    """Each CLI command appears in the README."""
    from slaengine.cli import command_modules

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = {"importer": "import"}
    for module in command_modules():
        name = names.get(module, module)
        assert f"slaengine {name}" in readme, f"README does not show 'slaengine {name}'"


def test_the_index_links_every_page():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w.-]+\.(?:md|json))\)", index))
    pages = {p.name for p in DOCS.iterdir() if p.suffix in (".md", ".json")} - {"index.md"}
    assert pages - linked == set()
    assert linked - pages == set()  # no link to a page that is not there
