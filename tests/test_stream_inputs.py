"""Events read from a pipe named by its path (``/dev/stdin``, a FIFO, ``<(zcat x.gz)``).

Such a file can be read only once: the commands read it line by line, as they
read ``-``, instead of sampling its start or cutting it by offsets first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
POLICIES = str(ROOT / "policies")
EXAMPLES = ROOT / "examples" / "tickets.jsonl"
AT = "2025-12-03T16:00:00Z"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pipes named by a path")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _tickets() -> int:
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines()
    return len({json.loads(line)["ticket"] for line in lines if line.strip()})


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "--format", "json"],
        ["audit", "--json"],
        ["whatif", "--against", POLICIES, "--json"],
    ],
    ids=["evaluate", "audit", "whatif"],
)
def test_dev_stdin_from_a_pipe_reads_every_event(command):
    args = [sys.executable, "-m", "slaengine", command[0], "-p", POLICIES, "-e", "/dev/stdin"]
    done = subprocess.run(
        [*args, "--at", AT, *command[1:]],
        input=EXAMPLES.read_bytes(),
        capture_output=True,
        timeout=300,
        env=_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    if command[0] == "evaluate":
        assert len(out.splitlines()) == _tickets()
    elif command[0] == "audit":
        assert json.loads(out)["overall"]["tickets"] == _tickets()
    else:
        assert json.loads(out)["tickets"] == _tickets()


def test_a_fifo_is_opened_once(tmp_path):
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    args = ["evaluate", "-p", POLICIES, "-e", str(fifo), "--at", AT, "--format", "json"]
    with subprocess.Popen(
        [sys.executable, "-m", "slaengine", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    ) as process:
        with fifo.open("wb") as writer:
            writer.write(EXAMPLES.read_bytes())
        try:
            out, err = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("evaluate waited for a second writer: it opened the FIFO twice")
    assert process.returncode == 0, err.decode()
    assert len(out.decode().splitlines()) == _tickets()
