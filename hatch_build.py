"""Wheel build hook: compile the clock engine's modules with mypyc when possible.

Only a regular wheel (``pip install .``, ``python -m build``) is compiled; an editable
install (``pip install -e .``) never is, so a developer's edits always run and no
compiled module can go stale next to its source. The modules are compiled in a
temporary directory and added to the wheel beside their ``.py`` files, which stay
for tracebacks and reading; the source tree is never written to.

``SLAENGINE_MYPYC`` chooses: ``auto`` (the default) compiles, and when that is not
possible (no C compiler, no Python headers, a mypyc error) says why and builds the
pure Python wheel, which gives the same results; ``0`` builds pure Python; ``require``
fails the build instead of falling back. The modules compiled are those listed in
``slaengine.compiled.MODULES``.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# Run in a child process (its own cwd, so setuptools reads no project file): mypyc
# translates the modules to C, setuptools compiles them into the library directory.
_COMPILE = """
import sys
from mypyc.build import mypycify
from setuptools import setup

work, *args = sys.argv[1:]
setup(
    name="slaengine-compiled",
    ext_modules=mypycify(args, target_dir=work + "/c", group_name="slaengine"),
    script_args=["build_ext", "--build-lib", work + "/lib", "--build-temp", work + "/temp"],
)
"""
# Types only steer the translation; the project's strict checks run in CI, and an
# optional extra missing from the build environment (orjson) must not stop the build.
_MYPY_CONFIG = "[mypy]\nignore_missing_imports = True\n"


def compiled_module_names(root: Path) -> tuple[str, ...]:
    """``MODULES`` of ``src/slaengine/compiled.py``, read without importing slaengine."""
    tree = ast.parse((root / "src" / "slaengine" / "compiled.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "MODULES"
            and node.value is not None
        ):
            names = ast.literal_eval(node.value)
            return tuple(str(name) for name in names)
    raise RuntimeError("src/slaengine/compiled.py defines no MODULES")


def stray_extensions(package: Path) -> list[Path]:
    """Compiled modules inside the source tree (an in-place build): they would shadow
    their ``.py`` files, so no wheel is built with them."""
    return sorted(p for p in package.rglob("*") if p.name.endswith(tuple(EXTENSION_SUFFIXES)))


class MypycBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the compiled modules to a standard wheel (see the module docstring)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        stray = stray_extensions(root / "src" / "slaengine")
        if stray:
            raise RuntimeError(
                "compiled modules in the source tree would shadow their sources; "
                f"delete them first: {', '.join(map(str, stray))}"
            )
        mode = os.environ.get("SLAENGINE_MYPYC", "auto").strip().lower()
        if version == "editable" or mode in ("0", "no", "off", "false"):
            return
        self._work = Path(tempfile.mkdtemp(prefix="slaengine-mypyc-"))
        try:
            built = self._compile(root, self._work)
        except Exception as exc:
            if mode == "require":
                raise
            self.app.display_warning(
                f"slaengine: not compiled with mypyc ({exc}); building the pure Python wheel, "
                "which gives the same results, more slowly"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        for path, target in built.items():
            build_data["force_include"][str(path)] = target
        self.app.display_info(f"slaengine: compiled with mypyc: {len(built)} files")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    def _compile(self, root: Path, work: Path) -> dict[Path, str]:
        # The extension modules built, each with its path inside the wheel.
        sources = [
            str(root / "src" / Path(*name.split("."))) + ".py"
            for name in compiled_module_names(root)
        ]
        config = work / "mypy.ini"
        config.write_text(_MYPY_CONFIG, encoding="utf-8")
        args = ["--config-file", str(config), "--cache-dir", str(work / "cache"), *sources]
        done = subprocess.run(
            [sys.executable, "-c", _COMPILE, str(work), *args],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
            raise RuntimeError("mypyc failed:\n" + "\n".join(tail))
        lib = work / "lib"
        built = {
            path: path.relative_to(lib).as_posix()
            for path in lib.rglob("*")
            if path.name.endswith(tuple(EXTENSION_SUFFIXES))
        }
        if len(built) <= len(sources):  # each module, and the library they share
            raise RuntimeError(f"mypyc built {len(built)} files for {len(sources)} modules")
        return built
