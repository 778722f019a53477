import io
import os
import shutil
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from tests.livestack import LiveServer

ADMIN = ("admin", "password")


@pytest.fixture(scope="session", autouse=True)
def _clean_data_dir():
    """Each run starts with an empty blob store and temp dir."""
    data = Path(os.environ.get("REPOMGR_DATA_DIR", ""))
    if data.name.startswith("test"):
        for sub in ("storage", "tmp"):
            shutil.rmtree(data / sub, ignore_errors=True)
            (data / sub).mkdir(parents=True, exist_ok=True)
    yield


@pytest.fixture(scope="session")
def live_server_process(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture
def bootstrapped(transactional_db):
    """The state `make run` creates: admin, anonymous read, default repositories."""
    call_command("bootstrap", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture
def server(live_server_process, bootstrapped) -> LiveServer:
    """A live repomgr (gunicorn) over a freshly bootstrapped test database."""
    return live_server_process


@pytest.fixture
def admin_http() -> requests.Session:
    session = requests.Session()
    session.auth = ADMIN
    return session


@pytest.fixture
def http() -> requests.Session:
    return requests.Session()
