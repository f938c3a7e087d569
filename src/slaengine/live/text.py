"""Untrusted text made safe to store, log and print: no NUL, no lone surrogate, no control codes.

Event data and receivers' answers come from outside. PostgreSQL refuses a NUL in
text, neither database takes a lone surrogate (it has no UTF-8 form), and
control characters in a log or terminal can rewrite what the reader sees. Each
function here keeps the text readable and says plainly what it changed.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

from slaengine.safetext import printable

_SURROGATES: Final = re.compile("[\ud800-\udfff]")
# ``scheme://user:password@`` in a URL, and ``password=...`` in a key/value DSN.
_URL_PASSWORD: Final = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]*@")
_DSN_PASSWORD: Final = re.compile(r"(?P<head>password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, which has no UTF-8 form."""
    return _SURROGATES.search(text) is not None


def storable(text: str) -> str:
    """``text`` as both databases store it: NUL and lone surrogates written as escapes."""
    if "\x00" not in text and not has_lone_surrogate(text):
        return text
    return _SURROGATES.sub(_escape, text.replace("\x00", "\\x00"))


#: Bytes of a refused input's text kept in the rejects table (the rest is cut off).
RAW_LIMIT: Final = 64 * 1024
#: Bytes of the request body an inbox translated kept with each of its rejects.
BODY_LIMIT: Final = 1024 * 1024


def raw_text(raw: bytes | str, limit: int = RAW_LIMIT) -> tuple[str, int]:
    """The first ``limit`` bytes of a refused input as both databases store it, and its size.

    Bytes that are not UTF-8 (given as bytes, or read from a file as
    surrogate escapes), NUL and lone surrogates are written as escapes
    (``\\xe9``, ``\\x00``, ``\\ud800``). The size is the whole input's, in
    bytes: more than ``limit`` means the text was cut.
    """
    if isinstance(raw, str):
        try:
            data = raw.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that stands for no byte: an escape
            return storable(raw[:limit]), len(raw.encode("utf-8", "surrogatepass"))
    else:
        data = bytes(raw)
    return storable(data[:limit].decode("utf-8", "backslashreplace")), len(data)


def escape_controls(text: str, limit: int | None = None) -> str:
    """``text`` with control characters (and lone surrogates) as visible escapes.

    ``limit`` cuts the result to that many characters, marking the cut with ``...``.
    """
    escaped = printable(text)
    if limit is not None and len(escaped) > limit:
        return escaped[: max(0, limit - 3)] + "..."
    return escaped


def redact_url_secrets(text: str, url: str = "") -> str:
    """``text`` without the password of ``url`` or of any URL or DSN it quotes."""
    match = re.match(r"[^:]*://[^:/@]*:(?P<password>[^@]*)@", url)
    if match and match.group("password"):
        password = match.group("password")
        for form in {password, unquote(password)}:
            text = text.replace(form, "***")
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    return _DSN_PASSWORD.sub(r"\g<head>***", text)


__all__ = [
    "BODY_LIMIT",
    "RAW_LIMIT",
    "escape_controls",
    "has_lone_surrogate",
    "raw_text",
    "redact_url_secrets",
    "storable",
]
