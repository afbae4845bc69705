"""Local HTTP servers standing in for the outside world (and for internal services an
attacker would like to reach): they record what reached them and answer as told."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Server:
    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    written: int = 0  # bytes of body the handler managed to write

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@contextmanager
def serving(answer: Callable[[BaseHTTPRequestHandler, Server], None]) -> Iterator[Server]:
    """A server on 127.0.0.1 whose POST (and GET) handler records the request and calls `answer`."""
    state: dict[str, Server] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            server = state["server"]
            server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            # The client may stop reading: what the size and time tests want to see.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                answer(self, server)

        do_GET = do_POST  # noqa: N815 — recorded and answered the same way

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["server"] = Server(port=httpd.server_port)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["server"]
    finally:
        state["server"].release.set()
        httpd.shutdown()
        httpd.server_close()


def reply(status: int = 200, body: bytes = b"ok", headers: dict[str, str] | None = None):
    def answer(handler: BaseHTTPRequestHandler, server: Server) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer
