"""The YAML parser's commonest complaints in words an ops person editing a policy reads.

ruamel names parser states ("expected <block end>, but found '<block mapping
start>'"); a person editing a policy needs the mistake that causes them (a line
indented wrong, a tab, an unquoted ``: `` in a value) and what to write
instead. Complaints not listed here keep ruamel's own words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hint:
    """A complaint reworded; ``at_context`` places it where the construct began."""

    message: str
    at_context: bool = False


def yaml_hint(problem: str | None, context: str | None, started: str) -> Hint | None:
    """The reworded complaint for ruamel's ``problem`` (and ``context``), or ``None``.

    ``started`` names where the construct began, e.g. ``line 3, column 5``.
    """
    if problem is None:
        return None
    if problem == "but found another document":
        # ruamel places it at the second document's '---'.
        return Hint(
            "a second YAML document starts here (its '---'), but a policy file holds one "
            "document; split the file in two, one document each (a directory's files load "
            "together)"
        )
    if problem.startswith("found character '\\t'"):
        return Hint("a tab character; expected spaces: YAML indents with spaces only")
    if problem.startswith("expected <block end>, but found"):
        where = f" (in the mapping started at {started})" if "mapping" in (context or "") else ""
        return Hint(
            f"this line's indentation lines up with no key above it{where}; "
            "expected the indentation of the key it belongs beside"
        )
    if problem == "mapping values are not allowed here":
        return Hint("a ': ' inside a value that is not quoted; expected the value in quotes, "
                    'e.g. "a: b"')  # fmt: skip
    if problem == "could not find expected ':'" and "simple key" in (context or ""):
        # The key that lacks its ':' is where the scan began, not the line after it.
        return Hint("a key without ':' after it; expected 'key: value'", at_context=True)
    return None


__all__ = ["Hint", "yaml_hint"]
