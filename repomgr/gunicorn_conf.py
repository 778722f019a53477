"""gunicorn settings for `make run` (and the test suite's live server).

Threads, not processes, carry concurrency: long uploads and downloads hold a thread, not a
whole worker. REPOMGR_BIND, REPOMGR_WORKERS and REPOMGR_THREADS tune it.
"""

import multiprocessing
import os

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
# Files leave in 1 MB blocks (apps.core.http.STREAM_BLOCK), not through sendfile(2): on this
# project's bench machine that was faster at one download and at eight alike (Docker pulls and
# PyPI downloads over loopback, as from a proxy on the same host; bench/README.md), for more
# CPU per byte (about 20 ms against 12 ms per 200 MB).
sendfile = False
