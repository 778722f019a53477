"""Deploy and download over HTTP with each blob store behind the live server: the filesystem
store and S3 (moto on 127.0.0.1), streamed through repomgr or answered with presigned redirects."""

import hashlib
import os
from urllib.parse import urlsplit

import pytest
import requests

from apps.packages.models import Artifact, Blob
from apps.packages.storage import blob_key
from apps.security.models import SecuritySettings
from tests.factories import grant, make_repository, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["filesystem", "s3"])
def stack(request, bootstrapped):
    """A live server per backend, and a way to list what its store holds for a sha256."""
    if request.param == "filesystem":
        server = request.getfixturevalue("server")
        root = request.getfixturevalue("settings").DATA_DIR / "storage"
        server.stored = lambda sha256: [blob_key(sha256)] if (root / blob_key(sha256)).exists() else []
    else:
        server = request.getfixturevalue("s3_live_server")
        s3 = request.getfixturevalue("s3_server")
        server.stored = lambda sha256: [k for k in s3.keys(server.bucket) if k.endswith(sha256)]
    return server


def test_deploy_download_and_ranges(stack, admin_http, http):
    data = os.urandom(3 * 1024 * 1024 + 11)
    sha256 = hashlib.sha256(data).hexdigest()
    url = f"{stack.url}/generic-local/store/app.bin"
    put = admin_http.put(url, data=data)
    assert put.status_code == 201, put.text
    assert put.json()["checksums"]["sha256"] == sha256

    got = http.get(url)
    assert got.status_code == 200 and got.content == data
    assert got.headers["X-Checksum-Sha256"] == sha256
    head = http.head(url)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    part = http.get(url, headers={"Range": "bytes=1048576-1048675"})
    assert part.status_code == 206 and part.content == data[1048576:1048676]
    tail = http.get(url, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]


def test_same_content_under_two_paths_is_stored_once(stack, admin_http):
    data = os.urandom(200_000)
    sha256 = hashlib.sha256(data).hexdigest()
    for path in ("first/a.bin", "second/b.bin"):
        assert admin_http.put(f"{stack.url}/generic-local/{path}", data=data).status_code == 201
    assert len(stack.stored(sha256)) == 1
    assert Blob.objects.filter(sha256=sha256).count() == 1
    summary = admin_http.get(f"{stack.url}/api/storageinfo").json()["binariesSummary"]
    assert summary["binariesSizeInBytes"] == len(data)
    assert summary["artifactsSizeInBytes"] == 2 * len(data)


def test_a_mismatched_checksum_stores_nothing(stack, admin_http):
    data = os.urandom(100_000)
    sha256 = hashlib.sha256(data).hexdigest()
    refused = admin_http.put(f"{stack.url}/generic-local/bad.bin", data=data,
                             headers={"X-Checksum-Sha256": "0" * 64})
    assert refused.status_code == 409
    assert stack.stored(sha256) == [] and not Blob.objects.filter(sha256=sha256).exists()


def test_checksum_deploy_finds_bytes_in_the_store(stack, admin_http, http):
    data = os.urandom(50_000)
    sha1 = hashlib.sha1(data).hexdigest()
    admin_http.put(f"{stack.url}/generic-local/orig.bin", data=data)
    made = admin_http.put(f"{stack.url}/generic-local/copy.bin",
                          headers={"X-Checksum-Deploy": "true", "X-Checksum-Sha1": sha1})
    assert made.status_code == 201
    assert http.get(f"{stack.url}/generic-local/copy.bin").content == data


# --- presigned redirects (S3 with REPOMGR_STORAGE_REDIRECT=1) ----------------------------------

def test_downloads_redirect_to_a_presigned_url(s3_redirect_server, s3_server, bootstrapped,
                                                admin_http, http):
    server = s3_redirect_server
    data = os.urandom(1024 * 1024)
    sums = {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}
    url = f"{server.url}/generic-local/dist/tool.tar.gz"
    assert admin_http.put(url, data=data).status_code == 201

    redirect = http.get(url, allow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert urlsplit(location).netloc == f"127.0.0.1:{s3_server.port}"
    assert redirect.headers["X-Checksum-Sha256"] == sums["sha256"]
    assert redirect.headers["ETag"] == f'"{sums["sha1"]}"'
    assert "password" not in location and "test-secret-key" not in location

    followed = http.get(url)
    assert followed.status_code == 200 and followed.content == data
    assert followed.headers["Content-Disposition"] == 'attachment; filename="tool.tar.gz"'
    assert requests.get(location, headers={"Range": "bytes=10-19"}).content == data[10:20]
    assert http.head(url, allow_redirects=False).status_code == 302
    # A client holding a current copy gets 304 from repomgr, with no trip to the store.
    assert http.get(url, headers={"If-None-Match": redirect.headers["ETag"]},
                    allow_redirects=False).status_code == 304


def test_no_redirect_before_authorization(s3_redirect_server, bootstrapped, admin_http):
    server = s3_redirect_server
    make_repository("private-local")
    make_user("reader")
    make_user("stranger")
    grant("private-read", repositories=["private-local"], users={"reader": ["read"]})
    url = f"{server.url}/private-local/secret.bin"
    assert admin_http.put(url, data=b"top secret").status_code == 201
    SecuritySettings.objects.update_or_create(pk=1, defaults={"anonymous_access": False})

    anonymous = requests.get(url, allow_redirects=False)
    assert anonymous.status_code == 401 and "Location" not in anonymous.headers
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    stranger = requests.get(url, auth=("stranger", "secret-pass"), allow_redirects=False)
    assert stranger.status_code == 403 and "Location" not in stranger.headers
    reader = requests.get(url, auth=("reader", "secret-pass"))
    assert reader.status_code == 200 and reader.content == b"top secret"
    assert Artifact.objects.get(path="secret.bin").download_count == 1


def test_the_filesystem_store_ignores_the_redirect_setting(server, admin_http, http, settings):
    # The test's own server uses the filesystem store; a redirect URL exists only for S3.
    assert settings.STORAGE_BACKEND == "filesystem"
    url = f"{server.url}/generic-local/plain.bin"
    admin_http.put(url, data=b"plain")
    assert http.get(url, allow_redirects=False).status_code == 200
