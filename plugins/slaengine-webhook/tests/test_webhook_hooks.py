"""The plugin through slaengine's plugin manager: configure, register, deliver."""

from __future__ import annotations

import json

import pytest
import structlog
from slaengine_webhook import hooks
from slaengine_webhook.client import WebhookError
from webhook_receiver import Answer

from slaengine.hookspecs import hookimpl
from slaengine.plugins import make_plugins


def _plugins():
    return make_plugins(entry_points=False, plugins=[("webhook", hooks)])


def _config(**targets: object) -> dict[str, object]:
    return {"plugins": {"webhook": {"targets": targets}}}


def test_configured_targets_become_notifiers_that_deliver(receiver, breach, monkeypatch):
    monkeypatch.setenv("SLA_WEBHOOK_SECRET", "s3cret")
    plugins = _plugins()
    plugins.configure(
        _config(
            **{
                "team-lead": {"url": receiver.url, "secret_env": "SLA_WEBHOOK_SECRET"},
                "leads-slack": {"url": receiver.url, "format": "slack", "description": "#leads"},
            }
        )
    )

    notifiers = plugins.notifiers()

    assert sorted(notifiers) == ["leads-slack", "team-lead"]
    assert notifiers["leads-slack"].description == "#leads"
    assert notifiers["team-lead"].description.startswith("webhook http://127.0.0.1:")
    assert {n.plugin for n in notifiers.values()} == {"webhook"}
    notifiers["team-lead"].deliver(breach)
    notifiers["leads-slack"].deliver(breach)
    first, second = receiver.requests
    assert json.loads(first.body)["target"] == "team-lead"
    assert "X-Slaengine-Signature" in first.headers
    assert "blocks" in json.loads(second.body)
    assert plugins.failures == []


def test_bad_targets_are_logged_and_skipped_the_others_work(receiver, monkeypatch):
    monkeypatch.delenv("SLA_MISSING_SECRET", raising=False)
    plugins = _plugins()
    with structlog.testing.capture_logs() as logs:
        plugins.configure(
            _config(
                good={"url": receiver.url},
                scheme={"url": "ftp://example.com/"},
                secretless={"url": receiver.url, "secret_env": "SLA_MISSING_SECRET"},
                typo={"url": receiver.url, "fromat": "slack"},
            )
        )

    assert sorted(plugins.notifiers()) == ["good", "secretless"]
    skipped = {e["target"]: e for e in logs if e["event"] == "webhook target skipped"}
    assert sorted(skipped) == ["scheme", "typo"]
    assert all(entry["log_level"] == "error" for entry in skipped.values())
    assert "did you mean 'format'?" in skipped["typo"]["problem"]
    [unsigned] = [e for e in logs if e["event"] == "webhook target cannot sign"]
    assert (unsigned["target"], unsigned["log_level"]) == ("secretless", "error")
    assert "SLA_MISSING_SECRET" in unsigned["problem"]
    assert plugins.failures == []  # a configuration mistake is not a crash


def test_a_target_without_its_secret_fails_every_delivery_and_sends_nothing(
    receiver, breach, monkeypatch
):
    monkeypatch.delenv("SLA_MISSING_SECRET", raising=False)
    plugins = _plugins()
    plugins.configure(_config(lead={"url": receiver.url, "secret_env": "SLA_MISSING_SECRET"}))

    with pytest.raises(WebhookError, match=r"SLA_MISSING_SECRET .* is not set"):
        plugins.notifiers()["lead"].deliver(breach)
    assert receiver.requests == []


@pytest.mark.parametrize("config", [{}, {"plugins": {"jsonl": {}}}], ids=["empty", "other-plugin"])
def test_without_its_table_the_plugin_registers_nothing(config):
    plugins = _plugins()
    plugins.configure(config)
    assert plugins.notifiers() == {}
    assert plugins.failures == []


def test_configure_again_replaces_the_targets(receiver):
    plugins = _plugins()
    plugins.configure(_config(first={"url": receiver.url}))
    assert list(plugins.notifiers()) == ["first"]

    plugins.configure(_config(second={"url": receiver.url}))
    assert list(plugins.notifiers()) == ["second"]


def test_a_failing_delivery_raises_for_the_outbox_to_retry(receiver, breach):
    receiver.answers.append(Answer(401, body=b"bad signature"))
    plugins = _plugins()
    plugins.configure(_config(lead={"url": receiver.url, "secret": "x"}))

    with pytest.raises(WebhookError, match="HTTP 401 Unauthorized: bad signature"):
        plugins.notifiers()["lead"].deliver(breach)


class _Broken:
    @hookimpl
    def slaengine_configure(self, config):
        raise RuntimeError("broken plugin")

    @hookimpl
    def slaengine_register_notifiers(self, register):
        raise RuntimeError("broken plugin")


def test_another_plugin_failing_does_not_stop_this_one(receiver):
    plugins = make_plugins(entry_points=False, plugins=[("broken", _Broken()), ("webhook", hooks)])
    plugins.configure(_config(lead={"url": receiver.url}))

    assert list(plugins.notifiers()) == ["lead"]
    assert {(f.plugin, f.hook) for f in plugins.failures} == {
        ("broken", "slaengine_configure"),
        ("broken", "slaengine_register_notifiers"),
    }
