"""The ``slaengine`` command: wires subcommands; each lives in its own module."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import pkgutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from slaengine import __version__
from slaengine.cli._options import select_config
from slaengine.compiled import describe
from slaengine.errors import UserError
from slaengine.logs import configure_logging
from slaengine.safetext import printable_lines

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


#: Every command module: the command it registers and the line ``slaengine --help``
#: shows. A module's code is imported only when its command runs (start-up time:
#: the audit, live and report modules are most of it); a module not listed here is
#: imported up front, as every module once was.
COMMANDS: Final[Mapping[str, tuple[str, str]]] = {
    "audit": ("audit", "SLA compliance and support KPIs over an events file"),
    "check": ("check", "validate policy files"),
    "evaluate": ("evaluate", "evaluate SLA clocks on ticket events"),
    "explain": ("explain", "explain one ticket's policy and clocks"),
    "fmt": ("fmt", "normalise the layout of policy files"),
    "generate": ("generate", "write synthetic ticket events"),
    "importer": ("import", "convert an export of another system into ticket events"),
    "ingest": ("ingest", "store events from a JSON Lines file (.gz too) in the live state"),
    "outbox": (
        "outbox",
        "list notifications and their deliveries; retry dead ones; list rejected events",
    ),
    "plugins": ("plugins", "list loaded plugins"),
    "run": ("run", "run the live worker"),
    "schema": ("schema", "print the policy JSON Schema"),
    "serve": (
        "serve",
        "serve the HTTP API (events and inbox webhooks in, status and at-risk out)",
    ),
    "status": (
        "status",
        "show a ticket's SLA status, or the clocks due soon, from the live state",
    ),
    "test": ("test", "run policy tests"),
    "whatif": ("whatif", "backtest a policy change over history"),
}


class _LazyCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose modules are imported when the command line names them.

    Until then each command is a placeholder parser carrying its help line, so the
    top-level ``--help`` lists every command; once named, the placeholder gives way
    to the parser its module's ``register`` builds, in the same place.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._modules: dict[str, str] = {}  # command -> module not imported yet

    def add_lazy(self, command: str, module: str, help_line: str) -> None:
        """List ``command`` with ``help_line``; import ``module`` when it is named."""
        self.add_parser(command, help=help_line, add_help=False)
        self._modules[command] = module

    def load(self, command: str) -> None:
        """Replace ``command``'s placeholder by its module's parser (nothing if loaded)."""
        module = self._modules.pop(command, None)
        if module is None:
            return
        listed = [action.dest for action in self._choices_actions]
        place = listed.index(command)
        del self._name_parser_map[command]
        del self._choices_actions[place]
        importlib.import_module(module).register(self)
        added = next(a for a in self._choices_actions if a.dest == command)
        self._choices_actions.remove(added)
        self._choices_actions.insert(place, added)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if values:
            self.load(values[0])
        super().__call__(parser, namespace, values, option_string)


class _Version(argparse.Action):
    """Prints the version and the engine's mode, unwrapped (argparse's own wraps it)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"slaengine {__version__} ({describe()})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered.

    A command's module is imported when the parsed command line names it.
    """
    parser = argparse.ArgumentParser(
        prog="slaengine",
        description="SLA policy engine for customer support.",
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="show the version and whether it runs compiled"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", action=_LazyCommands)
    commands.required = True
    assert isinstance(commands, _LazyCommands)
    for name in command_modules():
        module = f"{__name__}.{name}"
        if name in COMMANDS:
            command, help_line = COMMANDS[name]
            commands.add_lazy(command, module, help_line)
        else:
            importlib.import_module(module).register(commands)
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
    # From the start: importing the command's modules and loading its plugins and
    # policies allocate hundreds of thousands of objects too.
    with _collector_tuned():
        return _run_command(argv)


def _run_command(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Unknown options belong to the subcommand: show its usage, not the top level's.
        _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    select_config(getattr(args, "config", None))
    configure_logging(args.verbose)
    try:
        status: int = args.run(args)
    except UserError as exc:
        if args.debug:
            raise
        print(f"slaengine: {printable_lines(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into head & co.
        return EXIT_OK
    except UnicodeEncodeError as exc:
        # Files are written in UTF-8; standard output in its own encoding (a Windows code
        # page, PYTHONIOENCODING=ascii), which may lack a character of a ticket id. A
        # UTF-8 encoder fails only on a lone surrogate: that is a bug, with its traceback.
        if args.debug or exc.encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
            raise
        print(
            f"slaengine: standard output's encoding ({exc.encoding}) cannot write "
            f"{printable_lines(repr(exc.object[exc.start]))}; set PYTHONIOENCODING=utf-8",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except OSError as exc:
        # A file the user named could not be opened or written (an output in a missing
        # directory, a read-only file): say which, without a traceback.
        if args.debug or exc.filename is None:
            raise
        reason = exc.strerror or str(exc)
        print(f"slaengine: {printable_lines(str(exc.filename))}: {reason}", file=sys.stderr)
        return EXIT_USAGE
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
