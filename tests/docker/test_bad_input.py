"""Bad input gets the spec's error code in the spec's envelope, never a 5xx, and stores nothing."""

import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.docker.models import Manifest, UploadSession
from apps.packages.models import Blob
from apps.security.models import LoginFailures
from tests.factories import grant, make_user
from tests.factories.docker import OCI_MANIFEST, make_image, push_blob, sha256
from tests.packages.rawhttp import basic, read_response, request_head

pytestmark = pytest.mark.django_db(transaction=True)
ZERO = "sha256:" + "0" * 64


def code(response) -> str:
    assert response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()["errors"][0]["code"]


def test_names_tags_digests_and_repositories(server, admin_http):
    v2 = server.url + "/v2"
    cases = [
        (admin_http.get(f"{v2}/docker-local/Upper/manifests/1"), 400, "NAME_INVALID"),
        (admin_http.get(f"{v2}/docker-local/a..b/tags/list"), 400, "NAME_INVALID"),
        (admin_http.get(f"{v2}/docker-local/{'a' * 300}/tags/list"), 400, "NAME_INVALID"),
        (admin_http.get(f"{v2}/docker-local/app/manifests/-bad-tag"), 400, "TAG_INVALID"),
        (admin_http.get(f"{v2}/docker-local/app/manifests/v1%0A"), 400, "TAG_INVALID"),
        (admin_http.get(f"{v2}/docker-local/app/blobs/{ZERO}%0A"), 400, "DIGEST_INVALID"),
        (admin_http.get(f"{v2}/docker-local/app/blobs/sha256:xyz"), 400, "DIGEST_INVALID"),
        (admin_http.get(f"{v2}/docker-local/app/blobs/md5:{'0' * 32}"), 400, "DIGEST_INVALID"),
        (admin_http.get(f"{v2}/docker-local/app/blobs/{ZERO}"), 404, "BLOB_UNKNOWN"),
        (admin_http.get(f"{v2}/docker-local/app/manifests/nope"), 404, "MANIFEST_UNKNOWN"),
        (admin_http.get(f"{v2}/no-such-repo/app/manifests/1"), 404, "NAME_UNKNOWN"),
        (admin_http.get(f"{v2}/generic-local/app/manifests/1"), 404, "NAME_UNKNOWN"),
        (admin_http.get(f"{v2}/docker-local/app/tags/list"), 404, "NAME_UNKNOWN"),
        (admin_http.get(f"{v2}/docker-local/app/tags/list", params={"n": "x"}), 400, "PAGINATION_NUMBER_INVALID"),
        # Digits outside ASCII: '²' is one to str.isdigit(), not to int(); int() takes '٣'.
        (admin_http.get(f"{v2}/docker-local/app/tags/list", params={"n": "²"}), 400, "PAGINATION_NUMBER_INVALID"),
        (admin_http.get(f"{v2}/docker-local/app/tags/list", params={"n": "٣"}), 400, "PAGINATION_NUMBER_INVALID"),
        (admin_http.get(f"{v2}/_catalog", params={"n": "²"}), 400, "PAGINATION_NUMBER_INVALID"),
        (admin_http.get(f"{server.url}/api/docker/docker-local/v2/_catalog", params={"n": "²"}),
         400, "PAGINATION_NUMBER_INVALID"),
        (admin_http.get(f"{v2}/docker-local/app/referrers/not-a-digest"), 400, "DIGEST_INVALID"),
        (admin_http.post(f"{v2}/docker-remote/app/blobs/uploads/"), 405, "UNSUPPORTED"),
        (admin_http.get(f"{v2}/docker-local/app/blobs/uploads/not-a-uuid"), 404, "BLOB_UPLOAD_UNKNOWN"),
        (admin_http.get(f"{v2}/docker-local/app/whatever"), 404, "NAME_UNKNOWN"),
    ]
    for response, status, expected in cases:
        assert (response.status_code, code(response)) == (status, expected), response.request.url


def test_bad_manifests_store_nothing(server, admin_http):
    url = f"{server.url}/v2/docker-local/bad/manifests"
    image = make_image()
    for blob in image.blobs:
        assert push_blob(admin_http, server.url, "docker-local/bad", blob).status_code == 201
    blobs_before = Blob.objects.count()
    document = json.loads(image.manifest)
    cases = [
        (b"not json", OCI_MANIFEST, "1", 400, "MANIFEST_INVALID"),
        (b"[1, 2]", OCI_MANIFEST, "1", 400, "MANIFEST_INVALID"),
        (b"[" * 100_000, OCI_MANIFEST, "1", 400, "MANIFEST_INVALID"),  # too deep for json
        (json.dumps({**document, "schemaVersion": 1}).encode(), OCI_MANIFEST, "1", 400, "MANIFEST_INVALID"),
        (image.manifest, "application/vnd.docker.distribution.manifest.v2+json", "1", 400, "MANIFEST_INVALID"),
        (json.dumps({**document, "layers": [{"digest": "sha256:zz", "size": 1}]}).encode(),
         OCI_MANIFEST, "1", 400, "MANIFEST_INVALID"),
        (json.dumps({**document, "config": {**document["config"], "size": 1}}).encode(),
         OCI_MANIFEST, "1", 400, "MANIFEST_INVALID"),
        (image.manifest, OCI_MANIFEST, sha256(b"other"), 400, "DIGEST_INVALID"),
        (image.manifest, OCI_MANIFEST, "v1%0A", 400, "TAG_INVALID"),
        (b" " * (4 * 1024 * 1024 + 1), OCI_MANIFEST, "1", 413, "MANIFEST_INVALID"),
    ]
    for body, content_type, reference, status, expected in cases:
        response = admin_http.put(f"{url}/{reference}", data=body, headers={"Content-Type": content_type})
        assert (response.status_code, code(response)) == (status, expected), body[:80]
    assert Manifest.objects.count() == 0
    assert Blob.objects.count() == blobs_before


def test_a_manifest_cut_short_is_refused(server, admin_http):
    image = make_image()
    for blob in image.blobs:
        assert push_blob(admin_http, server.url, "docker-local/short", blob).status_code == 201
    chunk = f"{len(image.manifest):x}\r\n".encode() + image.manifest + b"\r\n"
    for sizing, sent in (({"Content-Length": str(len(image.manifest) + 605)}, image.manifest),
                         ({"Transfer-Encoding": "chunked"}, chunk)):  # no last chunk
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(request_head("PUT", "/v2/docker-local/short/manifests/short", server.host, {
                "Authorization": basic("admin", "password"), "Content-Type": OCI_MANIFEST, **sizing}) + sent)
            sock.shutdown(socket.SHUT_WR)
            response = read_response(sock)
        assert (response.status, response.json()["errors"][0]["code"]) == (400, "SIZE_INVALID"), sizing
    assert not Manifest.objects.exists()


def test_bad_uploads_store_nothing(server, admin_http):
    base = f"{server.url}/v2/docker-local/uploads"
    blobs_before = Blob.objects.count()
    wrong = admin_http.post(f"{base}/blobs/uploads/", params={"digest": sha256(b"a")}, data=b"b")
    assert (wrong.status_code, code(wrong)) == (400, "DIGEST_INVALID")

    location = server.url + admin_http.post(f"{base}/blobs/uploads/").headers["Location"]
    past_end = admin_http.patch(location, data=b"abc", headers={"Content-Range": "5-7"})
    assert (past_end.status_code, code(past_end)) == (416, "BLOB_UPLOAD_INVALID")
    mismatched = admin_http.patch(location, data=b"abc", headers={"Content-Range": "0-9"})
    assert (mismatched.status_code, code(mismatched)) == (416, "BLOB_UPLOAD_INVALID")
    malformed = admin_http.patch(location, data=b"abc", headers={"Content-Range": "bytes=a-b"})
    assert (malformed.status_code, code(malformed)) == (416, "BLOB_UPLOAD_INVALID")
    no_digest = admin_http.put(location, data=b"abc")
    assert (no_digest.status_code, code(no_digest)) == (400, "DIGEST_INVALID")

    # The session belongs to docker-local/uploads: another image or repository cannot use it.
    session_id = location.rsplit("/", 1)[1]
    for other in ("docker-local/elsewhere", "docker/elsewhere"):
        foreign = admin_http.put(f"{server.url}/v2/{other}/blobs/uploads/{session_id}",
                                 params={"digest": sha256(b"abc")}, data=b"abc")
        assert (foreign.status_code, code(foreign)) == (404, "BLOB_UPLOAD_UNKNOWN")

    admin_http.patch(location, data=b"abc", headers={"Content-Range": "0-2"})
    overlapping = admin_http.put(location, params={"digest": sha256(b"abcd")}, data=b"d",
                                 headers={"Content-Range": "2-2"})
    assert (overlapping.status_code, code(overlapping)) == (416, "BLOB_UPLOAD_INVALID")
    closed = admin_http.put(location, params={"digest": sha256(b"abd")})
    assert (closed.status_code, code(closed)) == (400, "DIGEST_INVALID")
    assert admin_http.get(location).status_code == 404   # a failed close discards the upload
    assert Blob.objects.count() == blobs_before
    assert not UploadSession.objects.filter(pk=session_id).exists()


def test_access_errors(server, http, admin_http):
    anonymous = http.post(f"{server.url}/v2/docker-local/app/blobs/uploads/")
    assert (anonymous.status_code, code(anonymous)) == (401, "UNAUTHORIZED")
    assert 'scope="repository:docker-local/app:pull,push"' in anonymous.headers["WWW-Authenticate"]
    make_user("reader")
    grant("readers", repositories=["docker-local"], users={"reader": ["read"]})
    denied = http.post(f"{server.url}/v2/docker-local/app/blobs/uploads/", auth=("reader", "secret-pass"))
    assert (denied.status_code, code(denied)) == (403, "DENIED")
    cannot_delete = http.delete(f"{server.url}/v2/docker-local/app/manifests/{ZERO}",
                                auth=("reader", "secret-pass"))
    assert (cannot_delete.status_code, code(cannot_delete)) == (403, "DENIED")
    bad_token = http.get(f"{server.url}/v2/docker-local/app/tags/list",
                         headers={"Authorization": "Bearer not.a.jwt"})
    assert (bad_token.status_code, code(bad_token)) == (401, "UNAUTHORIZED")


def test_a_locked_out_address_is_told_when_to_come_back(server, http):
    LoginFailures.objects.create(source="127.0.0.1", window_start=timezone.now(),
                                 locked_until=timezone.now() + timedelta(seconds=120))
    locked = http.get(f"{server.url}/v2/docker-local/app/tags/list", auth=("admin", "wrong"))
    assert (locked.status_code, code(locked)) == (429, "TOOMANYREQUESTS")
    assert 0 < int(locked.headers["Retry-After"]) <= 121
