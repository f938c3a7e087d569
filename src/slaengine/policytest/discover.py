"""Find policy-test files and the policies each one tests."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from slaengine.errors import Problem
from slaengine.policy.load import POLICY_SUFFIXES

TESTS_FOLDER = "tests"
DEFAULT_TESTS = Path("policies") / TESTS_FOLDER


@dataclass(frozen=True, slots=True)
class TestFile:
    """A test file and the policy paths its cases are evaluated under."""

    __test__ = False  # not a pytest test class

    path: Path
    policies: tuple[str, ...]


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file())


def discover(
    paths: Sequence[str], policies: Sequence[str] | None = None
) -> tuple[list[TestFile], list[Problem]]:
    """Test files named by ``paths`` (default ``policies/tests``), with their policies.

    A directory gives its ``.yaml``/``.yml`` files, or those of its ``tests``
    folder when it has one (so ``policies/`` means ``policies/tests/``).
    Without ``policies``, a test file's policies are the folder above its own
    (``policies/tests/x.yaml`` tests ``policies/``); a file outside a ``tests``
    folder is then a problem.
    """
    found: list[Path] = []
    problems: list[Problem] = []
    for raw in paths or [str(DEFAULT_TESTS)]:
        path = Path(raw)
        if path.is_dir():
            tests = path / "tests"
            files = _yaml_files(tests if tests.is_dir() else path)
            if not files:
                problems.append(
                    Problem(
                        str(path), 0, 0, "E002", "no .yaml or .yml test files in this directory"
                    )
                )
            found.extend(files)
        elif path.is_file():
            found.append(path)
        elif not paths:
            here = Path(TESTS_FOLDER)
            # Run from inside the policies folder, the default misses the tests beside it.
            inside = here.is_dir() and bool(_yaml_files(here))
            problems.append(
                Problem(
                    str(path),
                    0,
                    0,
                    "E002",
                    "no such directory; "
                    + (
                        "inside the policies folder (it has tests/): run slaengine test ."
                        if inside
                        else "write policy tests there, next to the policies "
                        "(docs/policy-tests.md), or name the test files"
                    ),
                )
            )
        else:
            problems.append(Problem(str(path), 0, 0, "E002", "no such file or directory"))
    unique = list(dict.fromkeys(found))
    if not policies:
        # Only a tests/ folder says where its policies are; the folder above any other
        # could be a home directory, read whole.
        strays = [path for path in unique if not _in_tests_folder(path)]
        for path in strays:
            problems.append(
                Problem(
                    str(path),
                    0,
                    0,
                    "E002",
                    "not in a 'tests' folder, so the policies it tests are unknown: give "
                    "--policies PATH, or move it into policies/tests/",
                )
            )
        unique = [path for path in unique if path not in strays]
    return [
        TestFile(path, tuple(policies) if policies else (_policies_of(path),)) for path in unique
    ], problems


def _in_tests_folder(path: Path) -> bool:
    # Judged by the folder's own name, not the path's text: run inside policies/tests/,
    # ``x.yaml`` (and ``.`` giving it) is in the tests folder too, though its text names none.
    return Path(os.path.abspath(path)).parent.name == TESTS_FOLDER


def _policies_of(path: Path) -> str:
    # The folder above a test file's own, in the path's terms (``..`` for ``x.yaml``).
    return os.path.normpath(os.path.join(path.parent, os.pardir))


__all__ = ["DEFAULT_TESTS", "TestFile", "discover"]
