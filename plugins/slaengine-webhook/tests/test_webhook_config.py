"""Target settings: defaults, every mistake reported at once, secrets kept out of sight."""

from __future__ import annotations

import pytest
from slaengine_webhook.config import ConfigError, Target, load_targets, parse_target, redact

from slaengine.config import load_config

URL = "https://hooks.example.com/sla"


def test_a_minimal_target_gets_the_defaults():
    target = parse_target("team-lead", {"url": URL}, environ={})
    assert target == Target("team-lead", URL)
    assert (target.timeout, target.format, target.retries, target.secret) == (5.0, "json", 2, None)


def test_every_setting_is_read():
    table = {
        "url": URL,
        "secret_env": "HOOK_SECRET",
        "timeout": 2,
        "format": "slack",
        "retries": 0,
        "backoff": 0.1,
        "max_retry_after": 5,
        "description": "Slack #leads",
    }
    target = parse_target("leads", table, environ={"HOOK_SECRET": "xyz"})
    assert target.secret == b"xyz"
    assert (target.timeout, target.format, target.retries) == (2.0, "slack", 0)
    assert (target.backoff, target.max_retry_after, target.description) == (
        0.1,
        5.0,
        "Slack #leads",
    )


def test_durations_take_the_forms_of_live_settings():
    target = parse_target(
        "t", {"url": URL, "timeout": "30s", "backoff": "2", "max_retry_after": "1m"}, environ={}
    )
    assert (target.timeout, target.backoff, target.max_retry_after) == (30.0, 2.0, 60.0)
    assert parse_target("t", {"url": URL, "timeout": 2.5}, environ={}).timeout == 2.5


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"url": URL, "timout": 3}, "unknown setting 'timout'; did you mean 'timeout'?"),
        ({"url": "ftp://example.com/x"}, "'url' must start with http:// or https://"),
        ({"url": "https:///path"}, "'url' has no host"),
        ({"url": "https://u:p@example.com/"}, "must not hold a user name or password"),
        ({}, "'url' is required"),
        (
            {"url": URL, "format": "slak"},
            "'format' must be one of json, slack, teams, google-chat, got 'slak'",
        ),
        ({"url": URL, "timeout": 0}, "'timeout' must be above 0"),
        (
            {"url": URL, "timeout": "soon"},
            "'timeout': expected a duration like 90m, 2h or 1h30m, got 'soon'",
        ),
        ({"url": URL, "retries": True}, "'retries' must be a whole number"),
        ({"url": URL, "retries": 11}, "'retries' must be a whole number, 0 to 10"),
        ({"url": URL, "backoff": -1}, "'backoff' must be at least 0"),
        ({"url": URL, "secret": ""}, "'secret' must be a non-empty string"),
        ({"url": URL, "secret": "a", "secret_env": "B"}, "either 'secret' or 'secret_env'"),
    ],
    ids=[
        "unknown-key",
        "scheme",
        "no-host",
        "credentials",
        "no-url",
        "format",
        "zero-timeout",
        "text-timeout",
        "bool-retries",
        "many-retries",
        "negative-backoff",
        "empty-secret",
        "two-secrets",
    ],
)
def test_mistakes_are_reported(table, problem):
    with pytest.raises(ConfigError) as caught:
        parse_target("t", table, environ={})
    assert problem in str(caught.value)


def test_all_problems_of_a_target_come_together():
    with pytest.raises(ConfigError) as caught:
        parse_target("t", {"url": "file:///etc/passwd", "format": "xml", "extra": 1}, environ={})
    assert str(caught.value).count("; ") >= 2
    for part in ("unknown setting 'extra'", "'url' must start with", "'format' must be one of"):
        assert part in str(caught.value)


def test_a_missing_secret_variable_keeps_the_target_and_reports_it():
    config = {"plugins": {"webhook": {"targets": {"lead": {"url": URL, "secret_env": "NOPE"}}}}}
    loaded = load_targets(config, environ={})

    assert loaded.targets["lead"].missing_secret_env == "NOPE"
    assert loaded.targets["lead"].secret is None
    [(name, problem)] = loaded.problems
    assert name == "lead"
    assert "environment variable NOPE (secret_env) is not set" in problem


def test_the_secret_stays_out_of_the_repr():
    target = parse_target("t", {"url": URL, "secret": "hunter2"}, environ={})
    assert target.secret == b"hunter2"
    assert "hunter2" not in repr(target)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XXXX", "https://hooks.slack.com/…"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://u:p@example.com/x?token=1", "https://example.com/…"),
        ("https://example.com?token=1", "https://example.com/…"),
        ("http://[::1]:9000/hook", "http://[::1]:9000/…"),
    ],
)
def test_redact_keeps_scheme_host_and_port_only(url, shown):
    assert redact(url) == shown


def test_load_targets_keeps_the_good_and_reports_the_bad():
    config = {
        "plugins": {
            "webhook": {
                "targets": {
                    "good": {"url": URL},
                    "bad": {"url": "gopher://x"},
                    "odd": "not a table",
                },
                "target": {},
            },
            "other": {"whatever": True},
        }
    }
    loaded = load_targets(config, environ={})

    assert list(loaded.targets) == ["good"]
    problems = dict(loaded.problems)
    assert "'url' must start with http:// or https://" in problems["bad"]
    assert problems["odd"] == "expected a table of settings, got str"
    assert "unknown setting 'target' in [plugins.webhook]" in problems[None]


@pytest.mark.parametrize(
    "config",
    [{}, {"plugins": {}}, {"plugins": {"webhook": {}}}, {"plugins": {"webhook": {"targets": {}}}}],
    ids=["empty", "no-plugins-table", "empty-plugin-table", "no-targets"],
)
def test_no_table_means_no_targets_and_no_problems(config):
    assert load_targets(config, environ={}).targets == {}
    assert load_targets(config, environ={}).problems == []


def test_mistakes_in_a_settings_file_name_their_line(tmp_path):
    path = tmp_path / "slaengine.toml"
    path.write_text(
        "[plugins.webhook.targets.good]\n"
        'url = "https://hooks.example.com/a"\n'
        'secret_env = "NOT_SET_ANYWHERE"\n'
        "\n"
        "[plugins.webhook.targets.bad]\n"
        'url = "gopher://x"\n',
        encoding="utf-8",
    )
    loaded = load_targets(load_config(path), environ={})
    assert list(loaded.targets) == ["good"]
    problems = dict(loaded.problems)
    assert problems["good"].startswith(f"{path}:3:1: environment variable NOT_SET_ANYWHERE")
    assert problems["bad"].startswith(f"{path}:6:1: 'url' must start with http://")
