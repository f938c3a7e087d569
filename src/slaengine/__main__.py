"""``python3 -m slaengine``: the same as the ``slaengine`` command."""

from slaengine.cli import entry_point

entry_point()
