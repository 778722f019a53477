"""gunicorn settings for `make run` (and the test suite's live server).

Threads, not processes, carry concurrency: long uploads and downloads (sent with sendfile)
hold a thread, not a whole worker. REPOMGR_BIND, REPOMGR_WORKERS and REPOMGR_THREADS tune it.
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
