"""The gunicorn settings `make run` serves with: a file response leaves by copying, in blocks
of STREAM_BLOCK, never through sendfile(2) (repomgr/gunicorn_conf.py says why)."""

import socket
from concurrent.futures import ThreadPoolExecutor

from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from apps.core.http import STREAM_BLOCK, file_response
from repomgr import gunicorn_conf


class WatchedSocket(socket.socket):
    """A real TCP socket that notes the size of each write (sendfile(2) bypasses it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = []

    def sendall(self, data, *args):
        self.sent.append(len(data))
        return super().sendall(data, *args)


def receive_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def served_config() -> Config:
    """gunicorn's configuration with our settings file applied, as `gunicorn --config` does."""
    cfg = Config()
    for name, value in vars(gunicorn_conf).items():
        if name in cfg.settings:
            cfg.set(name, value)
    return cfg


def test_a_file_leaves_in_stream_blocks_not_through_sendfile(tmp_path):
    content = bytes(range(256)) * 10_000  # 2.44 blocks
    path = tmp_path / "file"
    path.write_bytes(content)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=30)
        accepted, peer = listener.accept()
        server = WatchedSocket(fileno=accepted.detach())
        with ThreadPoolExecutor(1) as reader, client, server:
            received = reader.submit(receive_all, client)
            cfg = served_config()
            request = next(RequestParser(cfg, iter([b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n"]), peer))
            response, environ = wsgi.create(request, server, peer, listener.getsockname(), cfg)
            response.start_response("200 OK", [("Content-Length", str(len(content))),
                                               ("Connection", "close")])
            django_response = file_response(open(path, "rb"))  # a real descriptor, as pages are
            # What Django's WSGI handler does with a FileResponse.
            response.write_file(environ["wsgi.file_wrapper"](django_response.file_to_stream,
                                                             django_response.block_size))
            response.close()
            django_response.close()
            server.shutdown(socket.SHUT_WR)
            head, _, body = received.result(timeout=30).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == content
    assert server.sent[1:] == [STREAM_BLOCK, STREAM_BLOCK, len(content) - 2 * STREAM_BLOCK]
