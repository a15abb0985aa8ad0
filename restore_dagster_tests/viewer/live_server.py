"""The web gallery served for real (uvicorn on a loopback port, in a background thread) for browser tests."""
from __future__ import annotations

import socket
import threading
import time

import uvicorn


class LiveServer:
    """``with LiveServer(app) as server: server.url`` serves ``app`` on 127.0.0.1 until the block ends.

    The listening socket is bound here (port 0, so the kernel picks a free port) and handed to
    uvicorn, so no other process can take the port between choosing it and serving on it.
    """

    def __init__(self, app, start_timeout: float = 15.0):
        self.app = app
        self.start_timeout = start_timeout
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self.url = ""

    def __enter__(self) -> "LiveServer":
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"uvicorn-{port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the test web server stopped while starting (see the log above)")
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"the test web server did not start within {self.start_timeout} s")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True  # an open keep-alive connection: stop waiting for it
                self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
