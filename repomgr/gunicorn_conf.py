"""gunicorn settings for `make run` (and the test suite's live server).

Threads, not processes, carry concurrency: long uploads and downloads (sent with sendfile)
hold a thread, not a whole worker. REPOMGR_BIND, REPOMGR_WORKERS and REPOMGR_THREADS tune it.
"""

import contextlib
import functools
import multiprocessing
import os
import socket

from gunicorn.http.wsgi import Response

bind = os.environ.get("REPOMGR_BIND", "127.0.0.1:8000").split(",")
workers = int(os.environ.get("REPOMGR_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("REPOMGR_THREADS", "16"))
worker_class = "gthread"
# A worker is only restarted for being silent this long; transfers do not count against it.
timeout = 120
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("REPOMGR_ACCESS_LOG", "-") or None
# The request line only: never headers, which carry credentials.
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'


def _corked(sendfile):
    """gunicorn's sendfile with the TCP socket corked (TCP_CORK, nginx's tcp_nopush) while the
    headers and the file go out, so that only full segments leave. gunicorn sets TCP_NODELAY
    and has no such setting. Over loopback (a proxy on the same host) one 50 MB download is
    about a sixth faster corked, eight at once a few percent slower (bench/README.md)."""

    @functools.wraps(sendfile)
    def send(response, respiter):
        if response.sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sendfile(response, respiter)
        response.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        try:
            return sendfile(response, respiter)
        finally:
            with contextlib.suppress(OSError):  # the client may be gone
                response.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    return send


if hasattr(socket, "TCP_CORK"):  # Linux; a reload wraps gunicorn's own method again, not ours
    Response.sendfile = _corked(getattr(Response.sendfile, "__wrapped__", Response.sendfile))
