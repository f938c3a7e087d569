"""House checks as tests, so the README's one test command enforces them: ruff and mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_is_clean():
    result = _run(sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "plugins")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean():
    result = _run(sys.executable, "-m", "mypy", "--strict", "src/slaengine")
    assert result.returncode == 0, result.stdout + result.stderr


def test_bundled_plugins_are_mypy_strict_clean():
    sources = sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("plugins/*/src/*"))
    assert sources, "no bundled plugins found"
    result = _run(sys.executable, "-m", "mypy", "--strict", *sources)
    assert result.returncode == 0, result.stdout + result.stderr
