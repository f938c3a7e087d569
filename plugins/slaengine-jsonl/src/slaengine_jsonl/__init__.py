"""slaengine-jsonl: an event source that tails JSON Lines files for ``slaengine run``.

Sources come from the ``[plugins.jsonl.sources.NAME]`` tables of the run's
configuration (:mod:`slaengine_jsonl.config`); :mod:`slaengine_jsonl.reader`
reads them from a cursor.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
