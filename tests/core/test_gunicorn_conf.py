"""The gunicorn settings `make run` serves with: files leave with sendfile(2) through a corked
socket, which is uncorked again once they are out."""

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

import repomgr.gunicorn_conf  # noqa: F401  (wraps gunicorn's Response.sendfile)

pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux's")


class WatchedSocket(socket.socket):
    """A real TCP socket that notes the kernel's TCP_CORK state when a file is handed to it."""

    corked_while_sending = None

    def sendfile(self, file, offset=0, count=None):
        self.corked_while_sending = self.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK)
        return super().sendfile(file, offset, count)


def receive_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_file_is_sent_corked_and_the_socket_uncorked_after(tmp_path):
    content = bytes(range(256)) * 40_000
    path = tmp_path / "file"
    path.write_bytes(content)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=30)
        accepted, peer = listener.accept()
        server = WatchedSocket(fileno=accepted.detach())
        with ThreadPoolExecutor(1) as reader, client, server:
            received = reader.submit(receive_all, client)
            cfg = Config()
            request = next(RequestParser(cfg, iter([b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n"]), peer))
            response, environ = wsgi.create(request, server, peer, listener.getsockname(), cfg)
            response.start_response("200 OK", [("Content-Length", str(len(content))),
                                               ("Connection", "close")])
            with open(path, "rb") as file:
                response.write_file(environ["wsgi.file_wrapper"](file))
            response.close()
            assert server.corked_while_sending == 1
            assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 0
            server.shutdown(socket.SHUT_WR)
            head, _, body = received.result(timeout=30).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == content
