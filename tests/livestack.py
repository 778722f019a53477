"""Start real processes for tests: repomgr under gunicorn against the test database, and
small helpers to wait for a port."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def stop_process(process: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_database_url() -> str:
    """A DATABASE_URL for the database the test run created (pytest-django's test_ database)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class LiveServer:
    """repomgr served by gunicorn in a child process, sharing the tests' database and data dir."""

    def __init__(self, env: dict | None = None, log_name: str = "server"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.log_path = Path(os.environ.get("REPOMGR_DATA_DIR", ROOT / "var" / "test")) / f"{log_name}-{self.port}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": test_database_url(),
            "REPOMGR_BIND": self.host,
            "REPOMGR_WORKERS": "2",
            "REPOMGR_THREADS": "8",
            # Several servers share one PostgreSQL (100 connections) during a run: hold none idle.
            "REPOMGR_DB_CONN_MAX_AGE": "0",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "LiveServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "repomgr/gunicorn_conf.py", "repomgr.wsgi"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for_http(self.url + "/api/system/ping", process=self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
