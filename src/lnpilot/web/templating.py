"""The dashboard's Jinja environment and the one way a page is answered.

Templates are packaged with lnpilot (``lnpilot/web/templates``), autoescaped, and every page
goes out with a Content-Security-Policy that allows only the dashboard's own files: it must
work offline, and an injected script could not run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from lnpilot.base import flow
from lnpilot.web import charts, format

if TYPE_CHECKING:
    from lnpilot.web.session import Viewer

PREFIX = "/dashboard"
#: Seconds between a page's reloads: a screen left open follows the node.
REFRESH_S = 30
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _chart_json(chart: charts.Chart) -> Markup:
    """A chart's payload for a ``<script type="application/json">`` block; ``<`` is escaped
    so that no label can close the block."""
    return Markup(json.dumps(chart.payload()).replace("<", "\\u003c"))  # noqa: S704


_env = Environment(
    loader=PackageLoader("lnpilot.web", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
format.install(_env)
_env.filters["chart_json"] = _chart_json
_env.globals.update(
    prefix=PREFIX,
    flows=flow.ORDER,  # forward directions, named and ordered as in the terminal
    flow_meaning=flow.MEANING,
    refresh_s=REFRESH_S,
    colors=charts.COLORS,
    spark_path=charts.spark_path,
    spark_width=charts.SPARK_WIDTH,
    spark_height=charts.SPARK_HEIGHT,
)


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Content-Security-Policy": CSP})


def render_page(name: str, seen: Viewer, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page for a signed-in viewer: every dashboard page's template gets who is looking
    (``seen``: its actions and CSRF token), the time and any node outage, besides its own
    ``context`` (``nav`` names the menu entry it belongs to)."""
    return render(name, status_code, seen=seen, now=seen.now, outage=seen.outage, **context)


def missing(what: str, now: datetime | None) -> HTMLResponse:
    """The 404 page of a thing the address names but the store does not hold."""
    return render("missing.html", 404, what=what, now=now)
