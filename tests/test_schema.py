"""The policy JSON Schema agrees with the loader on shape; its committed copy is current."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

import slaengine
from slaengine.errors import PolicyError
from slaengine.policy.schema import policy_schema, schema_json

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "docs" / "policy.schema.json"
SHIPPED = sorted((ROOT / "policies").glob("*.yaml"))


def _plain(value: Any) -> Any:
    """YAML data as JSON would give it: dates become ISO strings, keys strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _data(text: str) -> Any:
    return _plain(YAML(typ="safe").load(text))


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = policy_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator: Draft202012Validator, text: str) -> list[str]:
    return [error.message for error in validator.iter_errors(_data(text))]


def test_committed_schema_file_is_current():
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == policy_schema()
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_json()


def test_every_property_has_a_description():
    missing: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{path}/{name}")
            for key, sub in node.items():
                walk(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for index, sub in enumerate(node):
                walk(sub, f"{path}/{index}")

    walk(policy_schema(), "")
    assert missing == []


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_policy_validates(validator, path):
    assert SHIPPED, "no shipped policies found"
    assert _errors(validator, path.read_text(encoding="utf-8")) == []


POL = "policies:\n  - name: p\n    metrics:\n      first_response: {targets: 1h}\n"

# Documents the loader accepts, in forms that are easy to get wrong in a schema.
ACCEPTED = {
    "minimal": POL,
    "calendars-only": "calendars:\n  c: {timezone: UTC, hours: {mon: 09:00-17:00}}\n",
    "day-forms": """
calendars:
  c:
    timezone: Europe/Berlin
    description: all the day forms
    hours:
      Mon-Thu: ["9:00-12:00", "13:00-17:30"]
      fri: "22:00-06:00"
      sat: closed
      sun: []
    holidays: 2025-12-24
  d:
    timezone: UTC
    hours: {fri-mon: ["00:00-24:00"], tue: , wed: ["08:00 - 08:00"]}
    holidays:
      - "2025-12-25"
      - {date: 2025-12-26, name: Boxing Day}
      - {from: 2025-12-29, to: 2025-12-31}
      - {country: DE, subdivision: BE}
      - {country: us}
policies:
  - {name: p, calendar: c, metrics: {resolution: {targets: 8h, calendar: d}}}
""",
    "calendar-maps": """
calendars:
  berlin: {timezone: Europe/Berlin, hours: {mon-fri: ["09:00-17:00"]}}
calendar_maps:
  by-region:
    description: region to calendar
    by: {field: region}
    map: {emea: berlin, amer: 24x7, 1: berlin}
    default: berlin
    value: current
  by-group: {by: group, map: {tier2: berlin}, default: 24x7}
policies:
  - {name: p, calendar: by-region, metrics: {resolution: {targets: 8h, calendar: by-group}}}
""",
    "goals": """
policies:
  - name: p
    goal: 99.5%
    metrics:
      first_response: {targets: 1h, goal: 100%}
      resolution: {targets: 8h, goal: " 0.01 %"}
      next_response: {targets: 8h}
""",
    "durations": """
policies:
  - name: p
    metrics:
      first_response: {targets: {urgent: 90, high: "90", normal: 1H30M, low: 90 min}}
      next_response: {targets: 45s}
      periodic_update: {targets: 1h 30m 10s}
      resolution: {targets: 0h1m}
""",
    "match-forms": """
statuses: {waiting: pending, done: solved}
policies:
  - name: a
    description: every match key
    bot_replies_count: true
    match:
      channel: Email
      priority: [urgent, high]
      group: 42
      assignee: [jonas]
      customer: anna@example.com
      tags: {any: [vip], all: billing, none: [spam]}
      fields: {plan: [gold, null], seats: 50, beta: true}
      not: {tags: trial, not: {priority: low}}
    metrics:
      resolution: {targets: 8h, pause_when: pending}
  - name: b
    match: {tags: vip}
    metrics:
      resolution: {targets: 8h, pause_when: [new, open, pending, on_hold]}
  - name: c
    match:
    metrics: {first_response: {targets: 1h}}
""",
}


ACCEPTED["definition with starts and counts_from"] = """\
version: 1
metrics:
  own: {start: created, stop: assigned, starts: first_business_minute}
  wait:
    start: customer_message
    stop: agent_reply
    repeat: true
    counts_from: latest_customer_message
policies:
  - name: p
    metrics: {own: {targets: 1h}, wait: {targets: 2h}}
"""


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_schema_accepts_what_the_loader_accepts(validator, text):
    slaengine.loads_policies(text)
    assert _errors(validator, text) == []


def _policy_with(line: str) -> str:
    """The minimal document with ``line`` added to its policy."""
    return POL.replace("    metrics:", f"    {line}\n    metrics:")


def _metric(body: str) -> str:
    """The minimal document with ``body`` as its metric's mapping."""
    return POL.replace("{targets: 1h}", body)


def _calendar(body: str) -> str:
    """The minimal document plus calendar ``c`` with ``body`` as its mapping."""
    return f"calendars:\n  c: {body}\n" + POL


def _hours(day: str) -> str:
    return _calendar(f"{{timezone: UTC, hours: {{mon: {day}}}}}")


ALL_PRIORITIES = "urgent: 1h, high: 1h, normal: 1h, low: 1h"

# Shape mistakes: the loader and the schema both reject them. The code is the loader's.
REJECTED = {
    "unknown top-level key": ("E101", "version: 1\npolicy: []\n" + POL),
    "unknown policy key": ("E101", _policy_with("calendr: 24x7")),
    "unknown metric": ("E101", POL.replace("first_response", "first_reply")),
    "unknown metric key": ("E101", _metric("{targets: 1h, pause: [pending]}")),
    "unknown match key": ("E101", _policy_with("match: {chanel: email}")),
    "unknown tags key": ("E101", _policy_with("match: {tags: {some: [a]}}")),
    "unknown calendar key": ("E101", _calendar("{timezone: UTC, hours: {}, zone: UTC}")),
    "unknown day": ("E101", _calendar("{timezone: UTC, hours: {monday: [09:00-17:00]}}")),
    "unknown holiday key": (
        "E101",
        _calendar("{timezone: UTC, hours: {mon: [09:00-17:00]}, holidays: [{day: 1}]}"),
    ),
    "unknown priority in targets": (
        "E207",
        _metric(f"{{targets: {{{ALL_PRIORITIES}, critical: 1h}}}}"),
    ),
    "missing priority in targets": (
        "E102",
        _metric("{targets: {urgent: 1h, high: 1h, normal: 1h}}"),
    ),
    "missing name": ("E102", POL.replace("  - name: p\n    metrics", "  - metrics")),
    "missing targets": ("E102", _metric("{pause_when: [pending]}")),
    "missing timezone": ("E102", _calendar("{hours: {mon: [09:00-17:00]}}")),
    "goal over 100%": ("E220", _metric("{targets: 1h, goal: 100.5%}")),
    "goal of 0%": ("E220", _metric("{targets: 1h, goal: 0%}")),
    "goal without percent": ("E220", _metric("{targets: 1h, goal: 95}")),
    "policy goal over 100%": ("E220", _policy_with("goal: 101%")),
    "unknown calendar map key": (
        "E101",
        "calendar_maps:\n  m: {by: group, map: {a: 24x7}, default: 24x7, from: x}\n" + POL,
    ),
    "calendar map missing default": (
        "E102",
        "calendar_maps:\n  m: {by: group, map: {a: 24x7}}\n" + POL,
    ),
    "calendar map by unknown": (
        "E219",
        "calendar_maps:\n  m: {by: region, map: {a: 24x7}, default: 24x7}\n" + POL,
    ),
    "calendar map value unknown": (
        "E219",
        "calendar_maps:\n  m: {by: group, map: {a: 24x7}, default: 24x7, value: last}\n" + POL,
    ),
    "empty metrics": ("E102", POL.replace("\n      first_response: {targets: 1h}", " {}")),
    "no policies": ("E102", "version: 1\n"),
    "empty channel list": ("E210", _policy_with("match: {channel: []}")),
    "empty tags none list": ("E210", _policy_with("match: {tags: {all: [a], none: []}}")),
    "empty field list": ("E210", _policy_with("match: {fields: {plan: []}}")),
    "empty not": ("E210", _policy_with("match: {channel: chat, not: {}}")),
    "policies not a list": ("E103", "policies: {name: p}\n"),
    "metrics a list": ("E103", POL.replace("\n      first_response: {targets: 1h}", " [x]")),
    "bot_replies_count text": ("E103", _policy_with("bot_replies_count: 'no'")),
    "match a list": ("E103", _policy_with("match: [email]")),
    "hours a list": ("E103", _calendar("{timezone: UTC, hours: [09:00-17:00]}")),
    "field value a mapping": ("E103", _policy_with("match: {fields: {plan: {a: 1}}}")),
    "duration in days": ("E201", _metric("{targets: 2d}")),
    "duration in weeks": ("E201", _metric("{targets: 1w}")),
    "decimal duration": ("E201", _metric("{targets: 1.5h}")),
    "duration zero": ("E201", _metric("{targets: 0m}")),
    "duration minutes before hours": ("E201", _metric("{targets: 30m1h}")),
    "duration boolean": ("E201", _metric("{targets: true}")),
    "duration in a list": (
        "E201",
        _metric(f"{{targets: {{{ALL_PRIORITIES.replace('low: 1h', 'low: [1h]')}}}}}"),
    ),
    "interval without minutes": ("E202", _hours("[9-17]")),
    "interval hour 25": ("E202", _hours("[09:00-25:00]")),
    "interval minute 60": ("E202", _hours("[09:60-17:00]")),
    "interval starting 24:00": ("E202", _hours("[24:00-06:00]")),
    "interval with a single time": ("E202", _hours("['09:00']")),
    "holiday not a date": (
        "E204",
        _calendar("{timezone: UTC, hours: {mon: [09:00-17:00]}, holidays: [xmas]}"),
    ),
    "unknown priority in match": ("E207", _policy_with("match: {priority: critical}")),
    "stopping status in pause_when": ("E208", _metric("{targets: 1h, pause_when: [solved]}")),
    "unknown status in pause_when": ("E208", _metric("{targets: 1h, pause_when: [waiting]}")),
    "remapped built-in status": ("E208", "statuses: {open: pending}\n" + POL),
    "custom status to unknown": ("E208", "statuses: {waiting: paused}\n" + POL),
    "version 2": ("E209", "version: 2\n" + POL),
    "calendar named 24x7": (
        "E104",
        "calendars:\n  24x7: {timezone: UTC, hours: {mon: [09:00-17:00]}}\n" + POL,
    ),
    "starts of an ownership clock": (
        "E213",
        "version: 1\nmetrics:\n  c: {per: group, starts: first_business_minute}\n"
        "policies:\n  - name: p\n    metrics:\n      c: {targets: 1h}\n",
    ),
    "unknown counts_from of a definition": (
        "E214",
        "version: 1\nmetrics:\n  m: {start: customer_message, counts_from: newest}\n"
        "policies:\n  - name: p\n    metrics:\n      m: {targets: 1h}\n",
    ),
}


@pytest.mark.parametrize(("code", "text"), REJECTED.values(), ids=REJECTED.keys())
def test_schema_rejects_shape_mistakes(validator, code, text):
    with pytest.raises(PolicyError) as raised:
        slaengine.loads_policies(text)
    assert code in {problem.code for problem in raised.value.problems}
    assert _errors(validator, text) != []


def _doc_policies() -> list[tuple[str, str]]:
    fence = re.compile(r"^```ya?ml\n(.*?)^```", re.MULTILINE | re.DOTALL)
    found = []
    for path in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        for index, match in enumerate(fence.finditer(path.read_text(encoding="utf-8"))):
            data = YAML(typ="safe").load(match.group(1))
            if isinstance(data, dict) and "policies" in data:
                found.append((f"{path.name}#{index}", match.group(1)))
    return found


DOC_POLICIES = _doc_policies()


@pytest.mark.parametrize("text", [t for _, t in DOC_POLICIES], ids=[i for i, _ in DOC_POLICIES])
def test_documented_policies_validate(validator, text):
    assert _errors(validator, text) == []


def test_schema_command_prints_the_committed_schema(capsys):
    from slaengine.cli import main

    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == policy_schema()
