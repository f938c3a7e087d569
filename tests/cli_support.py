"""What the command-line tests share: ``main`` run in-process, from the repository root.

``conftest.py`` makes the fixtures available to every test module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from slaengine.cli import main

RunCli = Callable[..., tuple[int, str, str]]
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def at_repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory set to the repository root, as the README's commands assume."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``main(argv)``; return (status, stdout, stderr) and check there is no traceback."""

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return status, out, err

    return run
