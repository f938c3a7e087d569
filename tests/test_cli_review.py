"""What a newcomer following the docs ran into: mistyped paths, narrow terminals, test files.

Each test names the command line a user would type and what they must see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import RunCli
from slaengine.live import Store

POLICY = """\
version: 1
policies:
  - name: desk
    metrics:
      first_response: {targets: 1h}
"""


@pytest.fixture
def policy_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "desk.yaml").write_text(POLICY, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ("status", "--state", "typo.db", "-p", "policies/", "T-1"),
        ("status", "--state", "typo.db", "--due-within", "2h"),
        ("status", "--state", "sqlite:///typo.db", "--due-within", "2h"),
        ("outbox", "--state", "typo.db"),
        ("outbox", "--state", "typo.db", "--rejects"),
    ],
    ids=["status-ticket", "status-queue", "status-sqlite-url", "outbox", "outbox-rejects"],
)
def test_looking_at_a_mistyped_state_creates_nothing(
    policy_dir: Path, run_cli: RunCli, argv: tuple[str, ...]
) -> None:
    status, _, err = run_cli(*argv)
    assert status == 2
    assert "state 'typo.db' does not exist" in err or "'sqlite:///typo.db' does not exist" in err
    assert "ingest, run and serve create it" in err
    assert not (policy_dir / "typo.db").exists()


def test_looking_at_an_existing_state_still_works(policy_dir: Path, run_cli: RunCli) -> None:
    Store.open(policy_dir / "state.db").close()
    status, out, _ = run_cli("status", "--state", "state.db", "--due-within", "2h", "--json")
    assert status == 0
    assert '"count": 0' in out
    status, out, _ = run_cli("outbox", "--state", "state.db")
    assert status == 0
    assert "0 pending" in out
