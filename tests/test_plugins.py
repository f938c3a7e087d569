"""Plugins: discovery, explicit registration, isolation of failures, documented hooks."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

import slaengine
from slaengine import hookspecs
from slaengine.calendar import Shift, WeeklyCalendar
from slaengine.cli import main
from slaengine.hookspecs import hookimpl
from slaengine.importers import Importer
from slaengine.plugins import BUILTIN, make_plugins

ROOT = Path(__file__).resolve().parent.parent
POLICY = """
policies:
  - name: lisbon
    calendar: office-lisbon
    metrics: {first_response: {targets: 1h}}
"""


class CalendarPlugin:
    @hookimpl
    def slaengine_register_calendars(self, register):
        shifts = {day: [Shift(9 * 60, 17 * 60)] for day in range(5)}
        register("office-lisbon", WeeklyCalendar("office-lisbon", "Europe/Lisbon", shifts))


class BrokenPlugin:
    @hookimpl
    def slaengine_register_calendars(self, register):
        raise RuntimeError("backend down")

    @hookimpl
    def slaengine_register_importers(self, register):
        register(Importer("twitter", "a second twitter", lambda path, options: iter(())))
        register(Importer("mine", "my importer", lambda path, options: iter(())))


def test_every_hook_is_documented():
    hooks = sorted(name for name in dir(hookspecs) if name.startswith("slaengine_"))
    assert hooks, "no hooks found"
    documented = set(
        re.findall(
            r"^### (slaengine_\w+)",
            (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    )
    assert sorted(set(hooks) - documented) == []
    for name in hooks:
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"


def test_builtin_importers_come_through_the_hook():
    plugins = make_plugins(entry_points=False)
    assert sorted(plugins.importers()) == [
        "csv",
        "freshdesk",
        "servicenow",
        "twitter",
        "volvo",
        "zendesk",
    ]
    (info,) = plugins.describe()
    assert info.name == BUILTIN
    assert info.hooks == ("slaengine_register_importers", "slaengine_register_inboxes")


def test_registered_calendar_is_usable_by_policies():
    plugins = make_plugins(entry_points=False, plugins=[("lisbon", CalendarPlugin())])
    policies = slaengine.loads_policies(POLICY, calendars=plugins.calendars())
    assert policies.policies[0].calendar.name == "office-lisbon"
    with pytest.raises(slaengine.PolicyError) as caught:
        slaengine.loads_policies(POLICY, "p.yaml")
    (problem,) = caught.value.problems
    assert (problem.code, problem.line) == ("E301", 4)


def test_policy_file_calendar_wins_over_a_plugin_calendar():
    plugins = make_plugins(entry_points=False, plugins=[("lisbon", CalendarPlugin())])
    text = POLICY + "calendars:\n  office-lisbon: {timezone: UTC, hours: {mon: 09:00-10:00}}\n"
    policies = slaengine.loads_policies(text, calendars=plugins.calendars())
    calendar = policies.policies[0].calendar
    assert isinstance(calendar, WeeklyCalendar)
    assert calendar.timezone == "UTC"


def test_a_failing_plugin_is_isolated_and_recorded():
    plugins = make_plugins(
        entry_points=False, plugins=[("broken", BrokenPlugin()), ("lisbon", CalendarPlugin())]
    )
    assert sorted(plugins.calendars()) == ["office-lisbon"]
    importers = plugins.importers()
    assert sorted(importers) == [
        "csv",
        "freshdesk",
        "mine",
        "servicenow",
        "twitter",
        "volvo",
        "zendesk",
    ]
    assert importers["twitter"].description != "a second twitter"  # built-in registered first
    assert [(f.plugin, f.hook) for f in plugins.failures] == [
        ("broken", "slaengine_register_calendars")
    ]
    assert "backend down" in plugins.failures[0].error


@pytest.fixture
def installed_plugins(tmp_path, monkeypatch):
    """Two plugins installed as distributions with entry points, one of them broken."""
    for name, module, body in (
        (
            "lisbonplug",
            "lisbon_calendars",
            """
            from slaengine.calendar import Shift, WeeklyCalendar
            from slaengine.hookspecs import hookimpl

            @hookimpl
            def slaengine_register_calendars(register):
                shifts = {day: [Shift(540, 1020)] for day in range(5)}
                register("office-lisbon", WeeklyCalendar("office-lisbon", "Europe/Lisbon", shifts))
            """,
        ),
        ("brokenplug", "broken_on_import", "raise ImportError('missing dependency')\n"),
    ):
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")
        info = tmp_path / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[slaengine]\n{name} = {module}\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_entry_points_load_with_versions_and_failures(installed_plugins):
    plugins = make_plugins(environ={})
    infos = {info.name: info for info in plugins.describe()}
    assert infos["lisbonplug"].origin == "entry point"
    assert infos["lisbonplug"].version == "1.0"
    assert "office-lisbon" in plugins.calendars()
    assert [f.plugin for f in plugins.failures] == ["brokenplug"]


@pytest.mark.parametrize(
    ("environ", "loaded"),
    [
        ({"SLAENGINE_PLUGINS": "lisbonplug"}, {"lisbonplug"}),
        ({"SLAENGINE_DISABLE_PLUGINS": "lisbonplug,brokenplug"}, set()),
        ({"SLAENGINE_PLUGINS": "lisbonplug", "SLAENGINE_DISABLE_PLUGINS": "lisbonplug"}, set()),
    ],
    ids=["allow-list", "block-list", "block-wins"],
)
def test_allow_and_block_lists(installed_plugins, environ, loaded):
    plugins = make_plugins(environ=environ)
    # Only this test's two distributions are under test; bundled plugins may be installed too.
    names = {info.name for info in plugins.describe()} & {"lisbonplug", "brokenplug"}
    assert names == loaded
    assert plugins.failures == []


def test_plugins_command_lists_builtin(capsys):
    assert main(["plugins", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert BUILTIN in [p["name"] for p in doc["plugins"]]
    assert {"servicenow", "twitter", "volvo"} <= set(doc["importers"])
    assert doc["inboxes"] == ["chatwoot", "freshdesk", "front", "intercom", "zendesk"]
    assert "action_performers" in doc


class NotifierPlugin:
    @hookimpl
    def slaengine_register_notifiers(self, register):
        register("shift-lead", "Slack #shift-leads")
        register("support-manager", "email")


ALERT_POLICY = """policies:
  - name: chat
    metrics:
      first_response:
        targets: 1h
        escalations: [{after: 0m, notify: [shift-lead, suport-manager]}]
"""


def test_notify_targets_must_be_registered():
    plugins = make_plugins(entry_points=False, plugins=[("notify", NotifierPlugin())])
    assert {n: t.description for n, t in plugins.notifiers().items()} == {
        "shift-lead": "Slack #shift-leads",
        "support-manager": "email",
    }
    fixed = ALERT_POLICY.replace("suport-manager", "support-manager")
    slaengine.loads_policies(fixed, notifiers=plugins.notifiers())
    with pytest.raises(slaengine.PolicyError) as caught:
        slaengine.loads_policies(ALERT_POLICY, "p.yaml", notifiers=plugins.notifiers())
    (problem,) = caught.value.problems
    assert (problem.code, problem.line, problem.column) == ("E305", 6, 56)
    assert "did you mean 'support-manager'" in problem.message


def test_without_a_notifier_plugin_check_says_what_is_missing(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(ALERT_POLICY, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:6:44: E305 unknown notify target 'shift-lead'" in out
    assert "no notify target is registered: notifier plugins register the targets of" in out
    # Loading from Python without notifiers= does not check names.
    assert slaengine.loads_policies(ALERT_POLICY).policies[0].name == "chat"


def test_e305_says_why_a_configured_target_is_missing(tmp_path, capsys, monkeypatch):
    """A target its plugin left out for a wrong setting, or whose plugin is not loaded,
    is named with its table; a webhook 'timeout' of "30s" is no mistake."""
    settings = tmp_path / "slaengine.toml"
    settings.write_text(
        '[plugins.webhook.targets.shift-lead]\nurl = "http://127.0.0.1:9/x"\ntimeout = "30s"\n'
        '\n[plugins.webhook.targets.suport-manager]\nurl = "ftp://127.0.0.1/x"\n'
        '\n[plugins.pager.targets.night]\nkey = "x"\n',
        encoding="utf-8",
    )
    path = tmp_path / "p.yaml"
    path.write_text(ALERT_POLICY.replace("suport-manager]", "suport-manager, night]"))
    monkeypatch.setenv("SLAENGINE_PLUGINS", "webhook")
    assert main(["check", str(path), "--config", str(settings)]) == 1
    out = capsys.readouterr().out
    found = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith(str(path))]
    assert found == [
        "E305 unknown notify target 'suport-manager': [plugins.webhook.targets.suport-manager]"
        f" ({settings}:5:1) sets it up, but the webhook plugin left it out because a setting of"
        " it is wrong (its error, logged when the settings were read, names the setting)",
        f"E305 unknown notify target 'night': [plugins.pager.targets.night] ({settings}:8:1)"
        " sets it up, but no plugin named 'pager' is loaded (see 'slaengine plugins')",
    ]
