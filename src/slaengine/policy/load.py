"""Read policy files and directories from disk into a validated :class:`PolicySet`."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from slaengine.calendar import BusinessCalendar
from slaengine.errors import PolicyError, Problem
from slaengine.policy.match import Condition
from slaengine.policy.model import PolicySet
from slaengine.policy.source import YNode, parse_yaml
from slaengine.policy.validate import build_policy_set

POLICY_SUFFIXES = (".yaml", ".yml")
#: The largest policy file read (1 MiB, some ten thousand policies): YAML with
#: locations is parsed at roughly 100 KB a second, so a larger file is refused
#: at once rather than keeping ``check`` busy for minutes.
MAX_POLICY_BYTES = 1 << 20
_NO_CALENDARS: Mapping[str, BusinessCalendar] = MappingProxyType({})
# Folders inside a policy directory that hold other YAML (policy tests), not policies.
_SKIPPED_DIRS = frozenset({"tests"})


def policy_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The policy files named by ``paths``; a directory gives its YAML files in name order.

    Raises :class:`PolicyError` for a path that does not exist or holds no policy.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in POLICY_SUFFIXES
                and p.is_file()
                and not _SKIPPED_DIRS.intersection(p.relative_to(path).parts[:-1])
            )
            if not found:
                problems.append(
                    Problem(str(path), 0, 0, "E002", "no .yaml or .yml files in this directory")
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), 0, 0, "E002", "no such file or directory"))
    if problems:
        raise PolicyError(problems)
    return files


def read_policies(
    paths: Iterable[str | os.PathLike[str]],
    calendars: Mapping[str, BusinessCalendar] = _NO_CALENDARS,
    notifiers: Collection[str] | None = None,
    conditions: Mapping[str, Condition] | None = None,
) -> tuple[PolicySet | None, list[Problem]]:
    """Load and validate; return the set (``None`` on errors) and every problem found.

    ``calendars`` are extra named calendars (from plugins) policies may refer to;
    ``notifiers``, when given, the notify targets policies may name;
    ``conditions`` the custom match conditions (name to a predicate on the
    ticket) that a match's ``conditions`` may name.
    """
    documents: list[tuple[str, YNode | None, list[Problem]]] = []
    for path in policy_files(paths):
        source = str(path)
        text, problem = read_policy_text(path)
        if text is None:
            documents.append((source, None, [problem] if problem is not None else []))
            continue
        root, problems = parse_yaml(text, source)
        documents.append((source, root, problems))
    return build_policy_set(documents, calendars, notifiers, conditions)


def read_policy_text(path: Path) -> tuple[str | None, Problem | None]:
    """The text of one policy file, or ``None`` and the located problem that stops it.

    Refused: a file over :data:`MAX_POLICY_BYTES`, one that cannot be read, and
    one that is not UTF-8 (located at the first bad byte).
    """
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            return None, Problem(
                source,
                0,
                0,
                "E002",
                f"the file has {size:,} bytes; a policy file may have at most "
                f"{MAX_POLICY_BYTES:,} (split it into several files)",
            )
        data = path.read_bytes()
    except OSError as exc:
        return None, Problem(source, 0, 0, "E002", f"cannot read: {exc.strerror or exc}")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", errors="replace")) + 1
        return None, Problem(
            source,
            line,
            column,
            "E002",
            f"not UTF-8 text: the byte 0x{data[exc.start]:02X} cannot be read; "
            "save the file as UTF-8",
        )


def load_policies(
    *paths: str | os.PathLike[str],
    calendars: Mapping[str, BusinessCalendar] = _NO_CALENDARS,
    notifiers: Collection[str] | None = None,
    conditions: Mapping[str, Condition] | None = None,
) -> PolicySet:
    """Load policy files or directories; raise :class:`PolicyError` listing every error.

    Warnings (codes starting with ``W``) do not stop loading. ``conditions`` maps
    custom match condition names to predicates on a ticket; one that raises when
    evaluated counts as not holding.
    """
    policy_set, problems = read_policies(paths, calendars, notifiers, conditions)
    if policy_set is None:
        raise PolicyError([p for p in problems if not p.code.startswith("W")])
    return policy_set


def loads_policies(
    text: str,
    source: str = "<string>",
    calendars: Mapping[str, BusinessCalendar] = _NO_CALENDARS,
    notifiers: Collection[str] | None = None,
    conditions: Mapping[str, Condition] | None = None,
) -> PolicySet:
    """Load one policy document from a string (for tests and embedding)."""
    root, problems = parse_yaml(text, source)
    policy_set, found = build_policy_set(
        [(source, root, problems)], calendars, notifiers, conditions
    )
    if policy_set is None:
        raise PolicyError([p for p in found if not p.code.startswith("W")])
    return policy_set


__all__ = [
    "MAX_POLICY_BYTES",
    "load_policies",
    "loads_policies",
    "policy_files",
    "read_policies",
    "read_policy_text",
]
