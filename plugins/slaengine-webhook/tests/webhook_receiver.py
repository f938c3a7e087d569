"""A real HTTP receiver on 127.0.0.1 that records requests and answers from a script."""

from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    """One scripted response: status, headers, body, and seconds to stall before it."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    stall: float = 0.0
    reason: str | None = None  # the status line's reason phrase; the standard one if None


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """The running server: ``url``, the ``requests`` it got, the ``answers`` it will give."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[Answer] = []  # consumed in order; then 200 "ok"
        self.release = threading.Event()  # ends a stalling handler early at teardown
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received("POST", self.path, dict(self.headers.items()), body, time.time())
                    )
                    answer = receiver.answers.pop(0) if receiver.answers else Answer()
                if answer.stall and receiver.release.wait(answer.stall):
                    return  # teardown: the client gave up long ago
                self.send_response(answer.status, answer.reason)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"GET!")

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        class Server(http.server.ThreadingHTTPServer):
            # Join handler threads on close, so none outlives the test.
            daemon_threads = False

        self.server = Server(("127.0.0.1", 0), Handler)
        host, port = self.server.server_address[:2]
        self.url = f"http://{host!s}:{port}/hooks/sla"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
