"""The BlobStore conformance suite: every backend (filesystem, S3) passes the same tests.

S3 runs against moto's server on 127.0.0.1, through django-storages, as in production.
"""

import hashlib
import os

import pytest
import requests
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from apps.packages.storage import BlobStore, S3BlobStore, Spool, blob_key

BACKENDS = ["filesystem", "s3"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> BlobStore:
    if request.param == "filesystem":
        return BlobStore(FileSystemStorage(location=tmp_path / "store", allow_overwrite=True))
    s3 = request.getfixturevalue("s3_server")
    return S3BlobStore(S3Storage(**s3.storage_options(s3.new_bucket(), prefix="blobs-prefix")))


def put(store: BlobStore, data: bytes) -> str:
    spool = Spool()
    with spool:
        spool.write(data)
        spool.finish()
        sha256 = spool.digests()["sha256"]
        store.put(sha256, spool)
    return sha256


def read_all(store: BlobStore, sha256: str, chunk: int = 64 * 1024) -> bytes:
    parts = []
    with store.open(sha256) as handle:
        while data := handle.read(chunk):
            parts.append(data)
    return b"".join(parts)


@pytest.mark.parametrize("size", [0, 1, 100_000, 20 * 1024 * 1024 + 7])
def test_put_then_open_returns_the_same_bytes(store, size):
    data = os.urandom(size)
    sha256 = hashlib.sha256(data).hexdigest()
    assert not store.exists(sha256)
    assert put(store, data) == sha256
    assert store.exists(sha256)
    assert read_all(store, sha256) == data


def test_bytes_live_under_the_content_addressed_key(store):
    sha256 = put(store, b"layout")
    assert blob_key(sha256) == f"blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"
    assert store.storage.exists(blob_key(sha256))
    with store.storage.open(blob_key(sha256), "rb") as raw:
        assert raw.read() == b"layout"


def test_putting_the_same_bytes_again_changes_nothing(store):
    data = os.urandom(50_000)
    first = put(store, data)
    assert put(store, data) == first
    assert read_all(store, first) == data


def test_reading_from_an_offset(store):
    data = os.urandom(300_000)
    sha256 = put(store, data)
    handle = store.open(sha256)
    try:
        handle.seek(123_456)
        assert handle.read(10) == data[123_456:123_466]
        assert handle.read(-1) == data[123_466:]
        assert handle.read(10) == b""
    finally:
        handle.close()


def test_a_missing_blob(store):
    sha256 = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(sha256)
    with pytest.raises(FileNotFoundError):
        with store.open(sha256) as handle:
            handle.read(1)


def test_delete_removes_the_bytes_and_tolerates_a_missing_blob(store):
    sha256 = put(store, b"short-lived")
    store.delete(sha256)
    assert not store.exists(sha256)
    store.delete(sha256)


def test_the_spool_leaves_no_temp_file(store, settings):
    before = set(os.listdir(settings.TMP_DIR))
    put(store, os.urandom(2 * 1024 * 1024))
    assert set(os.listdir(settings.TMP_DIR)) == before


def test_redirect_urls_only_where_the_backend_has_them_and_redirects_are_on(store, settings):
    data = os.urandom(10_000)
    sha256 = put(store, data)
    settings.STORAGE_REDIRECT = False
    assert store.redirect_url(sha256, "file.bin") is None
    settings.STORAGE_REDIRECT = True
    url = store.redirect_url(sha256, "file.bin")
    if isinstance(store, S3BlobStore):
        fetched = requests.get(url, timeout=10)
        assert fetched.status_code == 200 and fetched.content == data
        assert fetched.headers["Content-Disposition"] == 'attachment; filename="file.bin"'
        assert "Signature" in url
    else:
        assert url is None


def test_usage_names_the_backend(store):
    usage = store.usage()
    expected = "s3" if isinstance(store, S3BlobStore) else "filesystem"
    assert usage["storageType"] == expected
    if expected == "filesystem":
        assert usage["totalSpace"] >= usage["freeSpace"] > 0
