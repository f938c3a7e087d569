"""YAML text to a tree of located values, keeping every key's line and column.

ruamel.yaml composes the node graph (YAML 1.2, so ``yes`` and ``09:00`` stay
strings); we turn it into small typed nodes that remember where they were written,
so every later problem can be reported as ``file:line:col``. Duplicate keys are
reported, not silently resolved; ``<<`` merge keys work as in YAML 1.1.

Hostile files are refused quickly, each with its location: nesting deeper than
:data:`MAX_DEPTH`, an alias that contains itself, aliases that would expand
to more than :data:`MAX_ALIAS_VALUES` values ("billion laughs"), tags other
than YAML's core ones (``!!python/name:...``), and characters YAML does not
allow (NUL, U+FFFE, terminal escapes).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

try:
    from ruamel.yaml.composer import MaxDepthExceededError
except ImportError:  # pragma: no cover - ruamel.yaml before 0.18.11 has no depth limit
    MaxDepthExceededError = RecursionError  # type: ignore[assignment,misc]

from slaengine.errors import Problem
from slaengine.policy.yaml_hints import yaml_hint

_TAG = "tag:yaml.org,2002:"
#: Deepest nesting of mappings and sequences in a policy file (policies need about ten).
MAX_DEPTH = 100
#: Most values that aliases (``*name``) may add to a file by repeating what they refer to.
MAX_ALIAS_VALUES = 100_000
# The tags a policy file may carry; anything else (``!!python/name:os.system``,
# ``!custom``) would otherwise be read as a plain value and lose its meaning.
_KNOWN_TAGS = frozenset(
    _TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
) | {"?", "!"}


class _AliasBomb(Exception):
    """An alias that contains itself or expands too far; raised out of the builder."""

    def __init__(self, node: Node, reason: str = "") -> None:
        super().__init__()
        self.node = node
        self.reason = reason or (
            f"aliases expand to more than {MAX_ALIAS_VALUES:,} values here; "
            "write the repeated parts out, or repeat less"
        )


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
        # Nodes built so far (by id): a node met again is an alias being expanded.
        self._seen: set[int] = set()
        # Nodes on the path from the root to the node being built: an alias to one
        # of them would repeat forever.
        self._open: set[int] = set()
        self._aliases = 0  # how many alias expansions enclose the node being built
        self._expanded = 0  # values built inside alias expansions so far
        self._outer: Node | None = None  # the outermost alias being expanded

    def build(self, node: Node) -> YNode:
        key = id(node)
        if key in self._open:
            raise _AliasBomb(node, "an alias refers to the value that contains it")
        again = key in self._seen
        self._seen.add(key)
        if again and not self._aliases:
            self._outer = node
        self._aliases += again
        if self._aliases:
            self._expanded += 1
            if self._expanded > MAX_ALIAS_VALUES:
                outer = self._outer or node
                name = getattr(outer, "anchor", None)
                raise _AliasBomb(
                    outer,
                    f"aliases{f' (*{name})' if isinstance(name, str) else ''} expand to more "
                    f"than {MAX_ALIAS_VALUES:,} values; write the repeated parts out, "
                    "or repeat less",
                )
        try:
            return self._build(node)
        finally:
            self._aliases -= again

    def _build(self, node: Node) -> YNode:
        if not _known_tag(node):
            self._problem(
                node,
                "E105",
                f"the YAML tag {_written_tag(node)!r} is not allowed: policy files hold "
                "plain values, lists and mappings only; remove the tag",
            )
        if isinstance(node, ScalarNode):
            return _scalar(node)
        line, column = _where(node)
        key = id(node)
        self._open.add(key)
        try:
            if isinstance(node, SequenceNode):
                return YSeq(line, column, [self.build(item) for item in node.value])
            if isinstance(node, MappingNode):
                return self._mapping(node)
        finally:
            self._open.discard(key)
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
            value = self.build(value_node)
            if isinstance(value, YScalar) and value.value is None and not value.text:
                # A key with nothing after it ("stop:"): the parser places the empty value
                # where the next token begins (the next key, or past the end of the file);
                # the mistake is at the key.
                value.line, value.column = key.line, key.column
            result.entries[name] = (key, value)
        for source_map in merged:
            for name, entry in source_map.entries.items():
                result.entries.setdefault(name, entry)
        return result

    def _problem(self, node: Node, code: str, message: str) -> None:
        line, column = _where(node)
        self.problems.append(Problem(self.source, line, column, code, message))


def _written_tag(node: Node) -> str:
    text = str(getattr(node.tag, "value", node.tag))
    return "!!" + text[len(_TAG) :] if text.startswith(_TAG) else text


def _known_tag(node: Node) -> bool:
    tag = node.tag
    text = str(getattr(tag, "value", tag))
    return text in _KNOWN_TAGS or (text == _TAG + "merge" and isinstance(node, ScalarNode))


def parse_yaml(text: str, source: str) -> tuple[YNode | None, list[Problem]]:
    """Parse YAML ``text`` into located nodes; syntax errors become problems."""
    deep = _deep_brackets(text)
    if deep is not None:
        return None, [_too_deep(source, *_line_column(text, deep))]
    yaml = YAML(typ="rt")
    yaml.max_depth = MAX_DEPTH
    try:
        root = yaml.compose(text)
    except ReaderError as exc:
        # A character YAML does not allow; ruamel gives only its offset in the text.
        line, column = _line_column(text, exc.position)
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        return None, [
            Problem(
                source,
                line,
                column,
                "E001",
                f"YAML syntax: the character {what} is not allowed in YAML "
                "(control characters other than tab and line breaks, U+FFFE, U+FFFF)",
            )
        ]
    except MaxDepthExceededError as exc:
        mark = exc.problem_mark
        return None, [_too_deep(source, mark.line + 1, mark.column + 1)]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        column = mark.column + 1 if mark is not None else 0
        what = exc.problem or exc.context or "invalid YAML"
        context_mark = exc.context_mark
        started = (
            "" if context_mark is None
            else f"line {context_mark.line + 1}, column {context_mark.column + 1}"
        )  # fmt: skip
        hint = yaml_hint(exc.problem, exc.context, started)
        if hint is not None:
            what = hint.message
            if hint.at_context and context_mark is not None:
                line, column = context_mark.line + 1, context_mark.column + 1
        elif exc.problem and exc.context and context_mark is not None and context_mark is not mark:
            # Where the construct began helps more than where the parser gave up.
            what += f" ({exc.context} started at {started})"
        return None, [Problem(source, line, column, "E001", f"YAML syntax: {what}")]
    except YAMLError as exc:
        return None, [Problem(source, 0, 0, "E001", f"YAML syntax: {exc}")]
    if root is None:
        return None, [Problem(source, 1, 1, "E102", "the file is empty; expected a policy mapping")]
    builder = _Builder(source)
    try:
        _check_aliases(root)
        built = builder.build(root)
    except _AliasBomb as exc:
        line, column = _where(exc.node)
        return None, [Problem(source, line, column, "E003", exc.reason)]
    if any(problem.code == "E105" for problem in builder.problems):
        # A tagged value has lost its meaning: checking what was read around it
        # would only report the tag's consequences ("must be a mapping, got ''").
        return None, builder.problems
    return built, builder.problems


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_aliases(root: Node) -> None:
    """Raise :class:`_AliasBomb` for an alias inside what it refers to, or aliases that
    expand too far or nest too deep; before anything is built, in time linear in the file.

    Each node's expanded size and depth are computed once (aliases share nodes), in
    an explicit stack (the expansion may be deeper than Python's recursion limit).
    """
    cap = MAX_ALIAS_VALUES + 1
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            children = _children(node)
            sizes[key] = min(cap, 1 + sum(sizes[id(child)] for child in children))
            depths[key] = 1 + max((depths[id(child)] for child in children), default=0)
            if depths[key] > MAX_DEPTH:
                raise _AliasBomb(node, f"aliases nest values more than {MAX_DEPTH} levels deep")
            if sizes[key] >= cap and all(sizes[id(child)] < cap for child in children):
                # The smallest value whose aliases make it too large.
                raise _AliasBomb(
                    node,
                    f"aliases make this value larger than {MAX_ALIAS_VALUES:,} values; "
                    "write the repeated parts out, or repeat less",
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _AliasBomb(node, "an alias refers to the value that contains it")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


_BRACKET = re.compile(r"[\[\]{}]")


def _deep_brackets(text: str) -> int | None:
    """Where flow brackets (``[``, ``{``) first nest deeper than :data:`MAX_DEPTH`, else ``None``.

    ruamel's scanner reads ahead through nested flow collections in quadratic
    time, so such a file is refused before it is parsed. Brackets inside quoted
    text count too: only a file with over a hundred unclosed ones is refused.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for found in _BRACKET.finditer(text):
        if found.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return found.start()
        elif depth:
            depth -= 1
    return None


def _too_deep(source: str, line: int, column: int) -> Problem:
    return Problem(
        source, line, column, "E001", f"YAML syntax: nested more than {MAX_DEPTH} levels deep"
    )


def _line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of the character at ``position`` of ``text``."""
    position = max(0, min(position, len(text)))
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


__all__ = ["MAX_ALIAS_VALUES", "MAX_DEPTH", "YMap", "YNode", "YScalar", "YSeq", "parse_yaml"]
