"""One worker per SQLite state file: a second ``run`` (or ``serve`` with its worker) is refused.

Real processes: the first worker is ``python -m slaengine run`` (or ``serve``);
the second is started while it runs, and again after the first is killed with
SIGKILL, which must leave no lock behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from live_support import POLICY, created
from serve_support import TOKEN
from slaengine.live import Store
from slaengine.live.workerlock import lock_path, worker_lock

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def site(tmp_path):
    """A policy without named targets, a settings file, and an environment without plugins."""
    policy = POLICY.replace("[lead]", "[]").replace("[manager]", "[]")
    (tmp_path / "policies.yaml").write_text(policy, encoding="utf-8")
    (tmp_path / "slaengine.toml").write_text(
        f'[live]\nstate = "{tmp_path / "state.db"}"\npolicies = ["{tmp_path / "policies.yaml"}"]\n'
        'tick = 0.2\n[serve]\nlisten = "127.0.0.1:0"\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
        "SLAENGINE_PLUGINS": "",
        "SLAENGINE_API_TOKEN": TOKEN,
    }
    env.pop("SLAENGINE_CONFIG", None)
    return tmp_path, env


def start(site, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """A ``slaengine`` process in the background, once its worker (or server) is up."""
    tmp_path, env = site
    ready = b'"server listening"' if args[0] == "serve" else b'"worker started"'
    log = tmp_path / f"{args[0]}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "slaengine", *args, "--config", "slaengine.toml"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    deadline = time.monotonic() + 120  # start-up on a loaded machine; success is quick
    while ready not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{args[0]} did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return process, log


def second(site, *args: str) -> subprocess.CompletedProcess[str]:
    tmp_path, env = site
    return subprocess.run(
        [sys.executable, "-m", "slaengine", *args, "--config", "slaengine.toml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    process.send_signal(sig)
    try:
        return process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_second_run_is_refused_and_a_killed_worker_leaves_no_lock(site):
    first, _ = start(site, "run")
    try:
        again = second(site, "run", "--once")
        assert again.returncode == 2, again.stderr
        assert f"already has a worker (process {first.pid})" in again.stderr
        assert "one worker per SQLite state file" in again.stderr
        assert "Traceback" not in again.stderr
        # serve with its worker would be a second worker too; it is refused before listening.
        served = second(site, "serve")
        assert served.returncode == 2
        assert f"(process {first.pid})" in served.stderr
    finally:
        stop(first, signal.SIGKILL)
    # The kernel released the lock with the process: the next worker starts.
    after = second(site, "run", "--once")
    assert after.returncode == 0, after.stderr


def test_serve_holds_the_lock_for_its_worker_and_without_one_serves_beside_a_run(site):
    server, log = start(site, "serve")
    try:
        refused = second(site, "run", "--once")
        assert refused.returncode == 2
        assert f"(process {server.pid})" in refused.stderr
        # The server's own worker goes on: an event posted now is evaluated by it.
        port = next(
            json.loads(line)["port"]
            for line in log.read_text().splitlines()
            if '"server listening"' in line
        )
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        answer = httpx.post(f"{url}/events", json=[created("T-1")], headers=headers, timeout=30)
        assert answer.json()["accepted"] == 1
        at_risk = {"params": {"within": "1m"}, "headers": headers, "timeout": 30}
        deadline = time.monotonic() + 60
        while not httpx.get(f"{url}/at-risk", **at_risk).json()["clocks"]:
            assert time.monotonic() < deadline, "the server's worker did not evaluate T-1"
            time.sleep(0.1)
    finally:
        assert stop(server) == 0
    worker, _ = start(site, "run")
    try:
        # A server without a worker is no second worker.
        beside, _ = start(site, "serve", "--no-worker")
        assert stop(beside) == 0
    finally:
        assert stop(worker) == 0


def test_a_symlink_or_a_hard_link_to_the_state_file_is_the_same_worker(site):
    tmp_path, _ = site
    first, _ = start(site, "run")
    try:
        # The worker created state.db; other spellings of the same file reach the same lock.
        (tmp_path / "alias.db").symlink_to(tmp_path / "state.db")
        os.link(tmp_path / "state.db", tmp_path / "hard.db")
        (tmp_path / "linked").symlink_to(tmp_path, target_is_directory=True)
        for spelling in ("alias.db", "hard.db", "linked/state.db", "linked/hard.db"):
            again = second(site, "run", "--once", "--state", spelling)
            assert again.returncode == 2, (spelling, again.stderr)
            assert f"already has a worker (process {first.pid})" in again.stderr, spelling
    finally:
        stop(first, signal.SIGKILL)
    after = second(site, "run", "--once", "--state", "hard.db")
    assert after.returncode == 0, after.stderr


def test_the_lock_is_for_sqlite_files_only(tmp_path):
    store = Store.open(tmp_path / "state.db")
    memory = Store.open(":memory:")
    try:
        facts = (tmp_path / "state.db").stat()
        assert lock_path(store) == str(
            tmp_path / f"slaengine-worker-{facts.st_dev}-{facts.st_ino}.lock"
        )
        assert lock_path(memory) is None
        with worker_lock(store):
            path = Path(lock_path(store) or "")
            assert path.read_text() == f"{os.getpid()}\n"
            assert path.stat().st_mode & 0o777 == 0o600
        with worker_lock(memory):
            pass
    finally:
        store.close()
        memory.close()
