"""HTTP requests written byte for byte on a socket, for what HTTP libraries would tidy up
(dot segments, backslashes, encoded slashes) or never do (stop halfway through a body)."""

import base64
import json
import socket
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request_head(method: str, target: str, host: str, headers: dict | None = None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_response(sock: socket.socket) -> RawResponse:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), headers, body)


def send(port: int, method: str, target: str, *, body: bytes = b"", headers: dict | None = None,
         timeout: float = 30) -> RawResponse:
    """One request with ``target`` exactly as given on the request line."""
    headers = {"Content-Length": str(len(body)), **(headers or {})} if method in ("PUT", "POST") else headers
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request_head(method, target, f"127.0.0.1:{port}", headers) + body)
        return read_response(sock)
