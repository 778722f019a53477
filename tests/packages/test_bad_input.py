"""Bad input against the live server, written byte for byte on real sockets: every request
gets a clear 4xx in the JSON error envelope and stores nothing."""

import hashlib
import os
import socket
import time

import pytest

from apps.packages.models import Artifact, Blob
from tests.factories import grant, make_repository, make_user

from .rawhttp import basic, read_response, request_head, send

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = {"Authorization": basic("admin", "password")}

TRAVERSALS = [
    "../other-local/secret.txt", "a/../../other-local/secret.txt", "a/%2e%2e/%2e%2e/other-local/secret.txt",
    "a/%2E%2E/x", "..%2fother-local%2fsecret.txt", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "a/%252e%252e/x",
    "a/%25252e%25252e/x", "a\\..\\..\\x", "a%5c..%5cx", "a/..%5c..%5cx", "/etc/passwd", "%2fetc/passwd",
    "C:/windows/win.ini", "c%3a%5cwindows", "a/./b", "./a", "a/..", "a//b", "a/%00x", "a/b%00.txt",
    "a/%0d%0ab", "a/%0ab", "a/%7f", "a/" * 520 + "x",
]


def nothing_stored(data: bytes = b"") -> bool:
    blob_gone = not data or not Blob.objects.filter(sha256=hashlib.sha256(data).hexdigest()).exists()
    return blob_gone and not Artifact.objects.exclude(path="secret.txt").exists()


def assert_error(response, status: int) -> str:
    assert response.status, response
    assert response.status == status, (response.status, response.body[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["errors"][0]["status"] == status and body["errors"][0]["message"]
    return body["errors"][0]["message"]


def temp_files(settings) -> list[str]:
    """Upload spools still on disk, once the server had a moment to notice a lost client."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and os.listdir(settings.TMP_DIR):
        time.sleep(0.1)
    return os.listdir(settings.TMP_DIR)


@pytest.fixture
def victim(server, admin_http):
    """A file in another repository that a traversal would try to reach."""
    make_repository("other-local")
    assert admin_http.put(f"{server.url}/other-local/secret.txt", data=b"do not leak").status_code == 201
    return server


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_is_refused_on_deploy(victim, path):
    for prefix in ("/generic-local/", "/artifactory/generic-local/"):
        response = send(victim.port, "PUT", prefix + path, body=b"evil", headers=ADMIN)
        assert "Invalid path" in assert_error(response, 400)
    assert nothing_stored(b"evil")


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_is_refused_on_read(victim, path):
    for prefix in ("/generic-local/", "/api/storage/generic-local/"):
        for method in ("GET", "HEAD", "DELETE"):
            response = send(victim.port, method, prefix + path, headers=ADMIN)
            assert b"do not leak" not in response.body
            if method == "HEAD":
                assert response.status == 400
            else:
                assert_error(response, 400)
    assert Artifact.objects.filter(path="secret.txt").exists()


@pytest.mark.parametrize("raw", ["a/\x00b", "a/\rb", "a/ b"])
def test_raw_control_bytes_never_reach_the_application(victim, raw):
    response = send(victim.port, "PUT", "/generic-local/" + raw, body=b"evil", headers=ADMIN)
    assert response.status == 400
    assert nothing_stored(b"evil")


@pytest.mark.parametrize("who", ["anonymous", "reader", "deployer"])
def test_path_checks_come_first_for_everyone(victim, who):
    make_user("reader")
    make_user("deployer")
    grant("rules", repositories=["generic-local"], users={"reader": ["read"], "deployer": ["read", "deploy"]})
    headers = {} if who == "anonymous" else {"Authorization": basic(who, "secret-pass")}
    for path in ("../other-local/secret.txt", "a/%2e%2e/x", "a%5cb"):
        assert_error(send(victim.port, "PUT", "/generic-local/" + path, body=b"evil", headers=headers), 400)
        assert_error(send(victim.port, "GET", "/generic-local/" + path, headers=headers), 400)
    assert nothing_stored(b"evil")


def test_unknown_repositories(server):
    for method, target in (("PUT", "/no-such/x.bin"), ("GET", "/no-such/x.bin"), ("DELETE", "/no-such/x"),
                           ("GET", "/api/storage/no-such/x"), ("PUT", "/api/x.bin"),
                           ("PUT", "/artifactory/no-such/x.bin")):
        response = send(server.port, method, target, body=b"x" if method == "PUT" else b"", headers=ADMIN)
        assert_error(response, 404)
    message = assert_error(send(server.port, "GET", "/no-such/x.bin"), 404)
    assert message == "Repository 'no-such' not found"
    assert nothing_stored(b"x")


def test_reserved_repository_keys(server):
    for key in ("api", "v2", "artifactory", "admin", "static", "ui", "metrics"):
        body = b'{"rclass": "local", "packageType": "generic"}'
        response = send(server.port, "PUT", f"/api/repositories/{key}", body=body,
                        headers={**ADMIN, "Content-Type": "application/json"})
        assert "reserved" in assert_error(response, 400)


def test_deploy_to_remote_or_to_virtual_without_a_target(server):
    make_repository("upstream-cache", "remote", url="http://127.0.0.1:9/")
    make_repository("no-target", "virtual", members=["generic-local"])
    for target in ("/upstream-cache/x.bin", "/no-target/x.bin"):
        assert_error(send(server.port, "PUT", target, body=b"remote?", headers=ADMIN), 400)
    assert nothing_stored(b"remote?")


@pytest.mark.parametrize("header,value", [
    ("X-Checksum-Sha256", hashlib.sha256(b"something else").hexdigest()),
    ("X-Checksum-Sha1", hashlib.sha1(b"something else").hexdigest()),
    ("X-Checksum-Md5", hashlib.md5(b"something else").hexdigest()),
    ("X-Checksum", hashlib.sha1(b"something else").hexdigest()),
    ("X-Checksum-Sha256", "not-even-hex"),
])
def test_checksum_mismatch_stores_nothing(server, settings, header, value):
    data = os.urandom(2 * 1024 * 1024)
    response = send(server.port, "PUT", "/generic-local/sum.bin", body=data, headers={**ADMIN, header: value})
    assert "Checksum mismatch" in assert_error(response, 409)
    assert nothing_stored(data)
    assert temp_files(settings) == []


def test_invalid_matrix_parameters(server):
    assert "matrix" in assert_error(send(server.port, "PUT", "/generic-local/a.bin;=v", body=b"m",
                                         headers=ADMIN), 400)
    assert nothing_stored(b"m")


def test_checksum_deploy_without_a_checksum(server):
    response = send(server.port, "PUT", "/generic-local/c.bin", headers={**ADMIN, "X-Checksum-Deploy": "true"})
    assert_error(response, 400)
    unknown = send(server.port, "PUT", "/generic-local/c.bin",
                   headers={**ADMIN, "X-Checksum-Deploy": "true", "X-Checksum-Sha256": "ab" * 32})
    assert_error(unknown, 404)
    assert nothing_stored()


# --- clients that go away ----------------------------------------------------------------------

def _start_upload(server, path: str, length: int | None, first: bytes) -> socket.socket:
    sizing = {"Content-Length": str(length)} if length is not None else {"Transfer-Encoding": "chunked"}
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(request_head("PUT", path, server.host, {**ADMIN, **sizing}) + first)
    return sock


def test_client_closing_mid_upload_leaves_nothing(server, settings):
    sock = _start_upload(server, "/generic-local/cut.bin", 50_000_000, os.urandom(5_000_000))
    sock.close()
    assert temp_files(settings) == []
    assert nothing_stored()


def test_client_closing_mid_chunked_upload_leaves_nothing(server, settings):
    chunk = os.urandom(1_000_000)
    sock = _start_upload(server, "/generic-local/cut-chunked.bin", None,
                         f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" + b"100000\r\n" + chunk[:1000])
    sock.close()
    assert temp_files(settings) == []
    assert nothing_stored()


def test_body_shorter_than_announced_is_400(server, settings):
    sock = _start_upload(server, "/generic-local/short.bin", 3_000_000, os.urandom(1_000_000))
    sock.shutdown(socket.SHUT_WR)
    with sock:
        response = read_response(sock)
    assert "ended after" in assert_error(response, 400) or "interrupted" in response.json()["errors"][0]["message"]
    assert temp_files(settings) == []
    assert nothing_stored()


# --- concurrent deploys --------------------------------------------------------------------------

def _interleaved_deploys(server, path: str, payloads: list[bytes], headers: dict) -> list:
    """Start every upload, send half of each, then the rest of each: truly simultaneous."""
    socks = []
    for data in payloads:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        sock.sendall(request_head("PUT", path, server.host, {**headers, "Content-Length": str(len(data))})
                     + data[: len(data) // 2])
        socks.append(sock)
    for sock, data in zip(socks, payloads):
        sock.sendall(data[len(data) // 2:])
    responses = []
    for sock in socks:
        with sock:
            responses.append(read_response(sock))
    return responses


def test_simultaneous_deploys_to_one_path_leave_one_complete_artifact(server, http):
    payloads = [bytes([n]) * 4_000_000 for n in range(4)]
    responses = _interleaved_deploys(server, "/generic-local/race/one.bin", payloads, ADMIN)
    assert [r.status for r in responses] == [201] * 4  # admin may replace, so each one wins in turn
    artifact = Artifact.objects.get(path="race/one.bin")
    served = http.get(f"{server.url}/generic-local/race/one.bin").content
    assert served in payloads and hashlib.sha256(served).hexdigest() == artifact.blob.sha256


def test_simultaneous_deploys_without_delete_permission_keep_the_first(server, http):
    make_user("deployer")
    grant("deployers", repositories=["generic-local"], users={"deployer": ["read", "deploy"]})
    payloads = [os.urandom(3_000_000) for _ in range(3)]
    responses = _interleaved_deploys(server, "/generic-local/race/two.bin", payloads,
                                     {"Authorization": basic("deployer", "secret-pass")})
    statuses = sorted(r.status for r in responses)
    assert statuses == [201, 409, 409], statuses
    winner = payloads[[r.status for r in responses].index(201)]
    assert http.get(f"{server.url}/generic-local/race/two.bin").content == winner
    assert Artifact.objects.filter(path="race/two.bin").count() == 1
