"""The plugin through slaengine's plugin manager, and its configuration."""

from __future__ import annotations

import json

import pytest
import structlog
from slaengine_jsonl import hooks
from slaengine_jsonl.config import ConfigError, SourceSettings, load_sources, parse_source
from slaengine_jsonl.reader import JsonlSource

from slaengine.config import load_config
from slaengine.plugins import make_plugins


def _plugins():
    return make_plugins(entry_points=False, plugins=[("jsonl", hooks)])


def _config(**sources: object) -> dict[str, object]:
    return {"plugins": {"jsonl": {"sources": sources}}}


def test_configured_sources_are_registered_and_read(tmp_path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "01.jsonl").write_text(json.dumps({"ticket": "T-1"}) + "\n")
    (tmp_path / "single.jsonl").write_text(json.dumps({"ticket": "T-2"}) + "\n")
    plugins = _plugins()
    plugins.configure(
        _config(
            helpdesk={"path": str(tmp_path / "inbox")},
            legacy={"path": str(tmp_path / "single.jsonl"), "pattern": "*.json"},
        )
    )

    sources = plugins.sources()

    assert sorted(sources) == ["helpdesk", "legacy"]
    assert all(isinstance(s.source, JsonlSource) for s in sources.values())
    assert [r.payload for r in sources["helpdesk"].read(None, 10).records] == [{"ticket": "T-1"}]
    assert [r.payload for r in sources["legacy"].read(None, 10).records] == [{"ticket": "T-2"}]
    assert plugins.failures == []


def test_bad_sources_are_logged_and_skipped_the_others_work(tmp_path):
    plugins = _plugins()
    with structlog.testing.capture_logs() as logs:
        plugins.configure(
            _config(
                good={"path": str(tmp_path)},
                nopath={"pattern": "*.jsonl"},
                typo={"path": str(tmp_path), "patern": "*.jsonl"},
                nested={"path": str(tmp_path), "pattern": "a/*.jsonl"},
            )
        )

    assert list(plugins.sources()) == ["good"]
    skipped = {e["source"]: e["problem"] for e in logs if e["event"] == "jsonl source skipped"}
    assert sorted(skipped) == ["nested", "nopath", "typo"]
    assert "'path' is required" in skipped["nopath"]
    assert "did you mean 'pattern'?" in skipped["typo"]
    assert "'pattern' must be a file name pattern" in skipped["nested"]
    assert plugins.failures == []


def test_a_missing_path_is_a_warning_not_a_skip(tmp_path):
    plugins = _plugins()
    with structlog.testing.capture_logs() as logs:
        plugins.configure(_config(later={"path": str(tmp_path / "not-yet")}))

    assert list(plugins.sources()) == ["later"]
    assert [(e["log_level"], e["source"]) for e in logs] == [("warning", "later")]


@pytest.mark.parametrize(
    "config",
    [{}, {"plugins": {"webhook": {}}}, {"plugins": {"jsonl": {}}}],
    ids=["empty", "other-plugin", "empty-table"],
)
def test_without_sources_the_plugin_registers_nothing(config):
    plugins = _plugins()
    plugins.configure(config)
    assert plugins.sources() == {}
    assert plugins.failures == []


def test_plugin_level_mistakes_are_reported():
    loaded = load_sources({"plugins": {"jsonl": {"source": {}, "sources": {"x": 3}}}})
    assert loaded.sources == []
    assert loaded.problems == [
        (None, "unknown setting 'source' in [plugins.jsonl] (expected sources)"),
        ("x", "expected a table of settings, got int"),
    ]


def test_parse_source_defaults_and_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = parse_source("s", {"path": "~/events"})
    assert settings == SourceSettings("s", tmp_path / "events", "*.jsonl")
    with pytest.raises(ConfigError, match="'path' is required"):
        parse_source("s", {"path": ""})


def test_mistakes_in_a_settings_file_name_their_line(tmp_path):
    path = tmp_path / "slaengine.toml"
    path.write_text(
        '[plugins.jsonl]\nsource = 1\n\n[plugins.jsonl.sources.inbox]\npath = "x"\npatern = "*"\n'
        "\n[plugins.jsonl.sources.empty]\n",
        encoding="utf-8",
    )
    problems = load_sources(load_config(path)).problems
    assert [(name, text.split(": ", 1)[0]) for name, text in problems] == [
        (None, f"{path}:2:1"),  # the unknown key's own line
        ("inbox", f"{path}:6:1"),
        ("empty", f"{path}:8:1"),  # nothing to point at but the table
    ]
    assert problems[1][1].endswith("did you mean 'pattern'? (expected path, pattern)")
