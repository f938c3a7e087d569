"""slaengine-webhook: deliver SLA notifications to HTTP endpoints as signed JSON POSTs.

Targets come from the ``[plugins.webhook.targets.NAME]`` tables of the run's
configuration (:mod:`slaengine_webhook.config`); each becomes a notify target
that policies name in ``notify: [...]``. :mod:`slaengine_webhook.payload` builds
the request body, :mod:`slaengine_webhook.client` sends it.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
