"""A small OpenAI-compatible server on 127.0.0.1 that answers deterministically or misbehaves.

Answers depend only on (prompt, seed). Faults are scripted per request: `failures` is consumed
one item per completion request (None answers normally), then `fail_always` applies;
`models_failure` applies to every GET /models. A fault is one of:

- an int status (an OpenAI-style error body), or (status, retry_after) to add Retry-After;
- "drop": close the connection without answering;
- "drop-mid": send the headers and half the body, then close;
- "hang": accept and never answer (until the server closes);
- "not-json": a 200 whose body is not JSON.

`stop()` closes the port (connections are refused) and `start()` opens the same port again,
as a restarted server would.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"  # never another address
Fault = int | tuple[int, str] | str | None


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class FakeOpenAIServer:
    """Counts calls, records bodies and headers, and fails as scripted."""

    def __init__(self, served: str = "tiny") -> None:
        self.served = served
        self.bodies: list[dict] = []
        self.auth: set[str | None] = set()
        self.failures: list[Fault] = []
        self.fail_always: Fault = None
        self.models_failure: Fault = None
        self.error_message = "try later"
        self.delay_s = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.release = threading.Event()  # set on stop: hanging handlers return
        self.connections: set[socket.socket] = set()  # closed on stop, as a killed server's
        self.port = 0
        self.httpd: ThreadingHTTPServer | None = None
        self.start()
        self.url = f"http://{HOST}:{self.port}/v1"

    def start(self) -> None:
        self.release = threading.Event()
        self.httpd = ThreadingHTTPServer((HOST, self.port), _handler(self))
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.release.set()
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
            with self.lock:
                for connection in self.connections:
                    try:
                        connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                self.connections.clear()

    close = stop

    def reset(self) -> None:
        """Well again: no scripted faults, hanging requests released, the port open."""
        self.stop()
        deadline = time.monotonic() + 10
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        self.failures, self.fail_always, self.models_failure = [], None, None
        self.error_message, self.delay_s = "try later", 0.0
        self.start()

    def next_failure(self) -> Fault:
        with self.lock:
            return self.failures.pop(0) if self.failures else self.fail_always

    def answer(self, path: str, body: dict) -> dict:
        prompt = body.get("prompt") or json.dumps(body.get("messages"))
        digest = hashlib.sha256(f"{prompt}|{body['seed']}".encode()).hexdigest()
        text = f"work {digest[:6]} so the answer is \\boxed{{{int(digest[:4], 16) % 10}}}"
        finish = "length" if int(digest[4], 16) % 3 == 0 else "stop"
        usage = {"prompt_tokens": 11, "completion_tokens": 5 + int(digest[5], 16)}
        if path.endswith("/chat/completions"):
            choice = {"index": 0, "message": {"role": "assistant", "content": text}}
        else:
            choice = {"index": 0, "text": text}
        return {"choices": [{**choice, "finish_reason": finish}], "usage": usage}


def _handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def setup(self) -> None:
            super().setup()
            with server.lock:
                server.connections.add(self.connection)

        def _send(self, code: int, data: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def _fail(self, failure: Fault) -> None:
            if failure == "hang":
                server.release.wait()
                self.close_connection = True
            elif failure == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif failure == "drop-mid":
                raw = json.dumps(server.answer(self.path, {"seed": 0, "prompt": "x"})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw[: len(raw) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif failure == "not-json":
                raw = b"<html><body>502 upstream {oops</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            else:
                status, retry_after = failure if isinstance(failure, tuple) else (failure, None)
                headers = {"Retry-After": retry_after} if retry_after is not None else {}
                error = {"message": server.error_message, "type": "error", "code": status}
                self._send(int(status), {"error": error}, headers)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                if server.models_failure is not None:
                    self._fail(server.models_failure)
                else:
                    self._send(200, {"object": "list", "data": [{"id": server.served}]})
            elif self.path == "/version":
                self._send(200, {"version": "fake-1.0"})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.auth.add(self.headers.get("Authorization"))
            failure = server.next_failure()
            with server.lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                time.sleep(server.delay_s)
                if failure is not None:
                    self._fail(failure)
                    return
                server.bodies.append(body)
                self._send(200, server.answer(self.path, body))
            finally:
                with server.lock:
                    server.in_flight -= 1

    return Handler
