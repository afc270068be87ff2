"""Web Push subscriptions (``/api/v1/webpush``): where LNbits pushes its payment notices for
the logged-in account, as a browser registers them (an endpoint and its keys).

Registering the same endpoint again answers the existing subscription, so both calls are
safe to resend."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import LNbitsModel
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource

B = Credential.BEARER

SUBSCRIBE = operation("POST", "/api/v1/webpush", B, idempotent=True)
UNSUBSCRIBE = operation("DELETE", "/api/v1/webpush", B, idempotent=True)


class PushSubscription(LNbitsModel):
    endpoint: str
    user: str
    host: str
    timestamp: datetime


class WebpushResource(Resource):
    async def subscribe(self, subscription: dict[str, Any]) -> PushSubscription:
        """Register a browser's ``PushSubscription`` JSON (``endpoint``, ``keys``)."""
        endpoint = subscription.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("https://"):
            raise ValueError("a push subscription needs an https:// endpoint")
        body = await self._t.request(SUBSCRIBE, json={"subscription": json.dumps(subscription)})
        return PushSubscription.model_validate(body)

    async def unsubscribe(self, endpoint: str) -> int:
        """Forget a subscription; how many LNbits removed (0: it had none for it)."""
        encoded = base64.b64encode(endpoint.encode()).decode()
        body = await self._t.request(UNSUBSCRIBE, params={"endpoint": encoded})
        return int(body["count"])
