import os
from pathlib import Path

import pytest

from tests.livestack import ROOT, LiveServer

from .s3server import S3Server


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1, started for this test session."""
    server = S3Server(Path(os.environ.get("REPOMGR_DATA_DIR", ROOT / "var" / "test"))).start()
    yield server
    server.stop()


def _s3_live_server(s3_server, django_db_blocker, *, redirect: bool):
    bucket = s3_server.new_bucket()
    with django_db_blocker.unblock():
        server = LiveServer(env=s3_server.server_env(bucket, prefix="store", redirect=redirect),
                            log_name="server-s3").start()
    server.bucket, server.prefix = bucket, "store/"
    return server


@pytest.fixture(scope="session")
def s3_live_server(s3_server, django_db_setup, django_db_blocker):
    """repomgr with REPOMGR_STORAGE=s3 against the session's S3 server, streaming downloads."""
    server = _s3_live_server(s3_server, django_db_blocker, redirect=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_redirect_server(s3_server, django_db_setup, django_db_blocker):
    """repomgr on S3 with REPOMGR_STORAGE_REDIRECT=1: downloads are presigned redirects."""
    server = _s3_live_server(s3_server, django_db_blocker, redirect=True)
    yield server
    server.stop()
