"""The ``slaengine`` command: wires subcommands; each lives in its own module."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import pkgutil
import sys
from collections.abc import Iterator, Sequence

from slaengine import __version__
from slaengine.cli._options import select_config
from slaengine.errors import UserError
from slaengine.logs import configure_logging
from slaengine.safetext import printable_lines

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="slaengine",
        description="SLA policy engine for customer support.",
    )
    parser.add_argument("--version", action="version", version=f"slaengine {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name in command_modules():
        importlib.import_module(f"{__name__}.{name}").register(commands)
    return parser


def command_modules() -> list[str]:
    """Names of the modules in this package that define a subcommand, in name order.

    Each command lives in its own module with a ``register(subparsers)`` function;
    modules whose name starts with ``_`` are helpers, not commands.
    """
    return sorted(
        info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 problems found, 2 usage)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Unknown options belong to the subcommand: show its usage, not the top level's.
        _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    select_config(getattr(args, "config", None))
    configure_logging(args.verbose)
    try:
        with _collector_tuned():
            status: int = args.run(args)
    except UserError as exc:
        if args.debug:
            raise
        print(f"slaengine: {printable_lines(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into head & co.
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    return status


@contextlib.contextmanager
def _collector_tuned() -> Iterator[None]:
    """Collect cyclic garbage less often while a command runs; the old thresholds after.

    Batch commands keep hundreds of thousands of small objects alive; the
    default collection threshold rescans them constantly (~10% on whatif). The
    command line may tune its own process while a command runs; the library never
    does, and :func:`main` called from a program leaves its thresholds as they were.
    """
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _command_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The subparser of command ``name`` (the top-level parser if there is none)."""
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser | None = action.choices.get(name)
            return found or parser
    return parser


def entry_point() -> None:  # pragma: no cover - console script
    """Console-script wrapper around :func:`main`."""
    sys.exit(main())


__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "build_parser", "entry_point", "main"]
