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


# Where the default remote repositories point in tests: a closed port, so that no test reaches
# pypi.org or Docker Hub (a test wanting an upstream starts its own on 127.0.0.1).
CLOSED_UPSTREAM = "http://127.0.0.1:9"


@pytest.fixture
def bootstrapped(transactional_db):
    """The state `make run` creates: admin, anonymous read, default repositories, with the
    default remotes' upstreams at CLOSED_UPSTREAM."""
    from apps.repositories.models import Repository

    call_command("bootstrap", stdout=io.StringIO(), stderr=io.StringIO())
    for remote in Repository.objects.filter(key__in=["pypi-remote", "docker-remote"]):
        remote.url = CLOSED_UPSTREAM
        remote.save()


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
