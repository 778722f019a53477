"""The raw artifact API over HTTP against a live server: what curl, Jenkins and scripts do."""

import hashlib
import os

import pytest
import requests

from apps.packages.models import Artifact, Blob
from apps.packages.storage import blob_key
from tests.factories import make_repository

pytestmark = pytest.mark.django_db(transaction=True)


def digests(data: bytes) -> dict:
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}


def test_deploy_then_download_returns_same_bytes_and_checksums(server, admin_http, http):
    data = os.urandom(300_000)
    sums = digests(data)
    put = admin_http.put(f"{server.url}/generic-local/a/b/file.bin", data=data)
    assert put.status_code == 201, put.text
    created = put.json()
    assert created["repo"] == "generic-local" and created["path"] == "/a/b/file.bin"
    assert created["size"] == str(len(data)) and created["checksums"] == {
        "sha1": sums["sha1"], "md5": sums["md5"], "sha256": sums["sha256"]}
    assert created["downloadUri"] == f"{server.url}/generic-local/a/b/file.bin"
    assert put.headers["Content-Type"].startswith("application/vnd.org.jfrog.artifactory.storage.ItemCreated+json")

    got = http.get(f"{server.url}/generic-local/a/b/file.bin")
    assert got.status_code == 200 and got.content == data
    assert got.headers["X-Checksum-Sha256"] == sums["sha256"]
    assert got.headers["X-Checksum-Sha1"] == sums["sha1"]
    assert got.headers["X-Checksum-Md5"] == sums["md5"]
    assert got.headers["ETag"] == f'"{sums["sha1"]}"'
    assert "Last-Modified" in got.headers

    head = http.head(f"{server.url}/generic-local/a/b/file.bin")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    assert head.content == b""
    assert Artifact.objects.get(path="a/b/file.bin").download_count == 1


def test_same_content_under_two_paths_is_stored_once(server, admin_http, settings):
    data = b"dedup me" * 1000
    for path in ("one/x.bin", "two/y.bin"):
        assert admin_http.put(f"{server.url}/generic-local/{path}", data=data).status_code == 201
    sha256 = hashlib.sha256(data).hexdigest()
    assert Blob.objects.filter(sha256=sha256).count() == 1
    assert Artifact.objects.filter(blob__sha256=sha256).count() == 2
    stored = settings.DATA_DIR / "storage" / blob_key(sha256)
    assert stored.read_bytes() == data
    info = admin_http.get(f"{server.url}/api/storageinfo").json()["binariesSummary"]
    assert info["binariesSizeInBytes"] == len(data) and info["artifactsSizeInBytes"] == 2 * len(data)


def test_ranges_and_conditional_requests(server, admin_http, http):
    data = bytes(range(256)) * 100
    admin_http.put(f"{server.url}/generic-local/r.bin", data=data)
    url = f"{server.url}/generic-local/r.bin"

    part = http.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = http.get(url, headers={"Range": "bytes=-7"})
    assert tail.status_code == 206 and tail.content == data[-7:]
    bad = http.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{len(data)}"

    etag = http.get(url).headers["ETag"]
    assert http.get(url, headers={"If-None-Match": etag}).status_code == 304
    changed = http.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert changed.status_code == 200 and changed.content == data


def test_declared_checksums_are_verified_and_a_mismatch_stores_nothing(server, admin_http):
    data = b"checked content"
    sums = digests(data)
    ok = admin_http.put(f"{server.url}/generic-local/ok.txt", data=data, headers={
        "X-Checksum-Sha1": sums["sha1"], "X-Checksum-Sha256": sums["sha256"], "X-Checksum-Md5": sums["md5"]})
    assert ok.status_code == 201

    other = b"different content"
    for header in ("X-Checksum-Sha1", "X-Checksum-Sha256", "X-Checksum-Md5", "X-Checksum"):
        bad = admin_http.put(f"{server.url}/generic-local/bad.txt", data=other,
                             headers={header: sums["sha256" if header == "X-Checksum" else header.split("-")[-1].lower()]})
        assert bad.status_code == 409, (header, bad.text)
        assert bad.json()["errors"][0]["status"] == 409
    assert not Artifact.objects.filter(path="bad.txt").exists()
    assert not Blob.objects.filter(sha256=hashlib.sha256(other).hexdigest()).exists()


def test_checksum_deploy(server, admin_http):
    data = os.urandom(5000)
    sha256 = hashlib.sha256(data).hexdigest()
    url = f"{server.url}/generic-local/by-checksum/copy.bin"
    missing = admin_http.put(url, headers={"X-Checksum-Deploy": "true", "X-Checksum-Sha256": sha256})
    assert missing.status_code == 404
    admin_http.put(f"{server.url}/generic-local/original.bin", data=data)
    for header, value in (("X-Checksum-Sha256", sha256), ("X-Checksum-Sha1", hashlib.sha1(data).hexdigest())):
        made = admin_http.put(url, headers={"X-Checksum-Deploy": "true", header: value})
        assert made.status_code == 201, made.text
    assert requests.get(url).content == data


def test_matrix_properties_on_deploy(server, admin_http, http):
    url = f"{server.url}/generic-local/app/app-1.0.tgz;build.name=app;build.number=42;tags=a,b"
    assert admin_http.put(url, data=b"x").status_code == 201
    artifact = Artifact.objects.get(path="app/app-1.0.tgz")
    assert sorted(artifact.properties.values_list("key", "value")) == [
        ("build.name", "app"), ("build.number", "42"), ("tags", "a"), ("tags", "b")]
    props = http.get(f"{server.url}/api/storage/generic-local/app/app-1.0.tgz?properties").json()
    assert props["properties"] == {"build.name": ["app"], "build.number": ["42"], "tags": ["a", "b"]}


def test_overwrite_needs_different_content_or_delete_permission(server, admin_http):
    url = f"{server.url}/generic-local/f.txt"
    assert admin_http.put(url, data=b"one").status_code == 201
    assert admin_http.put(url, data=b"one").status_code == 201
    assert admin_http.put(url, data=b"two").status_code == 201  # admin may delete, so may overwrite
    assert requests.get(url).content == b"two"
    folder_clash = admin_http.put(f"{server.url}/generic-local/f.txt/inner", data=b"x")
    assert folder_clash.status_code == 409


def test_delete_file_and_folder(server, admin_http, http):
    for path in ("d/1.txt", "d/sub/2.txt", "keep.txt"):
        admin_http.put(f"{server.url}/generic-local/{path}", data=path.encode())
    assert admin_http.delete(f"{server.url}/generic-local/d/1.txt").status_code == 204
    assert http.get(f"{server.url}/generic-local/d/1.txt").status_code == 404
    assert admin_http.delete(f"{server.url}/generic-local/d").status_code == 204
    assert sorted(Artifact.objects.values_list("path", flat=True)) == ["keep.txt"]
    assert admin_http.delete(f"{server.url}/generic-local/d").status_code == 404
    assert Blob.objects.count() == 3  # blobs wait for garbage collection


def test_every_route_also_under_artifactory_prefix(server, admin_http, http):
    put = admin_http.put(f"{server.url}/artifactory/generic-local/p/x.txt", data=b"hello")
    assert put.status_code == 201
    assert put.json()["downloadUri"] == f"{server.url}/artifactory/generic-local/p/x.txt"
    assert http.get(f"{server.url}/artifactory/generic-local/p/x.txt").content == b"hello"
    assert http.get(f"{server.url}/artifactory/api/system/ping").text == "OK"
    assert http.get(f"{server.url}/artifactory/api/storage/generic-local/p/x.txt").json()["size"] == "5"


def test_system_endpoints(server, http, admin_http):
    ping = http.get(f"{server.url}/api/system/ping")
    assert ping.status_code == 200 and ping.text == "OK"
    assert "version" in http.get(f"{server.url}/api/system/version").json()
    assert http.get(f"{server.url}/api/storageinfo").status_code == 401
    assert admin_http.get(f"{server.url}/api/storageinfo").status_code == 200


def test_folder_listing_html(server, admin_http, http):
    for path in ("dir/a.txt", "dir/sub/b.txt"):
        admin_http.put(f"{server.url}/generic-local/{path}", data=b"x")
    page = http.get(f"{server.url}/generic-local/dir/")
    assert page.status_code == 200
    assert 'href="a.txt"' in page.text and 'href="sub/"' in page.text
    assert http.get(f"{server.url}/generic-local/nothing/").status_code == 404


def test_virtual_generic_repository_reads_members_and_deploys_to_default(server, admin_http, http):
    make_repository("generic-two")
    make_repository("generic-virtual", "virtual", members=["generic-two", "generic-local"],
                    deploy_to="generic-local")
    admin_http.put(f"{server.url}/generic-two/shared.txt", data=b"from two")
    admin_http.put(f"{server.url}/generic-local/shared.txt", data=b"from local")
    admin_http.put(f"{server.url}/generic-local/only-local.txt", data=b"only")
    assert http.get(f"{server.url}/generic-virtual/shared.txt").content == b"from two"
    assert http.get(f"{server.url}/generic-virtual/only-local.txt").content == b"only"
    put = admin_http.put(f"{server.url}/generic-virtual/new.txt", data=b"new")
    assert put.status_code == 201 and put.json()["repo"] == "generic-local"
    assert Artifact.objects.get(path="new.txt").repository.key == "generic-local"
    info = http.get(f"{server.url}/api/storage/generic-virtual").json()
    assert {c["uri"] for c in info["children"]} == {"/shared.txt", "/only-local.txt", "/new.txt"}


def test_deploy_refused_by_repository_patterns(server, admin_http):
    make_repository("wheels-only", includes_pattern="**/*.whl")
    assert admin_http.put(f"{server.url}/wheels-only/a/x-1.0-py3-none-any.whl", data=b"w").status_code == 201
    refused = admin_http.put(f"{server.url}/wheels-only/a/x.tar.gz", data=b"s")
    assert refused.status_code == 403
    assert not Artifact.objects.filter(path="a/x.tar.gz").exists()


def test_chunked_upload_without_content_length(server, admin_http, http):
    # What `curl -T -` and streaming clients send: Transfer-Encoding: chunked, no length.
    parts = [os.urandom(700_000) for _ in range(5)]
    put = admin_http.put(f"{server.url}/generic-local/stream/chunked.bin", data=iter(parts))
    assert put.request.headers.get("Transfer-Encoding") == "chunked"
    assert put.status_code == 201, put.text
    assert put.json()["size"] == str(sum(map(len, parts)))
    assert http.get(f"{server.url}/generic-local/stream/chunked.bin").content == b"".join(parts)
