"""Who may see the dashboard: anyone holding an API token (the read scope is enough).

The REST API takes its token as a bearer header, which a browser cannot send on a page
load. So the dashboard takes the same token once — from its sign-in form, or as
``?token=`` on any page (the link ``make demo`` prints) — checks it against the API's token
table, and keeps it in a cookie that scripts cannot read (HttpOnly), that other sites'
requests do not carry (SameSite=Strict) and that only the dashboard's paths receive. The
token is checked again on every page, so revoking it (``lnpilot tokens revoke``) signs the
browser out at once. A ``?token=`` is moved into the cookie and dropped from the address
at once, so it stays out of the history, and of the page's links.

An admin token may also act (apply fees, run rebalances, silence alerts, decide incident
actions, open and close channels). Every form that acts carries a CSRF token: an HMAC of
the session (the token's cookie and a random nonce set beside it at each sign-in) under a
key made when the app starts (:class:`Csrf`), so it differs per sign-in, needs no
storage, and a page of another site, which can read neither the cookies nor our pages,
cannot forge it. SameSite=Strict already keeps the cookie off
another site's requests; the CSRF token is the second lock, checked on every POST that acts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lnpilot.service.context import Services
from lnpilot.store.tokens import ApiToken
from lnpilot.web.templating import PREFIX, render

COOKIE = "lnpilot_dashboard"
#: A random value set at each sign-in beside the token's cookie: two sign-ins with the
#: same token are two sessions, with two CSRF tokens.
NONCE_COOKIE = "lnpilot_session"
#: A sign-in lasts this long in the browser; the token's own revocation ends it sooner.
COOKIE_MAX_AGE_S = 7 * 86_400


#: The form field (and the header, for a script) that carries the CSRF token.
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class Csrf:
    """Per-session CSRF tokens: HMAC-SHA256 of the session's cookie under a key that lives
    as long as the daemon's run (``Services.secret_key``, shared by its API workers; a
    restart asks forms to be reloaded, nothing more)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def token_for(self, session: str) -> str:
        return hmac.new(self._key, session.encode("utf-8"), hashlib.sha256).hexdigest()

    def matches(self, session: str, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.token_for(session), given or "")


def session_of(request: Request) -> str:
    """What identifies the browser's session: its token cookie and its sign-in nonce."""
    return request.cookies.get(COOKIE, "") + ":" + request.cookies.get(NONCE_COOKIE, "")


async def valid(services: Services, token: str | None) -> bool:
    return await session_token(services, token) is not None


async def session_token(services: Services, token: str | None) -> ApiToken | None:
    """The stored record of the session's token (its name and scope), None when unknown or
    revoked: kept like the API's until the store changes (``Services.token``)."""
    if not token:
        return None
    return await services.token(token)


def read_form(body: bytes) -> dict[str, str]:
    """A plain urlencoded form, read by hand (no multipart library): the last value of each
    field."""
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


async def gate(request: Request, services: Services) -> Response | None:
    """None when the request may see the page; else where to send the browser: to the same
    page without ``?token=`` (now in the cookie), or to the sign-in form."""
    given = request.query_params.get("token")
    if given is not None:
        rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        target = request.url.path + (f"?{rest}" if rest else "")
        if not await valid(services, given):
            return RedirectResponse(_login_url(target, failed=True), status_code=303)
        return _signed_in(RedirectResponse(target, status_code=303), given, request)
    if await valid(services, request.cookies.get(COOKIE)):
        return None
    return RedirectResponse(_login_url(_here(request)), status_code=303)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _login_url(next_page: str, *, failed: bool = False) -> str:
    query = {"next": next_page, **({"failed": "1"} if failed else {})}
    return f"{PREFIX}/login?{urlencode(query)}"


def _safe_next(next_page: str | None) -> str:
    """Only a dashboard path: a sign-in link must not send the browser to another site."""
    if next_page and next_page.startswith(f"{PREFIX}/") and not next_page.startswith("//"):
        return next_page
    return f"{PREFIX}/"


def _signed_in(response: Response, token: str, request: Request) -> Response:
    for name, value in ((COOKIE, token), (NONCE_COOKIE, secrets.token_urlsafe(16))):
        response.set_cookie(
            name,
            value,
            max_age=COOKIE_MAX_AGE_S,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def add_routes(pages: APIRouter, services: Services) -> None:
    """The sign-in form, its post, and signing out, on the dashboard's router."""

    @pages.get("/login", response_class=HTMLResponse)
    async def login(next: str | None = None, failed: bool = False) -> HTMLResponse:
        return render("login.html", next=_safe_next(next), failed=failed, nav="login")

    @pages.post("/login")
    async def sign_in(request: Request) -> Response:
        # A plain urlencoded form: read by hand, so the form needs no multipart library.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = form.get("token", [""])[0].strip()
        next_page = _safe_next(form.get("next", [""])[0])
        if not await valid(services, token):
            return RedirectResponse(_login_url(next_page, failed=True), status_code=303)
        return _signed_in(RedirectResponse(next_page, status_code=303), token, request)

    @pages.post("/logout")
    async def sign_out() -> Response:
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        response.delete_cookie(NONCE_COOKIE, path=PREFIX)
        return response
