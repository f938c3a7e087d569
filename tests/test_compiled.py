"""The wheel compiled with mypyc gives what the source gives, and the build stays safe.

A real wheel is built with the project's build hook (``hatch_build.py``), unpacked, and run
side by side with the source tree: the same commands must print the same bytes, pickles
must load across the two modes, and a plugin's calendar must still subclass the compiled
one. The build itself: an editable wheel is never compiled, no compiler means a pure
Python wheel, and compiled modules left in the source tree stop a build.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from slaengine.compiled import MODULES, compiled_modules

ROOT = Path(__file__).resolve().parent.parent
AT = "2025-12-03T16:00:00Z"
GENERATED_AT = "2025-12-01T00:00:00Z"
# Builds a wheel (or the editable wheel) of the tree in the working directory.
_BUILD = "import sys, hatchling.build as b; print(getattr(b, 'build_' + sys.argv[1])(sys.argv[2]))"


def _build(kind: str, out: Path, root: Path = ROOT, **env: str) -> tuple[Path | None, str]:
    """Build ``kind`` (``wheel`` or ``editable``) of ``root`` into ``out``: the wheel (None
    when the build failed) and what the build printed."""
    pytest.importorskip("hatchling")
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _BUILD, kind, str(out)],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    said = done.stdout + done.stderr
    return (out / done.stdout.split()[-1] if done.returncode == 0 else None), said


def _extensions(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return [name for name in archive.namelist() if name.endswith((".so", ".pyd"))]


def _can_compile() -> str | None:
    """Why C extensions cannot be built here (``None`` when they can)."""
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")[0]
    if shutil.which(os.environ.get("CC", compiler)) is None:
        return f"no C compiler ({compiler})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h)"
    return None


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled wheel, unpacked: a directory to put first on ``PYTHONPATH``."""
    pytest.importorskip("mypyc")
    reason = _can_compile()
    if reason is not None:
        pytest.skip(f"cannot compile C extensions: {reason}")
    base = tmp_path_factory.mktemp("compiled")
    wheel, said = _build("wheel", base / "dist", SLAENGINE_MYPYC="require")
    assert wheel is not None, said
    assert not wheel.name.endswith("-none-any.whl"), wheel.name
    tree = base / "tree"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tree)
    return tree


def _run(first: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python3 *args`` with ``first`` ahead of the rest of ``PYTHONPATH``."""
    path = os.pathsep.join(filter(None, [str(first), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _both(compiled: Path, *args: str) -> str:
    """What ``python3 -m slaengine *args`` prints compiled; it must be what the source
    prints, with the same exit status."""
    native = _run(compiled, "-m", "slaengine", *args)
    pure = _run(ROOT / "src", "-m", "slaengine", *args)
    assert native.returncode == pure.returncode, native.stderr + pure.stderr
    assert native.stdout == pure.stdout, args
    assert native.stdout
    return native.stdout


def test_the_wheel_runs_the_engine_compiled(compiled: Path) -> None:
    short = ", ".join(name.removeprefix("slaengine.") for name in MODULES)
    native = _run(compiled, "-m", "slaengine", "--version")
    assert native.stdout.endswith(f" (compiled with mypyc: {short})\n"), native.stderr
    pure = _run(ROOT / "src", "-m", "slaengine", "--version")
    assert pure.stdout.endswith(" (pure Python)\n"), pure.stderr


def test_compiled_and_pure_print_the_same(compiled: Path, tmp_path: Path) -> None:
    events = tmp_path / "generated.jsonl"
    made = _run(ROOT / "src", "-m", "slaengine", "generate", "-n", "1500", "--seed", "7",
                "--days", "60", "-o", str(events))  # fmt: skip
    assert made.returncode == 0, made.stderr
    bench = "benchmarks/policies/bench.yaml"
    for args in (
        ["evaluate", "-p", "policies/", "-e", "examples/tickets.jsonl", "--at", AT, "-f", "json",
         "--segments"],
        ["evaluate", "-p", "policies/", "-e", "examples/tickets.jsonl", "--at", AT],
        ["explain", "-p", "policies/", "-e", "examples/tickets.jsonl", "--at", AT,
         "--ticket", "T-1003"],
        ["evaluate", "-p", bench, "-e", str(events), "--at", GENERATED_AT, "-f", "json",
         "--segments"],
        ["evaluate", "-p", bench, "-e", str(events), "--at", GENERATED_AT, "-f", "csv"],
        # Two worker processes: policies go out and results come back pickled.
        ["evaluate", "-p", "policies/", "-e", str(events), "--at", GENERATED_AT, "-j", "2"],
        ["audit", "-p", bench, "-e", str(events), "--at", GENERATED_AT, "--json", "-j", "2"],
    ):  # fmt: skip
        _both(compiled, *args)


def test_compiled_writers_give_the_plain_paths_text(compiled: Path) -> None:
    # The JSON Lines and CSV writers, compiled, against json.dumps and the csv writer on
    # odd names, every state and offsets of minutes (the tests run with the wheel first).
    assert "slaengine.report.json" in MODULES
    done = _run(compiled, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_report_fastpaths.py", "tests/test_report_output.py")  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    checked = _run(compiled, "-c", "import slaengine.report.csv as c, slaengine.report.json as j;"
                   "print(c.__file__, j.__file__)")  # fmt: skip
    files = checked.stdout.split()
    assert len(files) == 2, checked.stdout + checked.stderr
    assert all(name.startswith(str(compiled)) for name in files), files
    assert not any(name.endswith(".py") for name in files), files


def test_compiled_readers_give_the_simplest_paths_answer(compiled: Path, tmp_path: Path) -> None:
    # The JSON Lines scanner runs only compiled (READS_IN_PLACE): hostile lines and files
    # read with the wheel first, against each line decoded and validated in full, and
    # evaluate streamed against the library (tests/test_differential_paths.py).
    from hostile_timelines import HARD_POLICIES, LAYOUTS, hostile_events

    reads = _run(compiled, "-c", "import slaengine.inputs.jsonl as j; print(j.READS_IN_PLACE)")
    assert reads.stdout.strip() == "True", reads.stderr
    chosen = "every_line or line_by_line or (prints_the_library_answer and seed2)"
    done = _run(compiled, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_differential_paths.py", "-k", chosen)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
    # The scanner's and the fast path's own tests, compiled: where they run.
    scanner = _run(compiled, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "tests/test_jsonl_scan.py", "tests/test_event_fastpath.py")  # fmt: skip
    assert scanner.returncode == 0, scanner.stdout[-3000:] + scanner.stderr[-3000:]
    assert " passed" in scanner.stdout
    # Calendars across daylight-saving changes in both hemispheres, overnight and split
    # shifts: the compiled engine's segments are the source's.
    hard = tmp_path / "hard.yaml"
    hard.write_text(HARD_POLICIES, encoding="utf-8")
    shuffled = next(layout for layout in LAYOUTS if layout.shuffled)
    events = shuffled.write(hostile_events(3), tmp_path, 3)
    for at in ("2025-11-02T07:00:00Z", "2026-04-20T00:00:00Z"):
        _both(compiled, "evaluate", "-p", str(hard), "-e", str(events), "--at", at, "-f", "json",
              "--segments", "-j", "2")  # fmt: skip


def test_compiled_parquet_rows_give_their_json_events(compiled: Path) -> None:
    # Parquet rows become events in one compiled loop (inputs.event_columns): with the
    # wheel first, odd cells, every instant form, grown dictionaries and row ranges read
    # as their JSON text reads.
    pytest.importorskip("pyarrow")
    loaded = _run(compiled, "-c", "import slaengine.inputs.event_columns as e; print(e.__file__)")
    assert loaded.stdout.strip().endswith((".so", ".pyd")), loaded.stdout + loaded.stderr
    done = _run(compiled, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_arrow_events.py", "tests/test_parquet_parts.py")  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout


# A compiled event's fields cannot be set or deleted (in the interpreter only mypy refuses).
_READ_ONLY_EVENT = """
import slaengine.compiled as c
from slaengine.timeline import Event
assert "slaengine.timeline" in c.compiled_modules()
event = Event("T-1", 1_764_583_200, "created", 3, 4, "e1", "email", "high", "open", "c", "g",
              "ann", ("vip",), None, "agent", True, None, None)
for change in (lambda: setattr(event, "at", 0), lambda: delattr(event, "ticket")):
    try:
        change()
    except AttributeError:
        continue
    raise SystemExit("a compiled event's field was changed")
print(event.at, event.ticket)
"""


def test_a_compiled_events_fields_are_read_only(compiled: Path) -> None:
    done = _run(compiled, "-c", _READ_ONLY_EVENT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["1764583200", "T-1"]


# Pickles policies and results (with their records) in one mode and loads them in the
# other; a plugin's calendar subclasses the (compiled) BusinessCalendar.
_PICKLES = """
import pickle, sys
import slaengine
from slaengine.compiled import describe
from slaengine.report.json import ticket_to_dict

class Plugin(slaengine.BusinessCalendar):
    name = "plugin"
    def open_before(self, t): return t // 2
    def add(self, start, seconds): return start + 2 * seconds

now = 1764777600  # 2025-12-03T16:00:00Z
if sys.argv[1] == "dump":
    policies = slaengine.load_policies("policies/")
    timelines = slaengine.read_events("examples/tickets.jsonl", policies.status_map)
    results = [slaengine.evaluate_timeline(policies, t, now, segments=True)
               for t in timelines.timelines.values()]
    plugin = Plugin()
    assert plugin.between(0, 100) == 50 and plugin.is_open(7) is True
    with open(sys.argv[2], "wb") as out:
        pickle.dump((policies, timelines, results, plugin), out)
else:
    with open(sys.argv[2], "rb") as stream:
        policies, timelines, results, plugin = pickle.load(stream)
    again = [slaengine.evaluate_timeline(policies, t, now, segments=True)
             for t in timelines.timelines.values()]
    assert [ticket_to_dict(r) for r in again] == [ticket_to_dict(r) for r in results]
    assert type(plugin).__name__ == "Plugin" and plugin.between(0, 100) == 50
print(describe())
"""


@pytest.mark.parametrize(("dumps", "loads"), [("compiled", "pure"), ("pure", "compiled")])
def test_pickles_load_in_the_other_mode(
    compiled: Path, tmp_path: Path, dumps: str, loads: str
) -> None:
    trees = {"compiled": compiled, "pure": ROOT / "src"}
    script = tmp_path / "pickles.py"
    # The plugin's class pickles by reference to __main__: both runs define it there.
    script.write_text(_PICKLES, encoding="utf-8")
    data = tmp_path / "data.pickle"
    wrote = _run(trees[dumps], str(script), "dump", str(data))
    assert wrote.returncode == 0, wrote.stderr
    assert wrote.stdout.startswith("compiled" if dumps == "compiled" else "pure"), wrote.stdout
    read = _run(trees[loads], str(script), "load", str(data))
    assert read.returncode == 0, read.stderr
    assert read.stdout.startswith("compiled" if loads == "compiled" else "pure"), read.stdout


def test_an_editable_install_is_never_compiled(tmp_path: Path) -> None:
    wheel, said = _build("editable", tmp_path, SLAENGINE_MYPYC="require")
    assert wheel is not None, said
    assert wheel.name.endswith("-py3-none-any.whl")
    assert _extensions(wheel) == []


def test_without_a_compiler_the_wheel_is_pure_python(tmp_path: Path) -> None:
    pytest.importorskip("mypyc")
    wheel, said = _build("wheel", tmp_path, CC=shutil.which("false") or "/bin/false")
    assert wheel is not None, said
    assert "not compiled with mypyc" in said
    assert wheel.name.endswith("-py3-none-any.whl")
    assert _extensions(wheel) == []
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {f"{name.replace('.', '/')}.py" for name in MODULES} <= names


def test_compiled_modules_in_the_source_tree_stop_a_build(tmp_path: Path) -> None:
    # A copy of the project with a compiled module left beside its source (an in-place
    # mypyc run): it would shadow the developer's edits, so no wheel is built.
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    (tmp_path / "src" / "slaengine" / f"clocks{suffix}").write_bytes(b"")
    for kind in ("wheel", "editable"):
        wheel, said = _build(kind, tmp_path / "dist", root=tmp_path, SLAENGINE_MYPYC="0")
        assert wheel is None
        assert "would shadow their sources" in said


def test_the_source_tree_holds_no_compiled_module() -> None:
    # Such a file runs instead of the .py beside it: edits would silently not take effect.
    package = ROOT / "src" / "slaengine"
    suffixes = (".so", ".pyd", sysconfig.get_config_var("EXT_SUFFIX") or ".so")
    assert sorted(str(p) for p in package.rglob("*") if p.name.endswith(suffixes)) == []


def _init_parameters(cls: type) -> list[tuple[str, object]]:
    signature = inspect.signature(cls.__init__)  # type: ignore[misc]
    return [(p.name, p.default) for p in list(signature.parameters.values())[1:]]


def _field_parameters(cls: type) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.default is not dataclasses.MISSING:
            default: object = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = inspect.Parameter.empty
        out.append((field.name, default))
    return out


def test_written_out_inits_match_their_dataclass_fields() -> None:
    # Hot classes write their __init__ out (compiled, the generated one runs as Python):
    # each must take the dataclass's fields, in order, with the same defaults. Compiled
    # methods carry no signature: the source is checked where it runs as Python.
    if compiled_modules():
        pytest.skip("compiled: the __init__ signatures are read from the pure Python run")
    written = 0
    for name in MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if not (isinstance(value, type) and value.__module__ == name):
                continue
            if not dataclasses.is_dataclass(value):
                continue
            code = getattr(value.__dict__.get("__init__"), "__code__", None)
            if code is not None and code.co_filename == "<string>":
                continue  # generated by dataclasses (a written-out one compiled has no code)
            written += 1
            assert _init_parameters(value) == _field_parameters(value), value
    assert written >= 5  # RawClock, ClockResult, Alert, TicketState, Timeline, TicketResult


def test_written_out_inits_build_what_the_fields_say() -> None:
    from slaengine.clocks import Alert, ClockResult
    from slaengine.engine import TicketResult
    from slaengine.timeline import TicketState, Timeline

    state = TicketState("t1", 10, "email", "high", "open")
    assert state.tags == frozenset()
    assert state.fields == {}
    assert state.customer is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.status = "closed"  # type: ignore[misc]
    alert = Alert("warning", 1, None)
    assert alert.notify == ()
    assert alert == Alert("warning", 1, None, ())
    assert hash(alert) == hash(Alert("warning", 1, None))
    clock = ClockResult("first_response", 1, "active", 0, 60, None, None, 5, 0, 60, "high", "c")
    assert clock.record is None
    assert clock.misses is None
    assert clock.pauses == ()
    assert dataclasses.replace(clock, elapsed=7).elapsed == 7
    result = TicketResult("t1", state, None, (clock,))
    assert result.exemptions == ()
    assert result.clocks == (clock,)
    assert Timeline("t1", ()).events == ()
