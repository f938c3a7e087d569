"""``slaengine serve``: the live engine behind an HTTP API (Starlette on uvicorn).

Needs the ``serve`` extra: ``python3 -m pip install "slaengine[serve]"``. The
core and the rest of slaengine never import this package.

- :mod:`~slaengine.serve.settings`: the ``[serve]`` and ``[inbox.VENDOR]`` settings
- :mod:`~slaengine.serve.app`: the routes; :mod:`~slaengine.serve.inbox` the webhooks
- :mod:`~slaengine.serve.server`: uvicorn and the worker thread
"""

from __future__ import annotations

from slaengine.serve.api import Api
from slaengine.serve.app import create_app
from slaengine.serve.server import WorkerThread, bind, serve
from slaengine.serve.settings import ServeSettings, serve_settings

__all__ = ["Api", "ServeSettings", "WorkerThread", "bind", "create_app", "serve", "serve_settings"]
