"""Two repomgr nodes sharing one database and one S3 bucket, each with its own disk: the
chunks of one blob upload may arrive at either node, and so may the closing PUT."""

import os

import pytest
import requests

from tests.factories.docker import OCI_MANIFEST, make_image, push_image, sha256
from tests.livestack import LiveServer
from tests.storage.s3server import S3Server

pytestmark = pytest.mark.django_db(transaction=True)
ADMIN = ("admin", "password")


@pytest.fixture
def nodes(bootstrapped, tmp_path):
    s3 = S3Server(tmp_path).start()
    bucket = s3.new_bucket()
    env = s3.server_env(bucket, prefix="store")
    started = []
    try:
        for node in ("a", "b"):
            data_dir = tmp_path / f"node-{node}"
            started.append(LiveServer(env={**env, "REPOMGR_DATA_DIR": str(data_dir),
                                           "REPOMGR_SECRET_KEY": "shared-by-both-nodes"},
                                      log_name=f"node-{node}").start())
        yield started, lambda: s3.keys(bucket)
    finally:
        for server in started:
            server.stop()
        s3.stop()


def test_an_upload_moves_between_nodes(nodes):
    (a, b), keys = nodes
    session = requests.Session()
    session.auth = ADMIN
    data = os.urandom(3 * 1024 * 1024 + 5)
    started = session.post(f"{a.url}/v2/docker-local/team/app/blobs/uploads/")
    path = started.headers["Location"]
    first = session.patch(b.url + path, data=data[:1_000_000], headers={"Content-Range": "0-999999"})
    assert first.status_code == 202, first.text
    second = session.patch(a.url + path, data=data[1_000_000:], headers={"Content-Range": f"1000000-{len(data) - 1}"})
    assert second.status_code == 202 and second.headers["Range"] == f"0-{len(data) - 1}"
    assert session.get(b.url + path).headers["Range"] == f"0-{len(data) - 1}"
    closed = session.put(b.url + path, params={"digest": sha256(data)})
    assert closed.status_code == 201, closed.text
    assert session.get(f"{a.url}/v2/docker-local/team/app/blobs/{sha256(data)}").content == data

    # One PATCH with the whole blob, closed on the other node.
    whole = os.urandom(500_000)
    path = session.post(f"{b.url}/v2/docker-local/team/app/blobs/uploads/").headers["Location"]
    assert session.patch(a.url + path, data=whole).status_code == 202
    assert session.put(b.url + path, params={"digest": sha256(whole)}).status_code == 201
    assert not [key for key in keys() if "/uploads/" in key]

    image = make_image()
    assert push_image(session, a.url, "docker-local/team/app", image, "1").status_code == 201
    pulled = session.get(f"{b.url}/v2/docker-local/team/app/manifests/1", headers={"Accept": OCI_MANIFEST})
    assert pulled.content == image.manifest
