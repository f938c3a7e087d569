"""``slaengine test``: run the policy tests written in YAML next to the policies."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from slaengine.cli._options import add_config, read_command_policies
from slaengine.errors import PolicyError, Problem
from slaengine.policy.model import PolicySet
from slaengine.policytest.discover import discover
from slaengine.policytest.model import Case
from slaengine.policytest.parse import parse_test_file
from slaengine.policytest.report import json_report, text_lines
from slaengine.policytest.run import run_suite
from slaengine.words import plural

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_BROKEN = 2


def register(commands: Any) -> None:
    """Add the ``test`` subcommand."""
    parser = commands.add_parser(
        "test",
        help="run policy tests",
        description="Run the policy tests in the given YAML files or directories (default "
        "policies/tests/), each against the policies in the folder above it. Exit 0 when all "
        "pass, 1 when some fail, 2 when a test file or policy file is broken. "
        "See docs/policy-tests.md.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="test file or directory (default policies/tests)"
    )
    parser.add_argument(
        "--policies",
        "-p",
        action="append",
        metavar="PATH",
        help="policy file or directory to test instead of the folder above the tests (repeatable)",
    )
    add_config(parser)
    parser.add_argument(
        "-k", dest="select", metavar="TEXT", help="run only tests whose name contains TEXT"
    )
    parser.add_argument(
        "--format",
        "-f",
        choices=("text", "json"),
        default="text",
        help="text for people (default) or one JSON document for tools",
    )
    parser.add_argument(
        "--strict-coverage",
        action="store_true",
        help="fail (exit 1) when some policy is not touched by any test",
    )
    parser.set_defaults(run=run)


def _load(
    paths: tuple[str, ...], cache: dict[tuple[str, ...], PolicySet | None], problems: list[Problem]
) -> PolicySet | None:
    if paths not in cache:
        try:
            policy_set, found = read_command_policies([str(p) for p in paths])
        except PolicyError as exc:  # a path that does not exist
            policy_set, found = None, list(exc.problems)
        problems.extend(p for p in found if not p.is_warning)
        cache[paths] = policy_set
    return cache[paths]


def _broken(problems: list[Problem], args: argparse.Namespace) -> int:
    if args.format == "json":
        sys.stdout.write(json_report(None, problems, args.strict_coverage) + "\n")
    else:
        for problem in problems:
            print(problem)
    files = len({p.source for p in problems})
    print(
        f"{plural(len(problems), 'problem')} in {plural(files, 'file')}; no test was run",
        file=sys.stderr,
    )
    return EXIT_BROKEN


def run(args: argparse.Namespace) -> int:
    """Find, load, check and run the tests; print the report."""
    test_files, problems = discover(args.paths, args.policies)
    cache: dict[tuple[str, ...], PolicySet | None] = {}
    groups: dict[tuple[str, ...], list[Case]] = {}
    for test_file in test_files:
        policy_set = _load(test_file.policies, cache, problems)
        if policy_set is None:
            continue
        cases, found = parse_test_file(test_file.path, policy_set)
        problems.extend(found)
        groups.setdefault(test_file.policies, []).extend(cases)
    if problems:
        return _broken(list(dict.fromkeys(problems)), args)

    total = sum(len(cases) for cases in groups.values())
    if args.select is not None:
        needle = args.select.lower()
        groups = {
            paths: [c for c in cases if needle in c.name.lower()] for paths, cases in groups.items()
        }
        chosen = sum(len(cases) for cases in groups.values())
        if not chosen:
            print(f"slaengine: no test name contains {args.select!r}", file=sys.stderr)
            return EXIT_BROKEN
        if chosen < total:
            print(f"{plural(total - chosen, 'test')} deselected by -k", file=sys.stderr)

    suite = run_suite([(policy_set, groups[paths]) for paths, policy_set in _loaded(cache)])
    if args.format == "json":
        sys.stdout.write(json_report(suite, (), args.strict_coverage) + "\n")
    else:
        for line in text_lines(suite, args.strict_coverage):
            print(line)
    if suite.failed or (args.strict_coverage and suite.untested):
        return EXIT_FAILED
    return EXIT_PASSED


def _loaded(
    cache: dict[tuple[str, ...], PolicySet | None],
) -> list[tuple[tuple[str, ...], PolicySet]]:
    return [(paths, policy_set) for paths, policy_set in cache.items() if policy_set is not None]
