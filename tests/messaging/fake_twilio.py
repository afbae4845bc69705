"""A fake Twilio REST API on loopback: it receives the official client's real HTTP requests.

`fail_for` maps a recipient number to (HTTP status, Twilio error code, message), as Twilio
answers, e.g. (400, 21610, "Attempt to send to unsubscribed recipient").
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Received:
    method: str
    path: str
    auth: tuple[str, str]
    form: dict[str, str]
    user_agent: str


@dataclass
class FakeTwilio:
    requests: list[Received] = field(default_factory=list)
    fail_for: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering a request it has recorded

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # noqa: ANN002
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                raw = (self.headers.get("Authorization") or "").removeprefix("Basic ")
                user, _, password = (
                    base64.b64decode(raw).decode().partition(":") if raw else ("", "", "")
                )
                fake.requests.append(
                    Received(
                        "POST",
                        self.path,
                        (user, password),
                        form,
                        self.headers.get("User-Agent", ""),
                    )
                )
                if fake.delay:
                    time.sleep(fake.delay)
                failure = fake.fail_for.get(form.get("To", ""))
                if failure:
                    status, code, message = failure
                    self._json(status, {"code": code, "message": message, "status": status})
                    return
                sid = "SM" + uuid.uuid4().hex
                self._json(
                    201,
                    {
                        "sid": sid,
                        "status": "queued",
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                    },
                )

            def _json(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Received]:
        return [r for r in self.requests if r.path.endswith("/Messages.json")]
