"""Decode one JSON line: its value, or a :class:`LineError` saying why the line is unusable.

The slow, exact half of reading JSON Lines (the standard library's decoder, every
way one line can be bad told apart); :mod:`slaengine.inputs.jsonl` tries the usual
line fast first and comes here for the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

from slaengine.inputs.tables import ROW_PROBLEM


class LineError(ValueError):
    """A line that does not decode to a usable JSON value; ``column`` 0 when unknown."""

    def __init__(self, reason: str, column: int = 0, code: str = "E401") -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column
        self.code = code


#: What :func:`decode_line` gives for a blank line.
BLANK: Final = object()
#: Deepest nesting of lists and objects an event line may have: events are shallow,
#: and deeper values could not be written back out (orjson stops at 254 levels).
MAX_DEPTH: Final = 64
# A character that is not text: a byte that was not UTF-8 (read with "surrogateescape",
# it becomes a lone surrogate), or a lone surrogate written as a \u escape.
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")  # the escapes, read by re
_ESCAPED_SURROGATE: Final = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONG_NUMBER: Final = re.compile(r"-?[0-9]{1000,}")
_CONSTANT: Final = re.compile(r"(?<![\w\"])(-?Infinity|NaN)(?![\w\"])")


def _refuse_constant(name: str) -> Any:
    raise LineError(f"{name} is not a JSON number; give a finite number or leave the key out")


_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)


def decode_line(line: str) -> Any:
    """The JSON value on one line (its line break stripped); :data:`BLANK` for a blank line.

    Raises :class:`LineError`, never anything else, for what one line must not do to
    a run: bad JSON, ``NaN`` or ``Infinity``, a number too long to convert, nesting
    deeper than :data:`MAX_DEPTH`, bytes that are not UTF-8 (streams are read with
    ``errors="surrogateescape"``) and lone surrogate escapes such as ``"\\ud800"``.
    """
    if line.startswith(ROW_PROBLEM):
        column, _, reason = line[len(ROW_PROBLEM) :].partition("\t")
        raise LineError(reason.rstrip("\r\n"), int(column) if column.isdigit() else 0)
    bad = _SURROGATE.search(line) if not line.isascii() else None
    if bad is not None:
        raise LineError(f"not UTF-8 text: {_byte_of(bad.group())} cannot be read", bad.start() + 1)
    obj = _decode_object(line)
    if obj is None:
        if not line.strip():
            return BLANK
        text = line.rstrip("\r\n")
        try:
            obj = _DECODER.decode(text)
        except json.JSONDecodeError as exc:
            raise LineError(f"not valid JSON: {exc.msg}", exc.colno) from None
        except LineError as exc:
            found = _CONSTANT.search(text)
            exc.column = found.start() + 1 if found is not None else 0
            raise
        except RecursionError:
            raise LineError(f"nested more than {MAX_DEPTH} levels deep") from None
        except ValueError:  # an integer longer than int's conversion limit (4,300 digits)
            found = _LONG_NUMBER.search(text)
            raise LineError(
                "a number has too many digits to be read",
                found.start() + 1 if found is not None else 0,
            ) from None
    # Only lines that could hold what is checked below are walked.
    deep = line.count("[") + line.count("{") > MAX_DEPTH
    if (deep or "\\u" in line) and not _plain_value(obj, MAX_DEPTH):
        if deep and _depth(obj) > MAX_DEPTH:
            raise LineError(f"nested more than {MAX_DEPTH} levels deep")
        found = _ESCAPED_SURROGATE.search(line)
        raise LineError(
            "a lone surrogate escape is not text (a \\uD800-\\uDFFF escape must be a pair)",
            found.start() + 1 if found is not None else 0,
        )
    return obj


def _byte_of(char: str) -> str:
    # The byte a "surrogateescape" character stands for (or the surrogate itself).
    code = ord(char)
    return (
        f"byte 0x{code - 0xDC00:02X}"
        if 0xDC80 <= code <= 0xDCFF
        else f"lone surrogate U+{code:04X}"
    )


def _plain_value(value: Any, depth: int) -> bool:
    """True when ``value`` nests at most ``depth`` levels and all its text is Unicode."""
    if type(value) is str:
        return _SURROGATE.search(value) is None
    if type(value) is list:
        return depth > 0 and all(_plain_value(item, depth - 1) for item in value)
    if type(value) is dict:
        return depth > 0 and all(
            _SURROGATE.search(key) is None and _plain_value(item, depth - 1)
            for key, item in value.items()
        )
    return True


def _depth(value: Any) -> int:
    # How many lists and objects are nested in ``value``, iteratively (no recursion limit).
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        if type(item) is list:
            todo.extend((child, level + 1) for child in item)
        elif type(item) is dict:
            todo.extend((child, level + 1) for child in item.values())
        else:
            continue
        deepest = max(deepest, level + 1)
    return deepest


# The decoder's C scanner (set in JSONDecoder.__init__; typeshed does not declare it).
_scan_once: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _decode_object(line: str) -> Any:
    """The JSON object on a line that is exactly one object (and its newline), else ``None``.

    ``json.loads`` spends about a third of its time in Python-level checks
    around the C scanner; for the usual line (``{...}`` and its newline) the scanner
    alone gives the same object. Anything else (``None``) goes through
    ``json.loads``, which decodes it or reports the error exactly.
    """
    if not line.startswith("{"):
        return None
    try:
        obj, end = _scan_once(line, 0)
    except (StopIteration, ValueError, RecursionError):
        return None
    rest = len(line) - end
    if rest == 0 or (rest == 1 and line[end] == "\n"):
        return obj
    return None


#: The fastest decoder of one JSON object installed: orjson (an optional extra,
#: ``slaengine[fast]``), else the standard library's C scanner. Either may read
#: numbers differently from :func:`decode_line`; callers keep only what both read alike.
fast_loads: Callable[[str], Any]
try:
    from orjson import loads as fast_loads
except ImportError:
    fast_loads = _decode_object


__all__ = ["BLANK", "MAX_DEPTH", "LineError", "decode_line", "fast_loads"]
