"""Policy file text to its normalised layout, without changing what it says.

``format_text`` re-emits a policy document through ruamel.yaml's round-trip
mode: indentation becomes 2 spaces per level with list items indented under their
key, while comments, key order, quoting, flow style (``{targets: 1h}``), blank
lines and long lines stay as written. The result is checked before it is returned:
every comment must still be there, in order, and the data must load exactly as
before; otherwise :class:`FormatError` refuses instead of guessing. Pure functions
on text; reading and writing files is the ``fmt`` command's job.
"""

from __future__ import annotations

import bisect
import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import DocumentEndEvent, DocumentStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.representer import RoundTripRepresenter

from slaengine.errors import PolicyError, Problem, UserError
from slaengine.policy.source import YSeq, parse_yaml

_TAG = "tag:yaml.org,2002:"
# Never re-wrap: a long line stays one line (2**31 - 1 is ruamel's "no limit").
_NO_WRAP = 2**31 - 1
_BOM = "\ufeff"


class FormatError(UserError):
    """The formatter cannot be sure its output means the same; nothing is changed."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: not formatted: {reason}")


@dataclass(frozen=True, slots=True)
class _Verbatim:
    """A plain null or boolean kept as written (``~``, ``null``, ``True``), not respelt."""

    tag: str
    text: str


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that remembers how nulls and booleans were spelt."""

    def construct_verbatim(self, node: ScalarNode) -> Any:
        """Keep a plain null or boolean's text; anything quoted or tagged goes the usual way."""
        if node.style is None and node.tag in (_TAG + "null", _TAG + "bool"):
            return _Verbatim(node.tag, str(node.value))
        if node.tag == _TAG + "null":
            return self.construct_yaml_null(node)
        return self.construct_yaml_bool(node)


_Constructor.add_constructor(_TAG + "null", _Constructor.construct_verbatim)
_Constructor.add_constructor(_TAG + "bool", _Constructor.construct_verbatim)


class _Representer(RoundTripRepresenter):
    """Round-trip representer that writes :class:`_Verbatim` values back as they were."""

    def represent_verbatim(self, data: _Verbatim) -> Any:
        """The scalar exactly as it was written."""
        return self.represent_scalar(data.tag, data.text)


_Representer.add_representer(_Verbatim, _Representer.represent_verbatim)


def _round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Representer = _Representer
    yaml.preserve_quotes = True
    yaml.width = _NO_WRAP
    yaml.allow_unicode = True
    # ``[{country: DE}]`` keeps its braces (ruamel would write ``[country: DE]``).
    yaml.brace_single_entry_mapping_in_flow_sequence = True
    # Mappings 2 spaces; "- " items 2 spaces in from their key (policies/support.yaml).
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _safe_load(text: str) -> Any:
    # The pure loader, so input and output are read by the same YAML 1.2 rules.
    return YAML(typ="safe", pure=True).load(text)


def _nodes(root: Node | None) -> list[Node]:
    """Every node of the graph once (aliases point at nodes already seen)."""
    found: list[Node] = []
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return found


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the comments of a text are, and which lines belong to multi-line scalars."""

    lines: list[str]
    # (line index, column, comment text without trailing whitespace), in text order.
    comments: list[tuple[int, int, str]]
    # Lines after the first line of a multi-line scalar: their text is data, not layout.
    inside_scalars: frozenset[int]


def _layout(text: str) -> _Layout:
    root = YAML(typ="rt").compose(text)
    spans: list[tuple[int, int]] = []
    inside: set[int] = set()
    for node in _nodes(root):
        if isinstance(node, ScalarNode):
            start, end = node.start_mark, node.end_mark
            spans.append((start.index, end.index))
            last = end.line if end.column > 0 else end.line - 1
            inside.update(range(start.line + 1, last + 1))
    spans.sort()
    starts = [start for start, _ in spans]
    lines = text.split("\n")
    comments: list[tuple[int, int, str]] = []
    offset = 0
    for number, line in enumerate(lines):
        if number not in inside:
            for column, char in enumerate(line):
                if char != "#" or (column and line[column - 1] not in " \t"):
                    continue
                at = offset + column
                i = bisect.bisect_right(starts, at) - 1
                if i >= 0 and spans[i][0] <= at < spans[i][1]:
                    continue  # a '#' inside a value, such as "#support"
                comments.append((number, column, line[column:].rstrip()))
                break
        offset += len(line) + 1
    return _Layout(lines, comments, frozenset(inside))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _neighbour_indents(layout: _Layout, number: int) -> tuple[int | None, int | None]:
    """Indentation of the nearest content lines before and after line ``number``."""
    comment_lines = {n for n, column, _ in layout.comments if not layout.lines[n][:column].strip()}

    def content(n: int) -> bool:
        return (
            bool(layout.lines[n].strip())
            and n not in comment_lines
            and n not in layout.inside_scalars
        )

    before = next((n for n in range(number - 1, -1, -1) if content(n)), None)
    after = next((n for n in range(number + 1, len(layout.lines)) if content(n)), None)
    return (
        None if before is None else _indent(layout.lines[before]),
        None if after is None else _indent(layout.lines[after]),
    )


def _place_comments(original: _Layout, formatted: _Layout) -> list[str]:
    """Put each comment of ``formatted`` where it was written in ``original``.

    An end-of-line comment keeps its column (so aligned comments stay aligned), or
    follows its line after one space when the line now reaches that column; ruamel
    sometimes moves these, e.g. after a ``{...}`` item of a nested list. ruamel keeps a
    full-line comment at its old column even when the lines around it move: one that
    was indented like the next line (or else the previous one) gets that line's new
    indentation; any other comment stays where it was.
    """
    lines = list(formatted.lines)
    for (old_line, old_column, _), (new_line, new_column, text) in zip(
        original.comments, formatted.comments, strict=True
    ):
        code = formatted.lines[new_line][:new_column].rstrip()
        if original.lines[old_line][:old_column].strip():
            if code.strip():
                lines[new_line] = code.ljust(max(old_column, len(code) + 1)) + text
            continue
        if code:
            continue  # pragma: no cover - ruamel keeps full-line comments on their own line
        old_before, old_after = _neighbour_indents(original, old_line)
        new_before, new_after = _neighbour_indents(formatted, new_line)
        column = new_column
        if old_column == old_after and new_after is not None:
            column = new_after
        elif old_column == old_before and new_before is not None:
            column = new_before
        lines[new_line] = " " * column + text
    return lines


def _tidy(lines: list[str], keep: frozenset[int]) -> str:
    """Drop trailing whitespace (but not inside block scalars) and extra final newlines."""
    tidy = [line if number in keep else line.rstrip() for number, line in enumerate(lines)]
    while tidy and not tidy[-1] and (len(tidy) - 1) not in keep:
        tidy.pop()
    return "\n".join(tidy) + "\n" if tidy else ""


@dataclass(frozen=True, slots=True)
class _Markers:
    """The document start and end markers as written."""

    # Line of a '---' followed by nothing or a comment: kept verbatim with what precedes it.
    start_line: int | None
    # A '---' with the document on the same line ('--- {a: 1}'): ruamel writes it back.
    start_inline: bool
    end: bool


def _markers(text: str) -> _Markers:
    start_line: int | None = None
    start_inline = explicit_end = False
    for event in YAML(typ="rt").parse(text):
        if isinstance(event, DocumentStartEvent) and getattr(event, "explicit", False):
            mark = event.start_mark
            rest = text.split("\n")[mark.line][mark.column + 3 :].strip()
            if not rest or rest.startswith("#"):
                start_line = mark.line
            else:
                start_inline = True
        elif isinstance(event, DocumentEndEvent) and getattr(event, "explicit", False):
            explicit_end = True
    return _Markers(start_line, start_inline, explicit_end)


def _load_problem(text: str, source: str, exc: Exception) -> Problem:
    """A located problem for YAML that parses but does not load."""
    if isinstance(exc, MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        code = "E104" if "duplicate key" in str(exc.problem) else "E001"
        return Problem(source, mark.line + 1, mark.column + 1, code, f"YAML: {exc.problem}")
    # A value the loader refuses, such as the date 2025-13-01: find which one.
    for node in _nodes(YAML(typ="rt").compose(text)):
        if isinstance(node, ScalarNode) and node.style is None:
            try:
                _safe_load(f"!!{str(node.tag).removeprefix(_TAG)} {node.value}")
            except (YAMLError, ValueError) as error:
                line, column = node.start_mark.line + 1, node.start_mark.column + 1
                code = "E204" if node.tag == _TAG + "timestamp" else "E001"
                return Problem(source, line, column, code, f"bad value {node.value!r}: {error}")
    return Problem(source, 0, 0, "E001", f"YAML: {exc}")  # pragma: no cover - not located


def _keep_anchors(data: Any) -> None:
    """Write every ``&anchor`` back, also those no ``*alias`` uses (ruamel drops them)."""
    seen: set[int] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        anchor = getattr(item, "anchor", None)
        if anchor is not None and getattr(anchor, "value", None) is not None:
            anchor.always_dump = True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _emit(body: str, markers: _Markers, root_is_list: bool) -> str:
    yaml = _round_trip_yaml()
    yaml.explicit_start = markers.start_inline
    yaml.explicit_end = markers.end
    data = yaml.load(body)
    _keep_anchors(data)
    out = io.StringIO()
    yaml.dump(data, out)
    text = out.getvalue()
    if root_is_list:
        # ruamel indents a top-level list by the item offset too; a list at the
        # top starts at column 0 like a top-level mapping.
        text = "\n".join(line.removeprefix("  ") for line in text.split("\n"))
    return text


def _pairs(old: Node, new: Node) -> list[tuple[Node, Node]]:
    """Corresponding nodes of two graphs of the same data, outermost first."""
    found: list[tuple[Node, Node]] = []
    seen: set[int] = set()
    stack = [(old, new)]
    while stack:
        a, b = stack.pop()
        if id(a) in seen or type(a) is not type(b):
            continue
        seen.add(id(a))
        found.append((a, b))
        if isinstance(a, SequenceNode) and len(a.value) == len(b.value):
            stack.extend(zip(a.value, b.value, strict=True))
        elif isinstance(a, MappingNode) and len(a.value) == len(b.value):
            for (ka, va), (kb, vb) in zip(a.value, b.value, strict=True):
                stack.extend(((ka, kb), (va, vb)))
    return found


def _restore_flow_lines(original: str, emitted: str) -> str:
    """Give back the line breaks of ``{...}`` and ``[...]`` written over several lines.

    ruamel writes every flow collection on one line; one that was wrapped by hand
    (perhaps with comments inside) is put back as written, its continuation lines
    shifted by as much as its first line moved.
    """
    old_root = YAML(typ="rt").compose(original)
    new_root = YAML(typ="rt").compose(emitted)
    if old_root is None or new_root is None:
        return emitted
    replacements: list[tuple[int, int, str]] = []
    done_until = -1
    pairs = sorted(_pairs(old_root, new_root), key=lambda pair: pair[0].start_mark.index)
    for old, new in pairs:
        start, end = old.start_mark, old.end_mark
        if (
            not isinstance(old, SequenceNode | MappingNode)
            or not old.flow_style
            or start.line == end.line
            or start.index < done_until
        ):
            continue
        shift = new.start_mark.column - start.column
        lines = original[start.index : end.index].split("\n")
        if shift < 0 and any(line[:-shift].strip() for line in lines[1:]):
            continue  # pragma: no cover - a continuation line left of its opening bracket
        moved = [lines[0]] + [
            " " * shift + line if shift > 0 else line[-shift:] for line in lines[1:]
        ]
        replacements.append((new.start_mark.index, new.end_mark.index, "\n".join(moved)))
        done_until = end.index
    for begin, finish, text in sorted(replacements, reverse=True):
        emitted = emitted[:begin] + text + emitted[finish:]
    return emitted


def format_text(text: str, source: str = "<string>") -> str:
    """The normalised form of the policy document ``text`` (read from ``source``).

    Raises :class:`PolicyError` (code ``E001``, located) when ``text`` is not valid
    YAML, and :class:`FormatError` when the output would lose a comment or load
    differently from ``text``. ``format_text`` of its own output returns it unchanged.
    """
    bom = _BOM if text.startswith(_BOM) else ""
    newline = "\r\n" if "\r\n" in text else "\n"
    work = text.removeprefix(_BOM).replace("\r\n", "\n")
    root, problems = parse_yaml(work, source)
    # E003: aliases that nest or grow without bound; loading them below would not end.
    # E105: a tag the loader below would name only in its own words.
    syntax = [p for p in problems if p.code in ("E001", "E003", "E105")]
    if syntax:
        raise PolicyError(syntax)
    try:
        before = _safe_load(work)
        _round_trip_yaml().load(work)
    except (YAMLError, ValueError) as exc:
        raise PolicyError([_load_problem(work, source, exc)]) from None
    original = _layout(work)
    markers = _markers(work)
    if before is None and not markers.end:
        # Only comments, blank lines and perhaps a '---': nothing to re-emit.
        result = _tidy(work.split("\n"), original.inside_scalars)
    else:
        lines = work.split("\n")
        start = markers.start_line
        head = "" if start is None else "\n".join(lines[: start + 1]) + "\n"
        emitted = head + _emit(work[len(head) :], markers, isinstance(root, YSeq))
        emitted = _restore_flow_lines(work, emitted)
        try:
            formatted = _layout(emitted)
        except YAMLError as exc:  # pragma: no cover - ruamel emitted invalid YAML
            raise FormatError(source, f"the formatted text does not parse ({exc})") from None
        if [c for *_, c in original.comments] != [c for *_, c in formatted.comments]:
            raise FormatError(source, _lost_comment(original, formatted))
        result = _tidy(_place_comments(original, formatted), formatted.inside_scalars)
    try:
        after = _safe_load(result)
    except (YAMLError, ValueError) as exc:  # pragma: no cover - ruamel emitted invalid YAML
        raise FormatError(source, f"the formatted text does not parse ({exc})") from None
    if after != before or type(after) is not type(before):
        raise FormatError(source, "the formatted text would load differently; please report this")
    return bom + result.replace("\n", newline)


def _lost_comment(original: _Layout, formatted: _Layout) -> str:
    kept = [c for *_, c in formatted.comments]
    for line, column, text in original.comments:
        if text in kept:
            kept.remove(text)
        else:
            return (
                f"the comment at line {line + 1}, column {column + 1} ({text!r}) would be lost "
                "(a comment inside {...} or [...] on one line cannot be kept; "
                "move it onto its own line)"
            )
    return "comments would move; please report this"  # pragma: no cover - ruamel reorders


__all__ = ["FormatError", "format_text"]
