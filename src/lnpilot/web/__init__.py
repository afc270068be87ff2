"""The web dashboard: server-rendered pages over the store, served by the API's app.

``lnpilot.api.app.create_app(services)`` calls :func:`mount`, which adds the pages under
``/dashboard`` (node overview, channels, a channel's history, fee and rebalance history,
alerts and incidents) and their static files. Chart code is vendored (uPlot, in
``static/vendor``) so the dashboard works with no network. Pages: ``docs/dashboard.md``.
"""

from lnpilot.web.pages import mount

__all__ = ["mount"]
