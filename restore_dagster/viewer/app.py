"""The family web gallery: ``create_app()`` builds the FastAPI app over one storage root.

Served by ``restore-photos serve``. Server-rendered pages (Jinja) with three small scripts (compare
and zoom, uploads, state polling); no build step. See the README's "Web gallery" section.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from restore_dagster.config import Layout
from restore_dagster.viewer import models
from restore_dagster.viewer.accounts import DEVICE_SECONDS
from restore_dagster.viewer.icons import icon_png
from restore_dagster.viewer.i18n import LANGUAGES, translator
from restore_dagster.viewer.pages import language, render
from restore_dagster.viewer.routes_album_colouriser import router as album_colouriser_router
from restore_dagster.viewer.routes_colour_fix import router as colour_fix_router
from restore_dagster.viewer.routes_framing import router as framing_router
from restore_dagster.viewer.routes_owner import router as owner_router
from restore_dagster.viewer.routes_repair import router as repair_router
from restore_dagster.viewer.routes_share import router as share_router
from restore_dagster.viewer.routes_variations import router as variations_router
from restore_dagster.viewer.security import DEVICE_COOKIE, SESSION_COOKIE, LoginRequired, SecurityMiddleware, is_owner, is_secure, require_csrf
from restore_dagster.viewer.services import build_services
from restore_dagster.viewer.states import BusyKeys
from restore_dagster.viewer.uploads import MIB, BodyLimit

STATIC = Path(__file__).parent / "static"
ICON_SIZES = (180, 192, 512)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never ``//host`` or a full URL)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 1000:
        return "/"
    return target


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def create_app(layout: Layout | None = None, busy_keys: BusyKeys | None = None, max_upload_bytes: int | None = None) -> FastAPI:
    services = build_services(layout or Layout.from_env(), busy_keys, max_upload_bytes)
    app = FastAPI(
        title="restore_dagster family gallery",
        version="1",
        docs_url=None,  # the docs pages load scripts from a CDN: not on a private gallery
        redoc_url=None,
    )
    app.state.services = services
    app.add_middleware(SecurityMiddleware)
    # A little over one file: each upload is its own request, and nothing bigger is ever parsed.
    app.add_middleware(BodyLimit, max_bytes=services.max_upload_bytes + MIB, file_limit=services.max_upload_bytes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if _wants_html(request):
            return RedirectResponse(f"/login?next={quote(request.url.path, safe='/')}", status_code=303)
        return JSONResponse({"detail": "log in as the owner first"}, status_code=401)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if _wants_html(request):
            return render(request, "error.html", status_code=exc.status_code, message=str(exc.detail), code=exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.get("/login", response_class=models.HTML, summary="The login page")
    def login_page(request: Request, next: str = "/"):
        if is_owner(request):
            return RedirectResponse(safe_next(next), status_code=303)
        return render(request, "login.html", next=safe_next(next), message="", has_password=services.accounts.has_password)

    @app.post("/login", dependencies=[Depends(require_csrf)], response_class=models.HTML, status_code=303, summary="Log in as the owner")
    def login(request: Request, password: Annotated[str, Form(max_length=1000)], next: Annotated[str, Form(max_length=2000)] = "/"):
        t = translator(language(request))
        # The address as the ASGI server gives it: behind a proxy, uvicorn takes it from the trusted
        # proxy's X-Forwarded-For entry only (``restore-photos serve --proxy-ip``), never from the client.
        client = request.client.host if request.client else "unknown"
        device = services.accounts.device_bucket(request.cookies.get(DEVICE_COOKIE))
        wait = services.limiter.retry_after(client, device)
        if wait:
            response = render(request, "login.html", status_code=429, next=safe_next(next), has_password=True,
                              message=t("too_many_attempts", s=wait))
            response.headers["Retry-After"] = str(wait)
            return response
        if not services.accounts.check_password(password):
            services.limiter.failed(client, device)
            message = t("wrong_password") if services.accounts.has_password else t("no_password")
            return render(request, "login.html", status_code=401, next=safe_next(next), has_password=services.accounts.has_password, message=message)
        services.limiter.succeeded(client, device)
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, services.accounts.start_session(), httponly=True, samesite="lax",
                            secure=is_secure(request), max_age=30 * 24 * 3600, path="/")
        # Survives logging out: this device keeps its own login allowance (see LoginLimiter).
        response.set_cookie(DEVICE_COOKIE, services.accounts.remember_device(request.cookies.get(DEVICE_COOKIE)),
                            httponly=True, samesite="lax", secure=is_secure(request), max_age=DEVICE_SECONDS, path="/")
        return response

    @app.post("/logout", dependencies=[Depends(require_csrf)], status_code=303, summary="Log out")
    def logout(request: Request):
        services.accounts.end_session(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/lang/{code}", status_code=303, summary="Choose the language (en or zh)")
    def choose_language(code: str, next: str = "/"):
        if code not in LANGUAGES:
            raise HTTPException(404, "no such language")
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie("lang", code, samesite="lax", max_age=365 * 24 * 3600, path="/")
        return response

    @app.get("/manifest.webmanifest", summary="Web app manifest (add to home screen)")
    def manifest(request: Request):
        t = translator(language(request))
        icons = [{"src": f"/icons/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any maskable"}
                 for size in ICON_SIZES if size != 180]
        body = {"name": t("app_name"), "short_name": t("app_name"), "start_url": "/", "scope": "/", "display": "standalone",
                "background_color": "#f6f1e7", "theme_color": "#5b4636", "icons": icons}
        return JSONResponse(body, media_type="application/manifest+json")

    @app.get("/icons/icon-{size}.png", response_class=models.Image, summary="App icons")
    def icon(size: int):
        if size not in ICON_SIZES:
            raise HTTPException(404, "no icon of that size")
        return Response(icon_png(size), media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/healthz", summary="Liveness check")
    def healthz():
        return {"ok": True}

    app.include_router(share_router)
    app.include_router(owner_router)
    app.include_router(repair_router)
    app.include_router(framing_router)
    app.include_router(variations_router)
    app.include_router(colour_fix_router)
    app.include_router(album_colouriser_router)
    return app
