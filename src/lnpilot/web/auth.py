"""Who may see the dashboard: anyone holding an API token (the read scope is enough).

The REST API takes its token as a bearer header, which a browser cannot send on a page
load. So the dashboard takes the same token once — from its sign-in form, or as
``?token=`` on any page (the link ``make demo`` prints) — checks it against the API's token
table, and keeps it in a cookie that scripts cannot read (HttpOnly), that other sites'
requests do not carry (SameSite=Strict) and that only the dashboard's paths receive. The
token is checked again on every page, so revoking it (``lnpilot tokens revoke``) signs the
browser out at once. A ``?token=`` is moved into the cookie and dropped from the address
at once, so it stays out of the history, and of the page's links.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lnpilot.store import Store
from lnpilot.store.tokens import find_token
from lnpilot.web.templating import PREFIX, render

COOKIE = "lnpilot_dashboard"
#: A sign-in lasts this long in the browser; the token's own revocation ends it sooner.
COOKIE_MAX_AGE_S = 7 * 86_400


async def valid(store: Store, token: str | None) -> bool:
    if not token:
        return False
    async with store.read() as reader:
        return await find_token(reader, token) is not None


async def gate(request: Request, store: Store) -> Response | None:
    """None when the request may see the page; else where to send the browser: to the same
    page without ``?token=`` (now in the cookie), or to the sign-in form."""
    given = request.query_params.get("token")
    if given is not None:
        rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        target = request.url.path + (f"?{rest}" if rest else "")
        if not await valid(store, given):
            return RedirectResponse(_login_url(target, failed=True), status_code=303)
        return _signed_in(RedirectResponse(target, status_code=303), given, request)
    if await valid(store, request.cookies.get(COOKIE)):
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
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE_S,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def add_routes(pages: APIRouter, store: Store) -> None:
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
        if not await valid(store, token):
            return RedirectResponse(_login_url(next_page, failed=True), status_code=303)
        return _signed_in(RedirectResponse(next_page, status_code=303), token, request)

    @pages.post("/logout")
    async def sign_out() -> Response:
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response
