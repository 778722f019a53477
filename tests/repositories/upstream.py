"""A tiny upstream file server for remote-repository tests, on 127.0.0.1: it counts what it
is asked, can demand credentials, and can hold a download halfway until the test lets it go."""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Upstream:
    def __init__(self, credentials: tuple[str, str] | None = None):
        self.files: dict[str, bytes] = {}
        self.statuses: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}  # extra response headers per path
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Authorization)
        self.credentials = credentials
        self.gate = threading.Event()
        self.gate.set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "Upstream":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()

    def asked(self, path: str) -> int:
        return sum(1 for _, asked, _ in self.requests if asked == path)

    def _handler(self):
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def end_headers(self):
                # No keep-alive: once stopped, the upstream must answer nothing at all.
                self.send_header("Connection", "close")
                self.close_connection = True
                super().end_headers()

            def log_message(self, *args):
                pass

            def do_GET(self):
                upstream.requests.append(("GET", self.path, self.headers.get("Authorization", "")))
                if upstream.credentials and self.headers.get("Authorization") != _basic(*upstream.credentials):
                    return self._empty(401, {"WWW-Authenticate": 'Basic realm="upstream"'})
                if self.path in upstream.statuses:
                    return self._empty(upstream.statuses[self.path])
                data = upstream.files.get(self.path)
                if data is None:
                    return self._empty(404)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                for name, value in upstream.headers.get(self.path, {}).items():
                    self.send_header(name, value)
                self.end_headers()
                half = len(data) // 2
                self.wfile.write(data[:half])
                self.wfile.flush()
                upstream.gate.wait(60)
                self.wfile.write(data[half:])

            def _empty(self, status: int, headers: dict | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
