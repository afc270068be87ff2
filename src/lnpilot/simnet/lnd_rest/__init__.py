"""Our simulated node seen through LND's REST API, so LNbits and lnpilot can run on it.

`create_app` builds the ASGI app; `serve` runs it on 127.0.0.1 in a background thread.
"""

from lnpilot.simnet.lnd_rest.app import MACAROON_HEADER, create_app
from lnpilot.simnet.lnd_rest.server import FaceServer, serve

__all__ = ["MACAROON_HEADER", "FaceServer", "create_app", "serve"]
