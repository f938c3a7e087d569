"""slaengine-email: deliver SLA notifications by e-mail over SMTP, one by one or as digests.

The server and the targets come from the ``[plugins.email]`` table of the run's
configuration (:mod:`slaengine_email.config`); each ``[plugins.email.targets.NAME]``
becomes a notify target that policies name in ``notify: [...]``.
:mod:`slaengine_email.message` renders the messages, :mod:`slaengine_email.client`
sends them, :mod:`slaengine_email.digest` keeps digests.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
