"""A real HTTP server on 127.0.0.1 for download tests, with scripted misbehaviour per path.

Each path serves a Route: a body, an error status, a redirect, a body cut short after announcing its
full Content-Length (a connection dropped mid-file), or a body that stalls until the client times out.
Every request path is recorded so tests can assert what was (not) fetched.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Route:
    body: bytes = b""
    status: int = 200
    redirect_to: str | None = None  # path on this server, answered with 302
    cut_after: int | None = None  # send this many body bytes, then close the connection
    stall_after: int | None = None  # send this many body bytes, then hang until the server stops
    delay_s: float = 0.0  # wait before answering (to make concurrent clients overlap)


class LocalHTTPServer:
    """``with LocalHTTPServer() as srv: url = srv.add("/f", Route(body=b"..."))``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # A short poll interval: shutdown() waits for the next poll, and tests start one server each.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="local-http", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base_url + path

    def __enter__(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # releases stalled handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                if route.delay_s:
                    time.sleep(route.delay_s)
                if route.redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", server.base_url + route.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.status != 200:
                    self.send_error(route.status)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if route.cut_after is not None:
                    self.wfile.write(route.body[: route.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif route.stall_after is not None:
                    self.wfile.write(route.body[: route.stall_after])
                    self.wfile.flush()
                    server._stop.wait(timeout=30)
                    self.close_connection = True
                else:
                    try:
                        self.wfile.write(route.body)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True  # the client rejected the body after the headers

        return Handler
