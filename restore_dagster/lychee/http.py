"""HTTP to one Lychee server: headers Lychee's middleware demands, the token, retries, error mapping.

Every JSON route of Lychee's API, GETs included, answers 406 unless the request says
``Content-Type: application/json`` and accepts JSON (``content_type:json`` / ``accept_content_type:json``
middleware); uploads are multipart. Image URLs may be web routes (406 to ``Accept: application/json``)
or live on another host (S3, a CDN): the token goes to the Lychee host only.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterable
from urllib.parse import urljoin, urlsplit

import requests

from restore_dagster.lychee.errors import TOKEN_ENV, LycheeAuthError, LycheeError, LycheeNotFound, LycheeUnavailable

API_PREFIX = "/api/v2"
_RETRY_STATUSES = {502, 503, 504}
_JSON = "application/json"


class LycheeHttp:
    """Requests to ``<base_url>/api/v2`` with a bearer token, retried where retrying can help.

    Timeouts, connection errors and 502/503/504 are retried with exponential backoff
    (``backoff * 2**attempt`` seconds); 429 (from a proxy: Lychee itself limits none of these routes)
    waits ``Retry-After`` seconds (at most ``max_retry_after``).
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 30, retries: int = 4, backoff: float = 0.5,
                 max_retry_after: float = 120, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if not base_url:
            raise ValueError("Lychee: no server URL given (set RESTORE_LYCHEE_URL or the lychee_url config)")
        if not token:
            raise LycheeAuthError(f"Lychee: no API token given; create one in Lychee and set {TOKEN_ENV}")
        root = base_url.rstrip("/")
        if root.endswith(API_PREFIX):
            root = root[: -len(API_PREFIX)]
        self.site = root + "/"  # relative size-variant URLs are relative to the site, not the API
        self.api = root + API_PREFIX + "/"
        self._origin = _origin(self.site)
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.session = session or requests.Session()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def send(self, method: str, url: str, *, resend_on_timeout: bool = True, **kwargs) -> requests.Response:
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                # A read timeout on a chunk upload may mean the chunk arrived: sending it again could
                # append it twice. Only a request that never connected is safe to resend then.
                safe = resend_on_timeout or isinstance(exc, requests.ConnectTimeout) or _never_connected(exc)
                if not safe or attempt >= self.retries:
                    raise LycheeUnavailable(f"Lychee at {self.site} is unreachable ({method} {url}): {exc}") from exc
                self.sleep(self.backoff * 2**attempt)
                attempt += 1
                continue
            status = response.status_code
            if status == 429 or status in _RETRY_STATUSES:
                if attempt >= self.retries:
                    raise LycheeUnavailable(f"Lychee at {self.site} kept answering {status} to {method} {url}")
                delay = _retry_after(response) if status == 429 else None
                self.sleep(min(delay, self.max_retry_after) if delay is not None else self.backoff * 2**attempt)
                attempt += 1
                continue
            return response

    def request(self, method: str, endpoint: str, *, json_body: Any = None, params: dict | None = None,
                data: dict | None = None, files: dict | None = None, resend_on_timeout: bool = True) -> requests.Response:
        """One API request; raises LycheeAuthError for a refused token. Other statuses are the caller's."""
        headers = {"Accept": _JSON, **self._auth()}
        kwargs: dict[str, Any] = {"params": params}
        if files is not None:
            kwargs.update(data=data, files=files)  # requests writes the multipart Content-Type itself
        else:
            headers["Content-Type"] = _JSON  # Lychee wants it on every JSON route, GETs included
            if json_body is not None:
                kwargs["data"] = json.dumps(json_body)
        url = self.api + endpoint
        response = self.send(method, url, headers=headers, resend_on_timeout=resend_on_timeout, **kwargs)
        _raise_for_auth(response, method, url)
        return response

    def call(self, method: str, endpoint: str, *, allow: Iterable[int] = (), **kwargs) -> Any:
        """The decoded JSON answer (None for an empty body); a status in ``allow`` returns the response."""
        response = self.request(method, endpoint, **kwargs)
        if response.status_code in set(allow):
            return response
        check(response, method, endpoint)
        return decode_json(response, method, self.api + endpoint)

    def download(self, url: str) -> bytes:
        """The bytes at ``url``: absolute, or relative to the Lychee site; the token only goes to Lychee's host."""
        absolute = url if urlsplit(url).scheme else urljoin(self.site, url.lstrip("/"))
        # Image URLs can be web routes (secure links) that refuse "Accept: application/json".
        headers = {"Accept": "image/*,*/*;q=0.8"}
        if _origin(absolute) == self._origin:
            headers.update(self._auth())
        response = self.send("GET", absolute, headers=headers)
        if response.status_code != 200:
            where = "Lychee" if _origin(absolute) == self._origin else f"the image host of {absolute}"
            raise LycheeError(f"Lychee: downloading {absolute} from {where} answered {response.status_code}")
        return response.content


def check(response: requests.Response, method: str, endpoint: str) -> None:
    """Raise for anything but 2xx: LycheeNotFound for 404, LycheeError otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return
    text = response.text[:300]
    if status == 404:
        raise LycheeNotFound(f"Lychee: {method} {endpoint} answered 404: {text}")
    if status == 406:
        raise LycheeError(f"Lychee: {method} {endpoint} answered 406 (this Lychee version lacks the route, or "
                          f"refused the request's content type): {text}")
    raise LycheeError(f"Lychee: {method} {endpoint} answered {status}: {text}")


def decode_json(response: requests.Response, method: str, url: str) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise LycheeError(f"Lychee: {method} {url} answered {response.status_code} with non-JSON: "
                          f"{response.text[:200]!r}") from exc


def _raise_for_auth(response: requests.Response, method: str, url: str) -> None:
    """A refused token, in each way Lychee says it (see SessionOrTokenGuard and the CSRF middleware)."""
    status = response.status_code
    message = _message(response)
    refused = (
        status in (401, 403)
        or (status == 400 and "token" in message.lower())  # a wrong token: 400 "Invalid token"
        or status == 419  # no Authorization reached Lychee (a proxy dropping it?): CSRF check failed
    )
    if refused:
        raise LycheeAuthError(
            f"Lychee refused the API token ({status} {message or response.reason} on {method} {url}): check that "
            f"{TOKEN_ENV} holds a valid token of a user who may read and upload to the inbox albums, and that "
            "a proxy in front of Lychee passes the Authorization header on"
        )


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message") or "") if isinstance(body, dict) else ""


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None  # an HTTP date or garbage: fall back to the backoff


def _never_connected(exc: Exception) -> bool:
    # requests wraps "connection refused" / DNS failures as ConnectionError around a NewConnectionError.
    text = repr(exc)
    return "NewConnectionError" in text or "NameResolutionError" in text or "Connection refused" in text
