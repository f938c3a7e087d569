"""The hook contract plugin authors rely on: pluggy calls, refused misspellings, allow-lists."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    live_policies_fixture,
)
from slaengine import hookspecs
from slaengine.hookspecs import hookimpl
from slaengine.inbox import Delivery, Inbox
from slaengine.live import Store
from slaengine.notifications import BREACH, Notification
from slaengine.plugins import PluginError, make_plugins
from slaengine.sources import SourceBatch
from test_hooks_docs import public_modules
from test_live_worker import Clock, ListSource, make_worker

ROOT = Path(__file__).resolve().parent.parent
# What a plugin may import: the modules docs/hooks.md lists, and only the names in their __all__.
PUBLIC_MODULES = public_modules()


class FewArguments:
    """Valid implementations that declare fewer arguments than their specs."""

    def __init__(self) -> None:
        self.configured = 0
        self.breaches = 0

    @hookimpl
    def slaengine_configure(self) -> None:
        self.configured += 1

    @hookimpl
    def slaengine_on_breach(self) -> None:
        self.breaches += 1


class Misspelt:
    @hookimpl
    def slaengine_register_calendar(self, register):  # no such hook: calendars
        raise AssertionError("never called")


class Unmarked:
    def slaengine_configure(self, config):  # no @hookimpl: pluggy never calls it
        raise AssertionError("never called")


def _breach() -> Notification:
    return Notification(BREACH, "T-1", "p", "first_response", 1, 0, 100, 100, "high")


def test_an_implementation_may_declare_fewer_arguments():
    plugin = FewArguments()
    plugins = make_plugins(entry_points=False, plugins=[("few", plugin)])
    plugins.configure({"plugins": {}})
    for subscriber in plugins.subscribers(BREACH):
        subscriber.call(_breach())
    assert plugins.failures == []
    assert (plugin.configured, plugin.breaches) == (1, 1)


def test_one_failing_implementation_spares_the_others():
    class Failing:
        @hookimpl
        def slaengine_configure(self, config):
            raise RuntimeError("bad settings")

    good = FewArguments()
    plugins = make_plugins(entry_points=False, plugins=[("bad", Failing()), ("good", good)])
    plugins.configure({})
    assert good.configured == 1
    assert [(f.plugin, f.hook) for f in plugins.failures] == [("bad", "slaengine_configure")]


def test_a_misspelt_hook_is_refused_with_a_suggestion():
    with pytest.raises(PluginError) as caught:
        make_plugins(entry_points=False, plugins=[("typo", Misspelt())])
    message = str(caught.value)
    assert "'typo'" in message
    assert "slaengine_register_calendar," in message
    assert "did you mean 'slaengine_register_calendars'" in message


def test_a_misspelt_entry_point_is_recorded_and_not_registered(tmp_path, monkeypatch):
    (tmp_path / "typo_plugin.py").write_text(
        "from slaengine.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef slaengine_on_breech(notification):\n    pass\n",
        encoding="utf-8",
    )
    info = tmp_path / "typoplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: typoplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[slaengine]\ntypoplug = typo_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = make_plugins(environ={"SLAENGINE_PLUGINS": "typoplug"})
    assert "typoplug" not in {info.name for info in plugins.describe()}
    [failure] = plugins.failures
    assert failure.plugin == "typoplug"
    assert "did you mean 'slaengine_on_breach'" in failure.error


def test_an_unmarked_hook_function_is_a_warning():
    with capture_logs() as logs:
        plugins = make_plugins(entry_points=False, plugins=[("unmarked", Unmarked())])
        plugins.configure({})
    assert plugins.failures == []
    [warning] = [log for log in logs if log.get("function") == "slaengine_configure"]
    assert warning["log_level"] == "warning"
    assert warning["plugin"] == "unmarked"


@pytest.mark.parametrize("value", ["", " , ,", ","], ids=["empty", "blanks", "comma"])
def test_a_blank_allow_list_loads_no_plugin(value):
    plugins = make_plugins(environ={"SLAENGINE_PLUGINS": value})
    origins = {info.origin for info in plugins.describe()}
    assert origins == {"builtin"}


def test_an_unknown_name_in_the_allow_list_is_a_warning():
    installed = {entry.name for entry in importlib.metadata.entry_points(group="slaengine")}
    assert "webhook" in installed, "the bundled webhook plugin is installed for the tests"
    with capture_logs() as logs:
        make_plugins(environ={"SLAENGINE_PLUGINS": "webhok"})
    [warning] = [log for log in logs if log.get("plugin") == "webhok"]
    assert warning["log_level"] == "warning"
    assert "did you mean 'webhook'" in warning["event"]


@pytest.fixture
def default_logging():
    """structlog's defaults (a CLI test may have set a warning-level filter), restored after."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    yield
    structlog.configure(**saved)


@pytest.mark.usefixtures("default_logging")
def test_trace_uses_pluggys_tracing():
    with capture_logs() as logs:
        plugins = make_plugins(
            entry_points=False,
            plugins=[("few", FewArguments())],
            environ={"SLAENGINE_TRACE_HOOKS": "1"},
        )
        plugins.configure({"a": 1})
    calls = [log["call"] for log in logs if log["event"] == "hook trace"]
    assert any("slaengine_configure" in call for call in calls)


@pytest.mark.usefixtures("default_logging")
def test_trace_logs_the_settings_by_table_never_their_values():
    with capture_logs() as logs:
        plugins = make_plugins(
            entry_points=False,
            plugins=[("few", FewArguments())],
            environ={"SLAENGINE_TRACE_HOOKS": "1"},
        )
        plugins.configure({"serve": {"token": "hunter2"}, "plugins": {"few": {"secret": "s3"}}})
    calls = " ".join(log["call"] for log in logs if log["event"] == "hook trace")
    assert "<settings: serve, plugins>" in calls
    assert "hunter2" not in calls
    assert "s3" not in calls


def test_a_plugin_changing_its_settings_changes_them_for_no_other():
    seen = []

    class Changes:
        @hookimpl
        def slaengine_configure(self, config):
            config["plugins"]["shared"]["url"] = "changed"

    class Reads:
        @hookimpl
        def slaengine_configure(self, config):
            seen.append(config["plugins"]["shared"]["url"])

    settings = {"plugins": {"shared": {"url": "http://a"}}}
    plugins = make_plugins(entry_points=False, plugins=[("a", Changes()), ("b", Reads())])
    plugins.configure(settings)
    assert seen == ["http://a"]
    assert settings["plugins"]["shared"]["url"] == "http://a"


def test_inboxes_and_performers_are_collected():
    inbox = Inbox("acme", "Acme desk", lambda payload: Delivery(ignored="ping"))
    performed: list[str] = []

    class Desk:
        @hookimpl
        def slaengine_register_inboxes(self, register):
            register(inbox)

        @hookimpl
        def slaengine_register_actions(self, register):
            register("acme", lambda notification: performed.append(notification.key))

    plugins = make_plugins(entry_points=False, plugins=[("desk", Desk())])
    assert plugins.inboxes()["acme"] is inbox
    performer = plugins.performers()["acme"]
    assert performer.plugin == "desk"
    performer.perform(_breach())
    assert performed == ["T-1/first_response/1/breach/0"]


def test_registering_something_else_as_an_inbox_fails_that_plugin_only():
    class Wrong:
        @hookimpl
        def slaengine_register_inboxes(self, register):
            register("acme")

    plugins = make_plugins(entry_points=False, plugins=[("wrong", Wrong())])
    assert "acme" not in plugins.inboxes()
    assert [f.plugin for f in plugins.failures] == ["wrong"]


def test_a_hook_that_raises_contributes_nothing_it_registered_first():
    class Halfway:
        @hookimpl
        def slaengine_register_notifiers(self, register):
            register("lead", "registered before the failure", print)
            raise RuntimeError("settings backend down")

    class Other:
        @hookimpl
        def slaengine_register_notifiers(self, register):
            register("ops", "a good plugin", print)

    plugins = make_plugins(entry_points=False, plugins=[("half", Halfway()), ("other", Other())])
    assert sorted(plugins.notifiers()) == ["ops"]
    assert [(f.plugin, f.hook) for f in plugins.failures] == [
        ("half", "slaengine_register_notifiers")
    ]


def test_a_plugin_that_calls_sys_exit_is_a_failure_not_an_exit():
    class Exits:
        @hookimpl
        def slaengine_configure(self, config):
            raise SystemExit(3)

    good = FewArguments()
    plugins = make_plugins(entry_points=False, plugins=[("exits", Exits()), ("good", good)])
    plugins.configure({})
    assert good.configured == 1
    assert [(f.plugin, f.hook) for f in plugins.failures] == [("exits", "slaengine_configure")]


def test_an_argument_the_hook_does_not_pass_is_refused_in_one_line():
    class Typo:
        @hookimpl
        def slaengine_on_breach(self, notificaton):
            raise AssertionError("never called")

    with pytest.raises(PluginError) as caught:
        make_plugins(entry_points=False, plugins=[("typo", Typo())])
    message = str(caught.value)
    assert "\n" not in message
    assert "'typo'" in message
    assert "slaengine_on_breach takes notificaton" in message
    assert "did you mean 'notification'" in message


def _install(folder: Path, name: str, body: str) -> None:
    """A distribution ``name`` 1.0 in ``folder`` whose entry point is module ``name``."""
    folder.mkdir()
    (folder / f"{name}.py").write_text(body, encoding="utf-8")
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[slaengine]\n{name} = {name}\n")


def test_entry_points_load_by_name_whatever_the_install_order(tmp_path, monkeypatch):
    # Both register target "lead"; the first registration wins, so the order must be stable.
    body = (
        "from slaengine.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef slaengine_register_notifiers(register):\n"
        "    register('lead', __name__)\n"
    )
    for name in ("aplug", "zplug"):
        _install(tmp_path / name, name, body)
    # zplug's folder ends up first on sys.path, so discovery finds zplug first.
    monkeypatch.syspath_prepend(str(tmp_path / "aplug"))
    monkeypatch.syspath_prepend(str(tmp_path / "zplug"))
    found = [e.name for e in importlib.metadata.entry_points(group="slaengine")]
    assert found.index("zplug") < found.index("aplug"), "the test needs zplug discovered first"
    plugins = make_plugins(environ={"SLAENGINE_PLUGINS": "aplug,zplug"})
    assert plugins.notifiers()["lead"].plugin == "aplug"


def _imports(path: Path) -> list[tuple[str, str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] == "slaengine"
        ):
            found.extend((node.module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(
                (alias.name, "", node.lineno)
                for alias in node.names
                if alias.name.split(".")[0] == "slaengine" and alias.name != "slaengine"
            )
    return found


def test_bundled_plugins_import_only_the_public_api():
    sources = sorted(ROOT.glob("plugins/*/src/**/*.py"))
    assert sources, "no bundled plugin sources found"
    wrong = []
    for path in sources:
        for module, name, line in _imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module not in PUBLIC_MODULES:
                wrong.append(f"{where}: {module} is not public")
            elif name and name not in importlib.import_module(module).__all__:
                wrong.append(f"{where}: {module}.{name} is not in __all__")
    assert wrong == []


def test_every_hook_spec_is_prefixed_and_exported():
    specs = sorted(
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, hookspecs.PROJECT + "_spec")
    )
    assert len(specs) >= 10
    assert [name for name in specs if not name.startswith("slaengine_")] == []
    assert set(specs) <= set(hookspecs.__all__)
    manager = make_plugins(entry_points=False).manager
    assert sorted(n for n in dir(manager.hook) if not n.startswith("_")) == specs


def test_only_the_plugin_facade_calls_hooks():
    # Core code calls hooks through slaengine.plugins (pluggy underneath), never an
    # implementation directly: no other module reaches pluggy's manager or its hook callers.
    reaching = re.compile(r"\.hook\.|get_hookimpls|subset_hook_caller|^\s*(import|from) pluggy")
    allowed = {"plugins.py", "hookspecs.py"}
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "src" / "slaengine").rglob("*.py"))
        if path.name not in allowed
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if reaching.search(line)
    ]
    assert found == []


class WrongAnswers:
    """Sources whose read answers what no worker can read."""

    @hookimpl
    def slaengine_register_sources(self, register):
        class ListAnswer:
            name = "list-answer"

            def read(self, cursor, limit):
                return ["not a batch"]

        class DictRecords:
            name = "dict-records"

            def read(self, cursor, limit):
                return SourceBatch(({"ticket": "T-1"},), "1")

        register(ListAnswer())
        register(DictRecords())


def test_a_source_answering_the_wrong_type_fails_alone(live_policies, tmp_path):
    desk = ListSource("desk")
    desk.add(created("T-1"))

    class Desk:
        @hookimpl
        def slaengine_register_sources(self, register):
            register(desk)

    plugins = make_plugins(
        entry_points=False, plugins=[("wrong", WrongAnswers()), ("desk", Desk())]
    )
    sources = plugins.sources()
    assert sources["desk"].source is desk
    store = Store.open(str(tmp_path / "state.db"))
    worker = make_worker(live_policies, store, sources, Clock(at(1)))
    try:
        with capture_logs() as logs:
            report = worker.cycle()
    finally:
        store.close()
    assert report.ingested == 1  # the good source's event
    failed = {log["source"]: log["error"] for log in logs if log["event"] == "source read failed"}
    assert sorted(failed) == ["dict-records", "list-answer"]
    assert "read returned list, expected a slaengine.sources.SourceBatch" in failed["list-answer"]
    assert "record of type dict" in failed["dict-records"]


class Lifecycle:
    """Records the worker's start and stop hooks; ``fail`` makes both raise it."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.heard: list[str] = []
        self.fail = fail

    @hookimpl
    def slaengine_on_worker_start(self) -> None:
        self.heard.append("start")
        if self.fail is not None:
            raise self.fail

    @hookimpl
    def slaengine_on_worker_stop(self) -> None:
        self.heard.append("stop")
        if self.fail is not None:
            raise self.fail


def test_the_worker_tells_plugins_it_starts_and_stops_each_failure_alone(live_policies, tmp_path):
    exiting, raising, quiet = Lifecycle(SystemExit(4)), Lifecycle(RuntimeError("no")), Lifecycle()
    plugins = make_plugins(
        entry_points=False, plugins=[("a", exiting), ("b", raising), ("c", quiet)]
    )
    desk = ListSource("desk")
    desk.add(created("T-1"))
    store = Store.open(str(tmp_path / "state.db"))
    worker = make_worker(live_policies, store, {"desk": desk}, Clock(at(1)))
    worker.plugins = plugins
    try:
        assert worker.cycle().ingested == 1
        assert quiet.heard == []  # a cycle alone is no start
        assert worker.run(cycles=1) == 1
    finally:
        store.close()
    for plugin in (exiting, raising, quiet):
        assert plugin.heard == ["start", "stop"]
    failed = sorted((f.plugin, f.hook, f.error) for f in plugins.failures)
    assert failed == [
        ("a", "slaengine_on_worker_start", "SystemExit(4)"),
        ("a", "slaengine_on_worker_stop", "SystemExit(4)"),
        ("b", "slaengine_on_worker_start", "RuntimeError('no')"),
        ("b", "slaengine_on_worker_stop", "RuntimeError('no')"),
    ]


def test_a_worker_ending_with_an_error_still_tells_plugins_it_stopped(live_policies, tmp_path):
    quiet = Lifecycle()
    plugins = make_plugins(entry_points=False, plugins=[("c", quiet)])
    store = Store.open(str(tmp_path / "state.db"))
    worker = make_worker(live_policies, store, {}, Clock(at(1)))
    worker.plugins = plugins
    store.close()  # the state database goes away: the first cycle fails
    with pytest.raises(Exception, match="closed"):
        worker.run()
    assert quiet.heard == ["start", "stop"]


def test_listing_plugins_calls_no_worker_hook():
    quiet = Lifecycle()
    plugins = make_plugins(entry_points=False, plugins=[("c", quiet)])
    plugins.describe()
    for collect in (plugins.sources, plugins.notifiers, plugins.importers, plugins.inboxes):
        collect()
    assert quiet.heard == []
