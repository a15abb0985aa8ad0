"""Who may do what: the owner's session, CSRF tokens on every change, and the security headers.

- The owner is whoever holds a valid session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS).
- Every request that changes something must carry the CSRF token, as the ``X-CSRF-Token`` header or
  the ``csrf_token`` form field, equal to the visitor's ``restore_csrf`` cookie (a SameSite=Strict
  cookie another site can neither read nor send), and, when the browser says where it comes from
  (``Origin``), come from this site.
- Pages may load scripts, styles and images from this site only, are never framed, and send no
  Referer, so a share link's token does not leak to another site.
"""
from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request
from starlette.middleware.base import BaseHTTPMiddleware

SESSION_COOKIE = "restore_session"
DEVICE_COOKIE = "restore_device"  # a device the owner logged in from: its own login allowance
CSRF_COOKIE = "restore_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class LoginRequired(Exception):
    """Raised by ``require_owner``; pages redirect to the login form, everything else gets 401."""


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token(request: Request) -> str:
    """This visitor's CSRF token (made on the first request and set as a cookie by the middleware)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) != 43:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


class SecurityMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        new = getattr(request.state, "new_csrf", None)
        if new and request.cookies.get(CSRF_COOKIE) != new:
            response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", secure=is_secure(request), path="/")
        return response


def is_owner(request: Request) -> bool:
    return request.app.state.services.accounts.session_valid(request.cookies.get(SESSION_COOKIE))


def require_owner(request: Request) -> None:
    if not is_owner(request):
        raise LoginRequired()


async def require_csrf(request: Request) -> None:
    """The change comes from our own page: same-origin and carrying the visitor's CSRF token."""
    if request.method not in UNSAFE:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise HTTPException(403, "cross-site request refused")
    expected = request.cookies.get(CSRF_COOKIE, "")
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        presented = str((await request.form()).get(CSRF_FIELD, ""))
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


async def owner_change(request: Request) -> None:
    """Dependency for every change: the owner first (401), then the CSRF check (403)."""
    require_owner(request)
    await require_csrf(request)
