"""Settings: defaults, every mistake reported with its table, password from the environment."""

from __future__ import annotations

import pytest
from slaengine_email.config import ConfigError, load, parse_server, parse_target

BASE = {"host": "smtp.example.org", "from": "SLA <sla@example.org>"}


def _config(server: dict[str, object], **targets: object) -> dict[str, object]:
    return {"plugins": {"email": {**server, "targets": targets}}}


def test_defaults_follow_the_security():
    assert parse_server(BASE, environ={}).port == 587
    assert parse_server({**BASE, "security": "tls"}, environ={}).port == 465
    assert parse_server({**BASE, "security": "none"}, environ={}).port == 25
    server = parse_server(BASE, environ={})
    assert (server.security, server.domain, server.timeout) == ("starttls", "example.org", 30.0)
    # Durations take the forms of [live] settings.
    assert parse_server({**BASE, "timeout": "1m"}, environ={}).timeout == 60.0


def test_the_password_comes_from_the_named_variable_and_stays_out_of_repr():
    server = parse_server(
        {**BASE, "username": "bot", "password_env": "SMTP_PW"}, environ={"SMTP_PW": "hunter2"}
    )
    assert server.password == "hunter2"
    assert "hunter2" not in repr(server)


def test_an_unset_password_variable_keeps_the_targets_and_says_so():
    loaded = load(
        _config(
            {**BASE, "username": "bot", "password_env": "SMTP_PW"}, lead={"to": "a@example.org"}
        ),
        environ={},
    )
    assert loaded.server is not None
    assert loaded.server.missing_password_env == "SMTP_PW"
    assert list(loaded.targets) == ["lead"]
    assert any("SMTP_PW (password_env) is not set" in p for _, p in loaded.problems)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({**BASE, "hots": "x"}, "unknown setting 'hots'; did you mean 'host'?"),
        ({"from": "a@example.org"}, "host: required"),
        ({"host": "h"}, "from: required"),
        ({**BASE, "from": "not an address"}, "from: not an e-mail address"),
        ({**BASE, "security": "ssl"}, "security: must be one of starttls, tls, none"),
        ({**BASE, "port": 70000}, "port: must be a whole number from 1 to 65535"),
        ({**BASE, "username": "bot"}, "give both to log in, or neither"),
        (
            {**BASE, "security": "none", "username": "u", "password_env": "P"},
            "logging in needs security 'starttls' or 'tls'",
        ),
        ({**BASE, "timeout": 0}, "timeout: must be a number of seconds above 0"),
        ({**BASE, "timeout": "later"}, "timeout: expected a duration like 90m, 2h or 1h30m"),
        ({**BASE, "ca_file": "/nonexistent/ca.pem"}, "ca_file: no such file"),
        ({**BASE, "ticket_url": "https://x/{id}"}, "ticket_url: unknown placeholder {id}"),
        ({**BASE, "ticket_url": "ftp://x/{ticket}"}, "ticket_url: must start with http"),
        ({**BASE, "domain": "bad domain"}, "domain: not a domain name"),
    ],
    ids=[
        "unknown-key",
        "no-host",
        "no-from",
        "bad-from",
        "security",
        "port",
        "half-login",
        "plain-login",
        "timeout",
        "text-timeout",
        "ca-file",
        "placeholder",
        "url-scheme",
        "domain",
    ],
)
def test_server_mistakes_are_reported(table, problem):
    with pytest.raises(ConfigError) as caught:
        parse_server(table, environ={})
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({}, "to: required"),
        ({"to": ["a@example.org", "nope"]}, "to[1]: not an e-mail address: 'nope'"),
        ({"to": "a@example.org", "cc": 3}, "cc: expected a list of e-mail addresses"),
        ({"to": "a@example.org", "digest": "soon"}, "digest: a period from 1s to 24h"),
        ({"to": "a@example.org", "digets": "5m"}, "did you mean 'digest'?"),
        ({"to": "a@example.org", "subject_prefix": "a\nb"}, "subject_prefix: must be a one-line"),
        ({"to": "x@example.org\r\nBcc: y@example.org"}, "to[0]: expected an e-mail address"),
    ],
    ids=["no-to", "bad-to", "bad-cc", "bad-digest", "unknown-key", "prefix", "header-injection"],
)
def test_target_mistakes_are_reported(table, problem):
    with pytest.raises(ConfigError) as caught:
        parse_target("lead", table)
    assert problem in str(caught.value)


def test_a_digest_needs_a_spool_file():
    server = parse_server(BASE, environ={})
    with pytest.raises(ConfigError, match="needs 'digest_state'"):
        parse_target("lead", {"to": "a@example.org", "digest": "15m"}, server)
    with_spool = parse_server({**BASE, "digest_state": "digests.db"}, environ={})
    assert parse_target("lead", {"to": "a@example.org", "digest": "15m"}, with_spool).digest == 900


def test_a_bad_target_is_left_out_with_its_table_named_the_others_load():
    loaded = load(_config(BASE, good={"to": "a@example.org"}, bad={"to": "nope"}), environ={})
    assert list(loaded.targets) == ["good"]
    assert loaded.problems == [
        ("bad", "[plugins.email.targets.bad] to[0]: not an e-mail address: 'nope'")
    ]


def test_a_bad_server_leaves_every_target_out():
    loaded = load(_config({"host": "h"}, good={"to": "a@example.org"}), environ={})
    assert loaded.server is None
    assert loaded.targets == {}
    [(where, problem)] = loaded.problems
    assert where is None
    assert problem.startswith("[plugins.email] from: required")


def test_no_table_no_targets():
    assert load({}, environ={}).targets == {}
    assert load({"plugins": {"email": 3}}, environ={}).problems == [
        (None, "[plugins.email] must be a table")
    ]


def test_the_readme_example_loads_without_problems():
    import re
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```toml\n(.*?)```", readme, re.DOTALL)
    loaded = load(tomllib.loads(example), environ={"SLA_SMTP_PASSWORD": "pw"})
    assert loaded.problems == []
    assert loaded.server is not None
    assert loaded.server.password == "pw"
    assert sorted(loaded.targets) == ["managers", "team-lead"]
    assert loaded.targets["managers"].digest == 900
    assert loaded.targets["team-lead"].cc == ("Support desk <desk@example.com>",)


def test_the_notifications_page_example_loads_without_problems():
    import re
    import tomllib
    from pathlib import Path

    page = Path(__file__).parents[3] / "docs" / "notifications.md"
    if not page.is_file():
        pytest.skip("the plugin is tested outside the slaengine repository")
    [example] = re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
    loaded = load(tomllib.loads(example), environ={"SLA_SMTP_PASSWORD": "pw"})
    assert loaded.problems == []
    assert sorted(loaded.targets) == ["managers", "team-lead"]
