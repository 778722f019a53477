"""Celery processes for tests: a real worker (and beat) over the test database, with the
embedded filesystem broker or Redis."""

import os
import shutil
import subprocess
from pathlib import Path

from celery import Celery
from django.conf import settings

from tests.livestack import BIN, ROOT, stop_process, test_database_url

REDIS_TEST_BROKER = "redis://127.0.0.1:6379/11"


def embedded_broker_options(data_dir: Path | None = None) -> dict:
    """The transport options settings.py gives the embedded broker (a folder in the data dir)."""
    celery_dir = (data_dir or settings.DATA_DIR) / "celery"
    queue = celery_dir / "queue"
    return {"data_folder_in": str(queue), "data_folder_out": str(queue),
            "processed_folder": str(celery_dir / "processed"), "store_processed": False,
            "control_folder": str(celery_dir / "control")}


def empty_broker(broker: str) -> None:
    """Drop messages a previous run may have left behind."""
    if broker == "filesystem://":
        queue = Path(embedded_broker_options()["data_folder_in"])
        shutil.rmtree(queue, ignore_errors=True)
        queue.mkdir(parents=True)
    else:
        import redis

        redis.Redis.from_url(broker).flushdb()


def send_task(broker: str, name: str, *, data_dir: Path | None = None, **kwargs) -> None:
    """Queue a task on ``broker`` (named outright: a CELERY_BROKER_URL in the environment
    would otherwise win over Celery's ``broker`` argument); the embedded broker of
    ``data_dir``, default the tests' own."""
    options = embedded_broker_options(data_dir) if broker == "filesystem://" else {}
    app = Celery("repomgr-test")
    try:
        with app.connection_for_write(broker, transport_options=options) as connection:
            app.send_task(name, kwargs=kwargs, connection=connection)
    finally:
        app.close()


class CeleryProcess:
    """``celery worker`` or ``celery beat`` for the repomgr app, as the Procfile runs them."""

    def __init__(self, kind: str, broker: str, env: dict | None = None):
        self.kind = kind
        data_dir = Path(os.environ.get("REPOMGR_DATA_DIR", ROOT / "var" / "test"))
        self.log_path = data_dir / f"celery-{kind}-{os.getpid()}.log"
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
                    "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": broker, **(env or {})}
        self.process: subprocess.Popen | None = None

    def start(self) -> "CeleryProcess":
        args = [str(BIN / "celery"), "--app", "repomgr", self.kind, "--loglevel", "INFO"]
        if self.kind == "worker":
            args += ["--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        else:
            args += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile="]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
