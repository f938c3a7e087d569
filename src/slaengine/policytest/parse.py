"""Read one policy-test YAML file into located cases, collecting every problem in it.

Problems are reported like ``slaengine check``: ``file:line:col: CODE message``,
with the same codes (E1xx shape, E2xx values, E301 references, E4xx events).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from slaengine.calendar import format_utc
from slaengine.clocks import STATES
from slaengine.durations import parse_duration
from slaengine.errors import EventError, Problem
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.metric_names import definition_name, ordered_metrics
from slaengine.policy.load import read_policy_text
from slaengine.policy.model import METRIC_KINDS, PolicySet
from slaengine.policy.source import YMap, YNode, YScalar, YSeq, parse_yaml
from slaengine.policytest.model import (
    DURATION_FIELDS,
    INSTANT_FIELDS,
    Case,
    Check,
    Expectation,
)
from slaengine.problems import ProblemCollector, did_you_mean
from slaengine.timeline import PRIORITIES, Event, build_timelines
from slaengine.vocabulary import StopReason

CASE_KEYS: Final = ("name", "description", "timeline", "at", "policy", "expect", "absent")
EXPECT_KEYS: Final = (
    "metric",
    "agreement",
    "instance",
    "state",
    "start",
    "due",
    "stop",
    "stop_reason",
    "elapsed",
    "remaining",
    "target",
    "paused",
    "priority",
    "group",
    "misses",
)
_COMMON_EVENT_KEYS: Final = ("ticket", "at", "type", "id")
_ATTRIBUTE_KEYS: Final = ("channel", "priority", "customer", "group", "assignee", "tags", "fields")
EVENT_KEYS: Final = {
    "created": (*_COMMON_EVENT_KEYS, *_ATTRIBUTE_KEYS, "status", "author"),
    "message": (*_COMMON_EVENT_KEYS, "author", "public", "agent"),
    "status": (*_COMMON_EVENT_KEYS, "status"),
    "update": (*_COMMON_EVENT_KEYS, *_ATTRIBUTE_KEYS),
    "csat": (*_COMMON_EVENT_KEYS, "score"),
}
#: Every stop reason the engine gives (a user-defined metric's cancel trigger included).
STOP_REASONS: Final = tuple(StopReason)
_ZERO: Final = re.compile(r"^0+\s*(h|m|min|s)?$")
_FIRST_QUOTED: Final = re.compile(r"^(?:missing )?'(\w+)'")


def _text_of(node: YNode) -> str:
    if isinstance(node, YScalar):
        return node.text if not isinstance(node.value, str) else node.value
    return "a list" if isinstance(node, YSeq) else "a mapping"


def _plain(node: YNode) -> Any:
    """A located node as plain data, the way an event reads in JSON."""
    if isinstance(node, YMap):
        return {name: _plain(value) for name, (_, value) in node.entries.items()}
    if isinstance(node, YSeq):
        return [_plain(item) for item in node.items]
    assert isinstance(node, YScalar)
    if isinstance(node.value, dt.date):
        return node.text
    return node.value


def parse_signed_duration(text: str, *, signed: bool = False) -> int:
    """Seconds of a duration as in policies (``1h30m``, ``90``), also ``0``; ``-`` if ``signed``.

    Raises ``ValueError`` saying what was expected.
    """
    body = text.strip()
    sign = 1
    if signed and body.startswith("-"):
        sign, body = -1, body[1:].strip()
    if _ZERO.match(body.lower()):
        return 0
    return sign * parse_duration(body)


class _FileParser(ProblemCollector):
    """Collects the cases and the problems of one test file."""

    def __init__(self, source: str, policies: PolicySet) -> None:
        super().__init__(source)
        self.policies = policies
        # The built-in metrics, then those the policies define (user-defined) by name.
        self.metric_names = ordered_metrics(
            [
                *METRIC_KINDS,
                *(definition_name(m) for p in policies.policies for m in p.metrics),
            ]
        )
        # Each agreement's own metrics: its clocks are expected as agreement/metric.
        self.agreement_metrics = {
            a.name: ordered_metrics(definition_name(m) for m in a.policy.metrics)
            for a in policies.agreements
        }
        # The current case's first event has a timestamp that is wrong (already
        # reported): its offsets are not reported again as having nothing to count from.
        self.anchor_broken = False

    def problem(self, node: YNode, code: str, message: str) -> None:
        self.report(node, code, message)

    def check_keys(self, node: YMap, allowed: Sequence[str], what: str) -> int:
        """Report every unknown key of ``node``; return how many there were."""
        return self.unknown_keys(node.entries, allowed, what)

    # -- values ----------------------------------------------------------------

    def instant(
        self, node: YNode, anchor: int | None, what: str, event: bool = False
    ) -> int | None:
        """Epoch seconds of an ISO timestamp with offset, or of ``+1h30m`` after ``anchor``."""
        text = _text_of(node).strip()
        if not isinstance(node, YScalar) or node.value is None:
            self.problem(
                node,
                "E103",
                f"{what} must be a timestamp like 2025-12-01T09:00:00+01:00 or an offset like "
                f"+1h30m, got {text or 'nothing'}",
            )
            return None
        if text.startswith("+"):
            if anchor is None and self.anchor_broken:
                try:
                    parse_signed_duration(text[1:])
                except ValueError as exc:
                    self.problem(node, "E201", f"bad offset in {what}: {exc}")
                return None
            if anchor is None:
                self.problem(
                    node,
                    "E201",
                    f"{what} is an offset ('{text}') but the first event has no timestamp to "
                    "count from; give the first event a timestamp like 2025-12-01T09:00:00+01:00",
                )
                return None
            try:
                return anchor + parse_signed_duration(text[1:])
            except ValueError as exc:
                self.problem(node, "E201", f"bad offset in {what}: {exc}")
                return None
        try:
            return parse_instant(text)
        except EventError as exc:
            hint = "" if event else "; or write an offset from the first event like +1h30m"
            self.problem(node, "E400" if event else "E204", f"bad {what}: {exc.reason}{hint}")
            return None

    def duration(self, node: YNode, what: str, signed: bool) -> int | None:
        if not isinstance(node, YScalar) or node.value is None or isinstance(node.value, bool):
            self.problem(
                node, "E103", f"{what} must be a duration like 1h30m, got {_text_of(node)}"
            )
            return None
        try:
            return parse_signed_duration(node.text, signed=signed)
        except ValueError as exc:
            self.problem(node, "E201", f"bad {what}: {exc}")
            return None

    def choice(self, node: YNode, choices: Sequence[str], what: str) -> str | None:
        value = node.value if isinstance(node, YScalar) else None
        if not isinstance(value, str) or value not in choices:
            written = _text_of(node)
            self.problem(
                node,
                "E103",
                f"{what} must be one of {', '.join(choices)}, got '{written}'"
                + did_you_mean(written, choices),
            )
            return None
        return value

    def metric_name(self, node: YNode, what: str, agreement: YNode | None = None) -> str | None:
        """The metric ``node`` names: a policy's (``first_response``) or an agreement's,
        ``tier2-ola/first_response`` or with an ``agreement`` node, returned qualified as
        the engine names an agreement's clocks."""
        value = node.value if isinstance(node, YScalar) else None
        owner: str | None = None
        if agreement is not None:
            owner = self.agreement_name(agreement)
            if owner is None:
                return None
        elif isinstance(value, str) and "/" in value:
            owner, _, value = value.rpartition("/")
            if self.agreement_name(node, owner) is None:
                return None
        known = self.metric_names if owner is None else self.agreement_metrics[owner]
        if not isinstance(value, str) or value not in known:
            written = _text_of(node).rpartition("/")[2] if agreement is None else _text_of(node)
            where = f"in {what}" if owner is None else f"of agreement '{owner}' in {what}"
            self.problem(
                node,
                "E101",
                f"unknown metric '{written}' {where}; expected one of {', '.join(known)}"
                + did_you_mean(written, known),
            )
            return None
        return value if owner is None else f"{owner}/{value}"

    def agreement_name(self, node: YNode, written: str | None = None) -> str | None:
        """The agreement ``node`` names (``written``: the part of its text that names it),
        or ``None`` after reporting an unknown one (E301, with a did-you-mean)."""
        text = _text_of(node) if written is None else written
        known = list(self.agreement_metrics)
        if text in self.agreement_metrics:
            return text
        choices = f"expected one of {', '.join(known)}" if known else "no agreement is loaded"
        self.problem(
            node, "E301", f"unknown agreement '{text}'; {choices}" + did_you_mean(text, known)
        )
        return None

    # -- structure -------------------------------------------------------------

    def file(self, root: YNode) -> list[Case]:
        if not isinstance(root, YSeq):
            self.problem(
                root,
                "E103",
                "a test file is a list of test cases, each starting with '- name: ...'",
            )
            return []
        if not root.items:
            self.problem(root, "E102", "the file holds no test case; add one ('- name: ...')")
        cases: list[Case] = []
        names: dict[str, int] = {}
        for item in root.items:
            case = self.case(item, names)
            if case is not None:
                cases.append(case)
        return cases

    def case(self, node: YNode, names: dict[str, int]) -> Case | None:
        if not isinstance(node, YMap):
            self.problem(
                node, "E103", f"a test case must be a mapping with 'name', got {_text_of(node)}"
            )
            return None
        entries = node.entries
        name_entry = entries.get("name")
        name = ""
        if name_entry is None:
            self.problem(node, "E102", "a test case needs a 'name'")
        else:
            value = name_entry[1]
            if isinstance(value, YScalar) and value.value is not None and value.text.strip():
                name = _text_of(value).strip()
            else:
                self.problem(value, "E103", "'name' must be some text")
        what = f"test '{name}'" if name else "a test case"
        if name:
            if name in names:
                self.problem(
                    name_entry[1] if name_entry else node,
                    "E104",
                    f"test name '{name}' is already used at line {names[name]}; give each test "
                    "its own name",
                )
            else:
                names[name] = node.line
        unknown = self.check_keys(node, CASE_KEYS, what)
        before = len(self.problems)

        timeline_entry = entries.get("timeline")
        events: list[Event] = []
        anchor: int | None = None
        anchor_offset = 0
        if timeline_entry is None:
            self.problem(node, "E102", f"{what} needs a 'timeline': a list of events")
        else:
            events, anchor, anchor_offset = self.timeline(timeline_entry[1], what, name)

        at: int | None = None
        at_entry = entries.get("at")
        if at_entry is None:
            self.problem(node, "E102", f"{what} needs 'at', the instant to evaluate (e.g. at: +2h)")
        else:
            at = self.instant(at_entry[1], anchor, f"'at' of {what}")

        check_policy = "policy" in entries
        policy: str | None = None
        policy_line = 0
        if check_policy:
            policy_node = entries["policy"][1]
            policy_line = policy_node.line
            policy = self.policy_name(policy_node)

        expectations: list[Expectation] = []
        expect_entry = entries.get("expect")
        if expect_entry is not None:
            expectations = self.expectations(expect_entry[1], anchor, what)
        absent: list[tuple[str, int]] = []
        absent_entry = entries.get("absent")
        if absent_entry is not None:
            absent = self.absent(absent_entry[1], what)
        if not (check_policy or expect_entry or absent_entry or unknown):
            self.problem(
                node, "E102", f"{what} checks nothing; give 'expect', 'absent' or 'policy'"
            )

        timeline = None
        if events:
            built = build_timelines(events, self.source)
            self.problems.extend(built.problems)
            timeline = next(iter(built.timelines.values()), None)
            if timeline is not None and at is not None and at < timeline.events[0].at:
                self.problem(
                    at_entry[1] if at_entry else node,
                    "E204",
                    f"'at' of {what} is before the ticket is created "
                    f"({format_utc(timeline.events[0].at)}); nothing to evaluate",
                )
        if len(self.problems) > before or timeline is None or at is None or anchor is None:
            return None
        return Case(
            source=self.source,
            name=name,
            line=node.line,
            timeline=timeline,
            at=at,
            anchor=anchor,
            anchor_offset=anchor_offset,
            check_policy=check_policy,
            policy=policy,
            policy_line=policy_line,
            expectations=tuple(expectations),
            absent=tuple(absent),
        )

    def policy_name(self, node: YNode) -> str | None:
        if isinstance(node, YScalar) and node.value is None:
            return None
        names = [p.name for p in self.policies.policies]
        written = _text_of(node)
        if not isinstance(node, YScalar) or written not in names:
            self.problem(
                node,
                "E301",
                f"unknown policy '{written}'; expected one of {', '.join(names)}, or null for "
                "no policy" + did_you_mean(written, names),
            )
        return written

    def timeline(self, node: YNode, what: str, name: str) -> tuple[list[Event], int | None, int]:
        if not isinstance(node, YSeq) or not node.items:
            self.problem(
                node,
                "E102",
                f"'timeline' of {what} must be a list of events, at least the 'created' one",
            )
            return [], None, 0
        anchor: int | None = None
        anchor_offset = 0
        self.anchor_broken = False
        ticket = self.ticket_id(node) or name or "ticket"
        events: list[Event] = []
        for seq, item in enumerate(node.items, start=1):
            if not isinstance(item, YMap):
                self.problem(item, "E400", f"an event must be a mapping, got {_text_of(item)}")
                continue
            data = _plain(item)
            kind = data.get("type")
            if isinstance(kind, str) and kind in EVENT_KEYS:
                self.check_keys(item, EVENT_KEYS[kind], f"a '{kind}' event")
            at_entry = item.entries.get("at")
            if at_entry is None:
                self.problem(item, "E400", "missing 'at'")
                continue
            at = self.instant(at_entry[1], anchor, "'at'", event=True)
            if seq == 1:
                if _text_of(at_entry[1]).strip().startswith("+"):
                    # Already reported: an offset needs a timestamp to count from.
                    continue
                anchor = at
                anchor_offset = _utc_offset(_text_of(at_entry[1]))
                self.anchor_broken = at is None
            # An event whose time is wrong (reported) is still checked for its other mistakes.
            data["at"] = format_utc(0 if at is None else at)
            data["ticket"] = ticket
            try:
                event = parse_event(
                    data, seq=seq, line=item.line, status_map=self.policies.status_map
                )
            except EventError as exc:
                self.problem(self._event_node(item, exc.reason), "E400", exc.reason)
                continue
            if at is not None:
                events.append(event)
        return events, anchor, anchor_offset

    def ticket_id(self, node: YSeq) -> str | None:
        """The ticket the events name, if any; a case is about one ticket."""
        ticket: str | None = None
        for item in node.items:
            given = item.entries.get("ticket") if isinstance(item, YMap) else None
            if given is None:
                continue
            written = _text_of(given[1])
            if ticket is None:
                ticket = written
            elif written != ticket:
                self.problem(
                    given[1],
                    "E400",
                    f"a test case is about one ticket: 'ticket' is '{written}' here but "
                    f"'{ticket}' before (you can leave 'ticket' out)",
                )
        return ticket

    @staticmethod
    def _event_node(item: YMap, reason: str) -> YNode:
        """The value a reason like "'type' must be one of ..." is about, else the event."""
        found = _FIRST_QUOTED.match(reason)
        if found and found.group(1) in item.entries and not reason.startswith("missing"):
            return item.entries[found.group(1)][1]
        return item

    def expectations(self, node: YNode, anchor: int | None, what: str) -> list[Expectation]:
        if not isinstance(node, YSeq):
            self.problem(
                node,
                "E103",
                f"'expect' of {what} must be a list, each item like "
                "'- {metric: first_response, state: achieved}'",
            )
            return []
        found: list[Expectation] = []
        seen: dict[tuple[str, int], int] = {}
        for item in node.items:
            if not isinstance(item, YMap):
                self.problem(
                    item,
                    "E103",
                    f"an expectation must be a mapping with 'metric', got {_text_of(item)}",
                )
                continue
            self.check_keys(item, EXPECT_KEYS, f"an expectation of {what}")
            metric_entry = item.entries.get("metric")
            if metric_entry is None:
                self.problem(item, "E102", "an expectation needs 'metric'")
                continue
            agreement = item.entries.get("agreement")
            metric = self.metric_name(
                metric_entry[1], what, agreement[1] if agreement is not None else None
            )
            instance = 1
            instance_entry = item.entries.get("instance")
            if instance_entry is not None:
                value = instance_entry[1]
                number = value.value if isinstance(value, YScalar) else None
                if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                    self.problem(
                        value, "E103", f"'instance' must be 1, 2, ..., got {_text_of(value)}"
                    )
                else:
                    instance = number
            checks = self.checks(item, anchor)
            if metric is None:
                continue
            key = (metric, instance)
            if key in seen:
                self.problem(
                    item,
                    "E104",
                    f"{metric} #{instance} is already expected at line {seen[key]}; merge the two",
                )
                continue
            seen[key] = item.line
            found.append(Expectation(metric, instance, tuple(checks), item.line))
        return found

    def checks(self, item: YMap, anchor: int | None) -> list[Check]:
        checks: list[Check] = []
        for name, (_, value) in item.entries.items():
            written = _text_of(value)
            parsed: int | str | None
            if name in INSTANT_FIELDS:
                if isinstance(value, YScalar) and value.value is None and name != "start":
                    parsed = None
                    written = "null"
                else:
                    parsed = self.instant(value, anchor, f"'{name}'")
                    if parsed is None:
                        continue
            elif name in DURATION_FIELDS:
                parsed = self.duration(value, f"'{name}'", signed=name == "remaining")
                if parsed is None:
                    continue
            elif name == "state":
                parsed = self.choice(value, STATES, "'state'")
            elif name == "stop_reason":
                if isinstance(value, YScalar) and value.value is None:
                    parsed, written = None, "null"
                else:
                    parsed = self.choice(value, STOP_REASONS, "'stop_reason'")
                    if parsed is None:
                        continue
            elif name == "priority":
                parsed = self.choice(value, PRIORITIES, "'priority'")
            elif name == "group":
                # The group an ownership clock's instance counts for; null: none.
                text = value.value if isinstance(value, YScalar) else ""
                if text is None:
                    parsed, written = None, "null"
                elif isinstance(text, str) and text:
                    parsed = text
                else:
                    self.problem(value, "E103", f"'group' must be a group name, got {written}")
                    continue
            elif name == "misses":
                count = value.value if isinstance(value, YScalar) else None
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    self.problem(value, "E103", f"'misses' must be 0 or more, got {written}")
                    continue
                parsed = count
            else:
                continue
            if name in ("state", "priority") and parsed is None:
                continue
            checks.append(Check(name, parsed, written, value.line))
        return checks

    def absent(self, node: YNode, what: str) -> list[tuple[str, int]]:
        items = node.items if isinstance(node, YSeq) else [node]
        found: list[tuple[str, int]] = []
        for item in items:
            metric = self.metric_name(item, f"'absent' of {what}")
            if metric is not None:
                found.append((metric, item.line))
        return found


def _utc_offset(text: str) -> int:
    """The UTC offset (seconds) a timestamp was written in, to show times the same way."""
    try:
        offset = dt.datetime.fromisoformat(text.strip()).utcoffset()
    except ValueError:
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


def parse_test_text(
    text: str, source: str, policies: PolicySet
) -> tuple[list[Case], list[Problem]]:
    """Cases of one test file's text, and every problem found (no cases if any)."""
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        return [], [
            Problem(source, 1, 1, "E102", "the file is empty; expected a list of test cases")
        ]
    root, problems = parse_yaml(text, source)
    if root is None:
        return [], problems
    parser = _FileParser(source, policies)
    parser.problems.extend(problems)
    cases = parser.file(root)
    if parser.problems:
        return [], sorted(parser.problems, key=lambda p: (p.line, p.column))
    return cases, []


def parse_test_file(path: Path, policies: PolicySet) -> tuple[list[Case], list[Problem]]:
    """Cases of one test file, and every problem found; unreadable files are problems."""
    text, problem = read_policy_text(path)  # as a policy file: located bad bytes, a size limit
    if text is None:
        return [], [problem] if problem is not None else []
    return parse_test_text(text, str(path), policies)


__all__ = [
    "CASE_KEYS",
    "EVENT_KEYS",
    "EXPECT_KEYS",
    "parse_signed_duration",
    "parse_test_file",
    "parse_test_text",
]
