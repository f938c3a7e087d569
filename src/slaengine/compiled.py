"""The engine's modules compiled with mypyc: which ones a wheel compiles, which ones run.

A wheel built from the source tree compiles :data:`MODULES` with mypyc when it can
(``hatch_build.py``; never in an editable install) and is pure Python otherwise. Both
run the same source and give the same results; :func:`describe` says which mode runs
(``slaengine --version``).

Compiled classes are C extension types: a frozen dataclass's state cannot be set back
by the default pickling, and ``__init__`` runs when one is created by ``__new__``.
:func:`register_pickling` makes every dataclass of these modules pickle (and copy) as
its constructor call, in both modes, so a pickle made by one mode loads in the other
(a process pool or a Dask cluster whose machines differ).
"""

from __future__ import annotations

import copyreg
import dataclasses
import importlib
from importlib.machinery import EXTENSION_SUFFIXES
from typing import Any, Final

#: Modules a wheel compiles: the clock engine's hot code, the JSON Lines fast path (the
#: per-line loop and the event it builds; instants read digit by digit), the loop that
#: makes a Parquet batch's events from its columns (inputs.event_columns), the JSON Lines
#: and CSV writers (which then read the results' fields natively), evaluate's loop over a
#: part's tickets (evaluated, rendered and spooled one by one) and the audit's
#: per-ticket accumulation (periods is left out: its cache pickles by hand); see
#: benchmarks/README.md.
MODULES: Final = (
    "slaengine.calendar",
    "slaengine.clock_record",
    "slaengine.clock_triggers",
    "slaengine.clock_walk",
    "slaengine.clocks",
    "slaengine.engine",
    "slaengine.event_fastpath",
    "slaengine.inputs.event_columns",
    "slaengine.inputs.jsonl",
    "slaengine.inputs.jsonl_scan",
    "slaengine.record_triggers",
    "slaengine.timeline",
    "slaengine.report.json",
    "slaengine.report.csv",
    "slaengine.stream_part",
    "slaengine.audit.accumulator",
    "slaengine.audit.breaches",
    "slaengine.audit.facts",
    "slaengine.audit.groups",
    "slaengine.audit.owners",
)


#: Packages that register their own modules of :data:`MODULES` for pickling when they are
#: imported, rather than ``import slaengine`` doing it: the audit's import numpy and
#: multiprocessing, which start-up of the commands that evaluate does not need.
SELF_REGISTERING: Final = ("slaengine.audit",)


def compiled_modules() -> tuple[str, ...]:
    """The modules of :data:`MODULES` that run compiled (an extension module was loaded)."""
    found = []
    for name in MODULES:
        origin = getattr(importlib.import_module(name), "__file__", None) or ""
        if origin.endswith(tuple(EXTENSION_SUFFIXES)):
            found.append(name)
    return tuple(found)


def describe() -> str:
    """``compiled with mypyc: calendar, clocks, ...`` or ``pure Python``."""
    compiled = compiled_modules()
    if not compiled:
        return "pure Python"
    short = ", ".join(name.removeprefix("slaengine.") for name in compiled)
    return f"compiled with mypyc: {short}"


def _constructor_call(obj: Any) -> tuple[Any, tuple[Any, ...]]:
    # The class and its constructor's arguments: what pickle and copy rebuild it from.
    fields = dataclasses.fields(obj)
    return type(obj), tuple(getattr(obj, field.name) for field in fields if field.init)


def register_pickling(package: str | None = None) -> None:
    """Pickle and copy each dataclass of :data:`MODULES` as its constructor call.

    Without ``package``, the modules outside :data:`SELF_REGISTERING` (``import
    slaengine`` registers them); with one of those packages, its own modules (the
    package registers them when it is imported).
    """
    for name in MODULES:
        if _registering_package(name) != package:
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == name
                and dataclasses.is_dataclass(value)
            ):
                copyreg.pickle(value, _constructor_call)


def _registering_package(name: str) -> str | None:
    # The package of SELF_REGISTERING that module ``name`` belongs to, if any.
    return next((p for p in SELF_REGISTERING if name.startswith(f"{p}.")), None)


__all__ = ["MODULES", "SELF_REGISTERING", "compiled_modules", "describe", "register_pickling"]
