"""Short links (``/api/v1/tinyurl``): LNbits' own URL shortener, ``<server>/t/<id>``.

Operators use them to print a long LNURL or a shop page as a short QR code. A short link
belongs to the wallet that made it: only that wallet's keys read or delete it.
"""

from __future__ import annotations

from datetime import datetime

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import LNbitsModel
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource

INV, ADM = Credential.INVOICE_KEY, Credential.ADMIN_KEY

#: LNbits answers the wallet's existing link for a URL it already shortened, so sending
#: the same create again makes nothing new: safe to retry.
CREATE = operation("POST", "/api/v1/tinyurl", ADM, idempotent=True)
GET = operation("GET", "/api/v1/tinyurl/{tinyurl_id}", INV)
DELETE = operation("DELETE", "/api/v1/tinyurl/{tinyurl_id}", ADM, idempotent=True)


class ShortLink(LNbitsModel):
    """A short link; it redirects from ``/t/{id}`` on the server."""

    id: str
    url: str
    #: Stored as asked; LNbits 1.6.2 reads it nowhere (every link lasts until deleted).
    endless: bool
    wallet: str
    time: datetime

    def short_path(self) -> str:
        return f"/t/{self.id}"


class TinyurlResource(Resource):
    async def create(self, url: str, *, endless: bool = False) -> ShortLink:
        """Shorten ``url`` (an http(s) or lightning/lnurl link) for the configured wallet."""
        if not url or any(ch.isspace() for ch in url):
            raise ValueError(f"url must be one non-empty word, got {url!r}")
        body = await self._t.request(CREATE, params={"url": url, "endless": endless})
        return ShortLink.model_validate(body)

    async def get(self, tinyurl_id: str) -> ShortLink:
        """A link of the configured wallet (another wallet's is refused: not found)."""
        return ShortLink.model_validate(
            await self._t.request(GET, path_params={"tinyurl_id": tinyurl_id})
        )

    async def delete(self, tinyurl_id: str) -> None:
        await self._t.request(DELETE, path_params={"tinyurl_id": tinyurl_id})
