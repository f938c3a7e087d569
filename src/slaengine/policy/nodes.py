"""Shape checks on located YAML nodes, shared by every part of policy validation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from slaengine.errors import EventError
from slaengine.event_parsing import parse_instant
from slaengine.policy.match import Condition
from slaengine.policy.model import Location
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.problems import ProblemCollector


class NotifyTargets(frozenset[str]):
    """The notify targets policies may name, and why a target the settings file configures
    is not among them (its plugin left it out for a wrong setting, or is not installed):
    target name to that reason, which ``E305`` then gives."""

    left_out: Mapping[str, str]

    def __new__(
        cls, names: Iterable[str] = (), left_out: Mapping[str, str] | None = None
    ) -> NotifyTargets:
        known = super().__new__(cls, names)
        known.left_out = dict(left_out or {})
        return known


class FileContext(ProblemCollector):
    """The problems of one policy file, and what its references may name."""

    def __init__(
        self,
        source: str,
        notifiers: frozenset[str] | None = None,
        conditions: Mapping[str, Condition] | None = None,
    ) -> None:
        super().__init__(source)
        self.notifiers = notifiers  # known notify targets; None: not checked
        self.conditions = conditions  # custom match conditions by name

    def location(self, node: YNode) -> Location:
        """Where ``node`` was written."""
        return Location(self.source, node.line, node.column)

    def mapping(self, node: YNode, what: str) -> YMap | None:
        """``node`` when it is a mapping; E103 otherwise."""
        if isinstance(node, YMap):
            return node
        self.report(node, "E103", f"{what} must be a mapping, got {describe(node)}")
        return None

    def keys(self, node: YMap, allowed: Sequence[str], where: str) -> None:
        """E101 for every key of ``node`` not in ``allowed``."""
        self.unknown_keys(node.entries, allowed, where)

    def required(self, node: YMap, name: str, where: str) -> YNode | None:
        """The value of key ``name``; E102 when it is missing."""
        entry = node.entries.get(name)
        if entry is None:
            self.report(node, "E102", f"{where} is missing required key '{name}'")
            return None
        return entry[1]

    def text(self, node: YNode, what: str) -> str | None:
        """A scalar as text; E103 for null, booleans, lists and mappings."""
        if (
            isinstance(node, YScalar)
            and node.value is not None
            and not isinstance(node.value, bool)
        ):
            return node.text if not isinstance(node.value, str) else node.value
        self.report(node, "E103", f"{what} must be text, got {describe(node)}")
        return None

    def text_list(self, node: YNode, what: str) -> list[tuple[str, YScalar]]:
        """A scalar or a list of scalars, each with its node."""
        items = node.items if isinstance(node, YSeq) else [node]
        out: list[tuple[str, YScalar]] = []
        for item in items:
            value = self.text(item, what)
            if value is not None and isinstance(item, YScalar):
                out.append((value, item))
        return out


def describe(node: YNode) -> str:
    """What ``node`` is, for messages: ``a mapping``, ``a list``, ``'text'``."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    assert isinstance(node, YScalar)
    if node.value is None:
        return "nothing (null)"
    return f"'{node.text}'"


def flag(ctx: FileContext, node: YNode, what: str) -> bool | None:
    """A YAML boolean; E103 otherwise."""
    if isinstance(node, YScalar) and isinstance(node.value, bool):
        return node.value
    ctx.report(node, "E103", f"{what} must be true or false, got {describe(node)}")
    return None


def instant(ctx: FileContext, node: YNode, what: str) -> int | None:
    """Epoch seconds of a timestamp with a UTC offset; E204 otherwise."""
    text = node.text if isinstance(node, YScalar) and node.value is not None else ""
    try:
        return parse_instant(text)
    except EventError:
        ctx.report(
            node,
            "E204",
            f"{what} must be a timestamp with a UTC offset like 2026-01-01T00:00:00+01:00, "
            f"got {describe(node)}",
        )
        return None


__all__ = ["FileContext", "describe", "flag", "instant"]
