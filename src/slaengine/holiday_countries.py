"""A country's public holidays from the ``holidays`` package, importing that country alone.

The package finds a country's class through ``holidays.countries``, whose import
loads all of its ~250 country modules (about 40 ms of every command whose
policies name a country). A country's own module needs only the package's base
classes: it is loaded from its file by itself when the country package has not
been imported yet, with the same class and the same dates. Should that fail (a
layout of the package this does not know), the package's own way is taken.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import sys
from pathlib import Path
from typing import Any


def country_holidays(country: str, subdivision: str | None, years: range) -> set[dt.date]:
    """The holiday dates of ``country`` (an ISO code or alias the package knows) and
    ``subdivision`` in ``years``: ``holidays.country_holidays``'s."""
    entity = country_class(country)
    if entity is None:
        import holidays

        found = holidays.country_holidays(country, subdiv=subdivision, years=years)
    else:
        found = entity(years=years, subdiv=subdivision)
    return set(found.keys())


def country_subdivisions(country: str) -> tuple[str, ...]:
    """The subdivision codes of ``country`` (an ISO code or alias the package knows)."""
    entity = country_class(country)
    if entity is None:
        import holidays

        entity = getattr(holidays, country)
    return tuple(entity.subdivisions)


@functools.cache
def country_class(country: str) -> Any | None:
    """The package's class of ``country`` from its module alone; None when the country
    package is already imported (its own classes are then taken) or the module cannot
    be found or loaded by itself."""
    try:
        import holidays
        from holidays.registry import COUNTRIES
    except ImportError:  # pragma: no cover - a dependency
        return None
    if "holidays.countries" in sys.modules:
        return None
    module_name = next((name for name, codes in COUNTRIES.items() if country in codes[1:]), None)
    if module_name is None or holidays.__file__ is None:
        return None
    name = f"holidays.countries.{module_name}"
    module = sys.modules.get(name)
    if module is None:
        module = _load_alone(
            name, Path(holidays.__file__).parent / "countries" / f"{module_name}.py"
        )
    return getattr(module, country, None) if module is not None else None


def _load_alone(name: str, path: Path) -> Any | None:
    # The module ``name`` from ``path``, without importing its package's __init__ (which
    # imports every country). Registered under its own name, as an import would; left
    # out if it fails.
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:  # any failure: the package's own way instead
        sys.modules.pop(name, None)
        return None
    return module


__all__ = ["country_class", "country_holidays", "country_subdivisions"]
