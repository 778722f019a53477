"""A PEP 691 index the test starts itself on 127.0.0.1: serves JSON or HTML simple pages (by
Accept), files and their .metadata, counts every request, can be slowed and stopped."""

import hashlib
import json
import socket
import threading
import time
import zipfile
from collections import Counter
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from apps.pypi.distributions import normalize, parse_filename


class StaticIndex:
    def __init__(self, *, html_only: bool = False, chunk_delay: float = 0.0):
        self.projects: dict[str, list[dict]] = {}
        self.blobs: dict[str, bytes] = {}
        self.metadata: dict[str, bytes] = {}
        self.hits: Counter = Counter()
        self.authorizations: list[tuple[str, str]] = []  # (path, Authorization header) received
        self._lock = threading.Lock()
        self._connections: list = []
        self.html_only = html_only
        self.chunk_delay = chunk_delay
        self.page_delay = 0.0  # seconds a simple page takes to start: a slow upstream
        self._server: ThreadingHTTPServer | None = None

    # --- content ----------------------------------------------------------------------------
    def add(self, path: Path, *, upload_time: str | None = "2024-01-02T03:04:05.123456Z",
            yanked=False, requires_python: str | None = None, with_metadata: bool = True,
            wrong_sha256: bool = False, file_host: "StaticIndex | None" = None) -> dict:
        """List ``path`` in its project's page; ``file_host`` serves the file (and its
        metadata) instead of this index, under an absolute URL."""
        data = Path(path).read_bytes()
        dist = parse_filename(path.name)
        host = file_host or self
        entry = {"filename": path.name,
                 "url": f"{file_host.url}/files/{path.name}" if file_host else f"../../files/{path.name}",
                 "hashes": {"sha256": "0" * 64 if wrong_sha256 else hashlib.sha256(data).hexdigest()},
                 "requires-python": requires_python, "yanked": yanked, "size": len(data)}
        if upload_time:
            entry["upload-time"] = upload_time
        if with_metadata and path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
                host.metadata[path.name] = archive.read(name)
            entry["core-metadata"] = {"sha256": hashlib.sha256(host.metadata[path.name]).hexdigest()}
        host.blobs[path.name] = data
        self.projects.setdefault(dist.project, []).append(entry)
        return entry

    # --- serving ----------------------------------------------------------------------------
    def start(self, port: int = 0) -> "StaticIndex":
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes: without this, Nagle's algorithm and
            # delayed ACKs stall every keep-alive response by tens of milliseconds.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                index._connections.append(self.connection)

            def do_GET(self):
                with index._lock:
                    index.hits[self.path] += 1
                    if self.headers.get("Authorization"):
                        index.authorizations.append((self.path, self.headers["Authorization"]))
                index._answer(self)

        ThreadingHTTPServer.request_queue_size = 128
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop listening and cut every open (keep-alive) connection: the upstream is gone."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _answer(self, handler) -> None:
        path = handler.path.split("?")[0]
        parts = [p for p in path.split("/") if p]
        wants_json = "vnd.pypi.simple.v1+json" in handler.headers.get("Accept", "") and not self.html_only
        if parts[:1] == ["simple"] and self.page_delay:
            time.sleep(self.page_delay)
        if parts == ["simple"]:
            return self._page(handler, wants_json, *self._root())
        if len(parts) == 2 and parts[0] == "simple":
            if parts[1] != normalize(parts[1]):
                return self._send(handler, 301, b"", "text/plain", {"Location": f"/simple/{normalize(parts[1])}/"})
            if parts[1] not in self.projects:
                return self._send(handler, 404, b"not found", "text/plain")
            return self._page(handler, wants_json, *self._project(parts[1]))
        if len(parts) == 2 and parts[0] == "files":
            name = parts[1]
            if name.endswith(".metadata") and name[:-9] in self.metadata:
                return self._send(handler, 200, self.metadata[name[:-9]], "application/octet-stream")
            if name in self.blobs:
                return self._send(handler, 200, self.blobs[name], "application/octet-stream", slow=True)
        self._send(handler, 404, b"not found", "text/plain")

    def _root(self):
        data = {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in sorted(self.projects)]}
        links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(self.projects))
        return data, links

    def _project(self, project):
        files = self.projects[project]
        versions = sorted({parse_filename(f["filename"]).version for f in files})
        data = {"meta": {"api-version": "1.1"}, "name": project, "versions": versions, "files": files}
        links = "".join(self._anchor(f) for f in files)
        return data, links

    @staticmethod
    def _anchor(f) -> str:
        attrs = f'href="{f["url"]}#sha256={f["hashes"]["sha256"]}"'
        if f.get("requires-python"):
            attrs += f' data-requires-python="{escape(f["requires-python"])}"'
        if f.get("yanked"):
            attrs += f' data-yanked="{escape(f["yanked"]) if isinstance(f["yanked"], str) else ""}"'
        if f.get("core-metadata"):
            attrs += f' data-core-metadata="sha256={f["core-metadata"]["sha256"]}"'
        return f'<a {attrs}>{f["filename"]}</a><br/>\n'

    def _page(self, handler, wants_json, data, links):
        if wants_json:
            return self._send(handler, 200, json.dumps(data).encode(), "application/vnd.pypi.simple.v1+json")
        body = f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode()
        self._send(handler, 200, body, "text/html")

    def _send(self, handler, status, body: bytes, content_type: str, headers: dict | None = None,
              slow: bool = False) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        step = max(1, len(body) // 20) if slow and self.chunk_delay else len(body) or 1
        try:
            for start in range(0, len(body), step):
                handler.wfile.write(body[start:start + step])
                if slow and self.chunk_delay:
                    handler.wfile.flush()
                    time.sleep(self.chunk_delay)
        except (BrokenPipeError, ConnectionResetError):
            pass
