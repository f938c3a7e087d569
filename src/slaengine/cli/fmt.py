"""``slaengine fmt``: rewrite policy files in their normalised layout, in place."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from slaengine.errors import PolicyError, Problem
from slaengine.policy.fmt import FormatError, format_text
from slaengine.policy.load import policy_files
from slaengine.words import plural

DEFAULT_PATH = "policies/"


def register(commands: Any) -> None:
    """Add the ``fmt`` subcommand."""
    parser = commands.add_parser(
        "fmt",
        help="normalise the layout of policy files",
        description="Rewrite policy files with consistent indentation, no trailing whitespace "
        "and one final newline, keeping comments, key order, quoting and flow style. "
        "Directories give the same files as 'slaengine check'. Exit 0 when done (or, with "
        "--check, when every file is formatted), 1 when --check finds files to reformat, "
        "2 when a file cannot be formatted (nothing is changed in it). See docs/fmt.md.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"policy file or directory (default: {DEFAULT_PATH})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; list the files that would be reformatted and exit 1 if any",
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="change nothing; print a unified diff of what would change",
    )
    parser.set_defaults(run=run)


def write_atomically(path: Path, text: str) -> None:
    """Replace the file behind ``path`` with ``text``, keeping its mode.

    The text goes to a temporary file in the same directory first, so a crash or a
    full disk leaves either the old file or the new one, never half of each. A
    symbolic link stays a link: the file it points to is replaced.
    """
    target = path.resolve()
    mode = target.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _diff(source: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), source, source
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def run(args: argparse.Namespace) -> int:
    """Format every file; report each change and a summary on stderr."""
    files = policy_files(args.paths or [DEFAULT_PATH])
    write = not (args.check or args.diff)
    changed: list[Path] = []
    unchanged = 0
    failed: list[Path] = []
    for path in files:
        source = str(path)
        try:
            # Bytes, so Windows line endings are seen (and kept) as written.
            before = path.read_bytes().decode("utf-8")
            after = format_text(before, source)
        except (OSError, UnicodeDecodeError) as exc:
            print(Problem(source, 0, 0, "E002", f"cannot read: {exc}"), file=sys.stderr)
            failed.append(path)
            continue
        except PolicyError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            failed.append(path)
            continue
        except FormatError as exc:
            print(exc, file=sys.stderr)
            failed.append(path)
            continue
        if after == before:
            unchanged += 1
            continue
        changed.append(path)
        if args.diff:
            sys.stdout.write(_diff(source, before, after))
        if write:
            write_atomically(path, after)
            print(f"reformatted {source}", file=sys.stderr)
        elif args.check:
            print(f"would reformat {source}", file=sys.stderr)
    verb = "reformatted" if write else "would be reformatted"
    summary = [f"{_files(len(changed))} {verb}", f"{unchanged:,} unchanged"]
    if failed:
        summary.append(f"{_files(len(failed))} not formatted (see above)")
    print(", ".join(summary), file=sys.stderr)
    if failed:
        return 2
    return 1 if args.check and changed else 0


def _files(n: int) -> str:
    return plural(n, "file")
