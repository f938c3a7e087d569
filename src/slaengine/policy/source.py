"""YAML text to a tree of located values, keeping every key's line and column.

ruamel.yaml composes the node graph (YAML 1.2, so ``yes`` and ``09:00`` stay
strings); we turn it into small typed nodes that remember where they were written,
so every later problem can be reported as ``file:line:col``. Duplicate keys are
reported, not silently resolved; ``<<`` merge keys work as in YAML 1.1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from slaengine.errors import Problem

_TAG = "tag:yaml.org,2002:"


@dataclass(slots=True)
class YNode:
    """A located YAML value; ``line`` and ``column`` are 1-based."""

    line: int
    column: int


@dataclass(slots=True)
class YScalar(YNode):
    """A scalar with its typed ``value`` and the ``text`` as written."""

    value: Any = None
    text: str = ""


@dataclass(slots=True)
class YSeq(YNode):
    """A sequence of located values."""

    items: list[YNode] = field(default_factory=list)


@dataclass(slots=True)
class YMap(YNode):
    """A mapping with string-like keys, in written order."""

    entries: dict[str, tuple[YScalar, YNode]] = field(default_factory=dict)


def _where(node: Node) -> tuple[int, int]:
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def _scalar(node: ScalarNode) -> YScalar:
    line, column = _where(node)
    text = str(node.value)
    tag = node.tag
    value: Any = text
    if tag == _TAG + "int":
        try:
            value = int(text.replace("_", ""), 0)
        except ValueError:
            value = text
    elif tag == _TAG + "float":
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            value = text
    elif tag == _TAG + "bool":
        value = text.lower() == "true"
    elif tag == _TAG + "null":
        value = None
    elif tag == _TAG + "timestamp":
        try:
            value = dt.date.fromisoformat(text) if len(text) == 10 else text
        except ValueError:
            value = text
    return YScalar(line, column, value, text)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def build(self, node: Node) -> YNode:
        if isinstance(node, ScalarNode):
            return _scalar(node)
        line, column = _where(node)
        if isinstance(node, SequenceNode):
            return YSeq(line, column, [self.build(item) for item in node.value])
        if isinstance(node, MappingNode):
            return self._mapping(node)
        return YScalar(line, column, None, "")  # pragma: no cover - composer yields only these

    def _mapping(self, node: MappingNode) -> YMap:
        line, column = _where(node)
        result = YMap(line, column)
        merged: list[YMap] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    built = self.build(source)
                    if isinstance(built, YMap):
                        merged.append(built)
                    else:
                        self._problem(
                            key_node, "E103", "a '<<' merge key needs a mapping or a list of them"
                        )
                continue
            key = self.build(key_node)
            if not isinstance(key, YScalar) or isinstance(key.value, list | dict):
                self._problem(
                    key_node, "E103", "a key must be a plain value, not a list or mapping"
                )
                continue
            name = key.text if not isinstance(key.value, str) else key.value
            if name in result.entries:
                first = result.entries[name][0]
                self._problem(
                    key_node,
                    "E104",
                    f"duplicate key '{name}' (first given at line {first.line}); keep one",
                )
                continue
            result.entries[name] = (key, self.build(value_node))
        for source_map in merged:
            for name, entry in source_map.entries.items():
                result.entries.setdefault(name, entry)
        return result

    def _problem(self, node: Node, code: str, message: str) -> None:
        line, column = _where(node)
        self.problems.append(Problem(self.source, line, column, code, message))


def parse_yaml(text: str, source: str) -> tuple[YNode | None, list[Problem]]:
    """Parse YAML ``text`` into located nodes; syntax errors become problems."""
    yaml = YAML(typ="rt")
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        column = mark.column + 1 if mark is not None else 0
        what = exc.problem or exc.context or "invalid YAML"
        context_mark = exc.context_mark
        if exc.problem and exc.context and context_mark is not None and context_mark is not mark:
            # Where the construct began helps more than where the parser gave up.
            what += (
                f" ({exc.context} started at line {context_mark.line + 1}, "
                f"column {context_mark.column + 1})"
            )
        return None, [Problem(source, line, column, "E001", f"YAML syntax: {what}")]
    except YAMLError as exc:
        return None, [Problem(source, 0, 0, "E001", f"YAML syntax: {exc}")]
    if root is None:
        return None, [Problem(source, 1, 1, "E102", "the file is empty; expected a policy mapping")]
    builder = _Builder(source)
    return builder.build(root), builder.problems


__all__ = ["YMap", "YNode", "YScalar", "YSeq", "parse_yaml"]
