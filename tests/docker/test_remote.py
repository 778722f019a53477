"""Remote docker repositories over a real upstream registry started by the test: pull-through
caching, one upstream fetch for many simultaneous clients, 'library/' for single names, the
cache answering while the upstream is down, virtual repositories passing over an upstream that
is down, and another repomgr (with token auth) as upstream."""

import hashlib
import http.server
import json
import threading

import pytest
import requests

from apps.packages.models import Artifact
from apps.packages.services import artifact_deploy, blob_ingest
from apps.packages.storage import Spool
from apps.repositories.models import Repository
from apps.repositories.services import repository_update
from apps.security.models import SecuritySettings
from tests.conftest import CLOSED_UPSTREAM
from tests.docker.upstream import DistributionRegistry
from tests.factories import make_repository
from tests.factories.docker import OCI_MANIFEST, make_image, push_blob, push_image, sha256, sha512

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not DistributionRegistry.available(), reason="docker-registry is not installed")]
ACCEPT = {"Accept": OCI_MANIFEST}


@pytest.fixture
def upstream(tmp_path):
    registry = DistributionRegistry(tmp_path / "upstream").start()
    yield registry
    registry.stop()


@pytest.fixture
def docker_remote(upstream):
    """The default docker-remote, pointed at the test's upstream (anonymous pull there)."""
    repository = Repository.objects.get(key="docker-remote")
    return repository_update(repository, url=upstream.url, metadata_retrieval_cache_secs=0)


def test_pull_through_cache_survives_upstream_outage(server, upstream, docker_remote, http):
    image = make_image(layer_sizes=(40_000,))
    assert push_image(requests.Session(), upstream.url, "library/alpine", image, "3.20").status_code == 201

    # Single-name images get Docker Hub's 'library/'; through the virtual repository as well.
    for repo in ("docker-remote", "docker"):
        got = http.get(f"{server.url}/v2/{repo}/alpine/manifests/3.20", headers=ACCEPT)
        assert got.status_code == 200, got.text
        assert got.content == image.manifest and got.headers["Docker-Content-Digest"] == image.digest
    for blob in image.blobs:
        fetched = http.get(f"{server.url}/v2/docker/alpine/blobs/{sha256(blob)}")
        assert fetched.content == blob and fetched.headers["Docker-Content-Digest"] == sha256(blob)

    upstream.stop()
    # Tags are past their TTL (0 s) and the upstream is gone: the cached copy answers.
    for reference in ("3.20", image.digest):
        cached = http.get(f"{server.url}/v2/docker-remote/alpine/manifests/{reference}", headers=ACCEPT)
        assert cached.status_code == 200 and cached.content == image.manifest
    for blob in image.blobs:
        assert http.get(f"{server.url}/v2/docker-remote/alpine/blobs/{sha256(blob)}").content == blob
    missing = http.get(f"{server.url}/v2/docker-remote/alpine/manifests/unknown-tag", headers=ACCEPT)
    # Nothing cached and nobody to ask: unavailable, not unknown (the upstream might have it).
    assert missing.status_code == 502 and missing.json()["errors"][0]["code"] == "UNAVAILABLE"


def test_tags_come_from_upstream_and_head_warms_the_cache(server, upstream, docker_remote, http):
    image = make_image(layer_sizes=(30_000,))
    session = requests.Session()
    for tag in ("1", "2"):
        assert push_image(session, upstream.url, "team/listed", image, tag).status_code == 201
    tags = http.get(f"{server.url}/v2/docker/team/listed/tags/list")
    assert tags.json() == {"name": "docker/team/listed", "tags": ["1", "2"]}
    layer = image.layers[0]
    head = http.head(f"{server.url}/v2/docker-remote/team/listed/blobs/{sha256(layer)}")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(layer))
    assert head.headers["Docker-Content-Digest"] == sha256(layer)
    assert http.get(f"{server.url}/v2/docker-remote/team/listed/manifests/2", headers=ACCEPT).status_code == 200
    upstream.stop()
    assert http.get(f"{server.url}/v2/docker-remote/team/listed/blobs/{sha256(layer)}").content == layer
    # The upstream's last tag list answers while it is down.
    assert http.get(f"{server.url}/v2/docker-remote/team/listed/tags/list").json()["tags"] == ["1", "2"]


def test_concurrent_blob_requests_fetch_once_from_upstream(server, upstream, docker_remote):
    image = make_image(layer_sizes=(8_000_000,))
    assert push_image(requests.Session(), upstream.url, "team/tool", image, "1").status_code == 201
    layer = image.layers[0]
    url = f"{server.url}/v2/docker-remote/team/tool/blobs/{sha256(layer)}"
    results: list[bytes] = []

    def pull():
        results.append(requests.get(url, timeout=120).content)

    threads = [threading.Thread(target=pull) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [layer] * 8
    assert upstream.requests_for(f"/v2/team/tool/blobs/{sha256(layer)}") == 1


def test_another_repomgr_with_token_auth_as_upstream(server, admin_http):
    """The upstream (this same server) refuses anonymous reads: the remote repository gets in
    through the bearer-token dance with its configured credentials."""
    SecuritySettings.objects.update(anonymous_access=False)
    image = make_image(layer_sizes=(5_000,))
    assert push_image(admin_http, server.url, "docker-local/private/app", image, "7").status_code == 201
    assert requests.get(f"{server.url}/v2/docker-local/private/app/manifests/7").status_code == 401
    make_repository("mirror", "remote", "docker", url=f"{server.url}/docker-local",
                    username="admin", password="password")
    make_repository("mirror-wrong", "remote", "docker", url=f"{server.url}/docker-local",
                    username="admin", password="not-the-password")

    got = admin_http.get(f"{server.url}/v2/mirror/private/app/manifests/7", headers=ACCEPT)
    assert got.status_code == 200, got.text
    assert got.content == image.manifest
    layer = image.layers[0]
    assert admin_http.get(f"{server.url}/v2/mirror/private/app/blobs/{sha256(layer)}").content == layer
    assert admin_http.get(f"{server.url}/v2/mirror/private/app/tags/list").json()["tags"] == ["7"]
    refused = admin_http.get(f"{server.url}/v2/mirror-wrong/private/app/manifests/7", headers=ACCEPT)
    assert refused.status_code == 404
    assert json.loads(got.content)["layers"][0]["digest"] == sha256(layer)


class FixedRegistry:
    """A registry answering GETs from ``documents`` ({path: (content type, body)}, changeable
    mid-test; 404 for any other path), or everything with 429 while ``limited``."""

    def __init__(self, documents: dict):
        self.limited, self.documents = False, documents
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                content_type, body = outer.documents.get(self.path, ("application/json", b"{}"))
                status = 429 if outer.limited else (200 if self.path in outer.documents else 404)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def image_documents(image, name: str, tag: str) -> dict:
    documents = {f"/v2/{name}/manifests/{tag}": (OCI_MANIFEST, image.manifest),
                 f"/v2/{name}/manifests/{image.digest}": (OCI_MANIFEST, image.manifest)}
    documents.update({f"/v2/{name}/blobs/{sha256(b)}": ("application/octet-stream", b) for b in image.blobs})
    return documents


@pytest.fixture
def hub(server):
    """A remote repository 'hub' (metadata TTL 0) over a FixedRegistry the test fills."""
    upstream = FixedRegistry({})
    make_repository("hub", "remote", "docker", url=upstream.url, metadata_retrieval_cache_secs=0)
    yield upstream
    upstream.server.shutdown()


def test_rate_limited_upstream_is_an_outage_not_a_miss(server, hub, http):
    image = make_image(layer_sizes=(1_000,))
    hub.documents.update(image_documents(image, "library/busybox", "1.36"))
    url = f"{server.url}/v2/hub/busybox/manifests/1.36"
    assert http.get(url, headers=ACCEPT).content == image.manifest
    hub.limited = True
    again = http.get(url, headers=ACCEPT)
    assert again.status_code == 200 and again.content == image.manifest


def test_a_malformed_upstream_tag_list_is_passed_over(server, hub, http):
    image = make_image(layer_sizes=(1_000,))
    hub.documents.update(image_documents(image, "team/inttags", "1"))
    url = f"{server.url}/v2/hub/team/inttags/tags/list"
    for body in (b'{"tags": 5}', b'{"tags": "abc"}', b"[1]", b"[" * 100_000, b"\xff"):
        hub.documents["/v2/team/inttags/tags/list"] = ("application/json", body)
        answer = http.get(url)  # nothing cached: the image is unknown
        assert (answer.status_code, answer.json()["errors"][0]["code"]) == (404, "NAME_UNKNOWN"), body[:20]
    # Names that are no tags are left out (one could not even be asked for).
    hub.documents["/v2/team/inttags/tags/list"] = ("application/json", json.dumps(
        {"tags": ["1", "-x", "a/b", "v1\n", "x" * 129, 7, None, "latest"]}).encode())
    assert http.get(url).json()["tags"] == ["1", "latest"]
    assert http.get(f"{server.url}/v2/hub/team/inttags/manifests/1", headers=ACCEPT).status_code == 200
    hub.documents["/v2/team/inttags/tags/list"] = ("application/json", b'{"tags": 5}')
    assert http.get(url).json()["tags"] == ["1"]  # the tag cached here still answers


def test_an_invalid_upstream_manifest_is_the_upstream_failing(server, hub, http):
    image = make_image(layer_sizes=(1_000,))
    hub.documents.update(image_documents(image, "team/bad", "1"))
    url = f"{server.url}/v2/hub/team/bad/manifests"
    assert http.get(f"{url}/1", headers=ACCEPT).content == image.manifest
    for body in (b'{"schemaVersion": 2, "layers": 5}', b"<html></html>", b"[" * 100_000):
        for tag in ("1", "2"):
            hub.documents[f"/v2/team/bad/manifests/{tag}"] = (OCI_MANIFEST, body)
        # What is cached answers; nothing cached: unavailable (the puller sent nothing wrong).
        assert http.get(f"{url}/1", headers=ACCEPT).content == image.manifest
        failed = http.get(f"{url}/2", headers=ACCEPT)
        assert (failed.status_code, failed.json()["errors"][0]["code"]) == (502, "UNAVAILABLE"), body[:20]


def test_remote_sha512_blobs_are_verified_before_they_are_served_or_cached(server, hub, http):
    genuine, other = b"genuine", b"EVIL"
    digest = sha512(genuine)
    hub.documents["/v2/team/x/blobs/" + digest] = ("application/octet-stream", other)
    url = f"{server.url}/v2/hub/team/x/blobs/{digest}"
    for _ in range(2):  # nothing was cached
        refused = http.get(url)
        assert (refused.status_code, refused.json()["errors"][0]["code"]) == (502, "UNAVAILABLE")
    cached = Artifact.objects.filter(repository__key="hub", path="team/x/_blobs/sha512__" + digest[7:])
    assert not cached.exists()

    hub.documents["/v2/team/x/blobs/" + digest] = ("application/octet-stream", genuine)
    assert http.get(url).content == genuine
    assert http.get(url).content == genuine  # from the cache
    assert cached.get().blob.sha256 == hashlib.sha256(genuine).hexdigest()

    # Other bytes cached there (as before sha512 was verified) are never served as it.
    with Spool() as spool:
        spool.write(other)
        artifact_deploy(repository=Repository.objects.get(key="hub"), path=cached.get().path,
                        blob=blob_ingest(spool.finish()), allow_overwrite=True)
    stale = http.get(url)
    assert (stale.status_code, stale.json()["errors"][0]["code"]) == (404, "BLOB_UNKNOWN")


def test_patterns_and_offline_keep_requests_from_the_upstream(server, upstream, docker_remote, http):
    """Images a virtual repository must take from docker-local only (excluded from the remote)
    are never fetched upstream, and an offline remote answers from its cache alone."""
    image = make_image(layer_sizes=(2_000,))
    session = requests.Session()
    for name in ("team/internal", "team/public"):
        assert push_image(session, upstream.url, name, image, "1").status_code == 201
    repository_update(docker_remote, excludes_pattern="team/internal/**")
    assert http.get(f"{server.url}/v2/docker/team/internal/manifests/1", headers=ACCEPT).status_code == 404
    assert upstream.requests_for("/v2/team/internal/manifests/1") == 0
    assert http.get(f"{server.url}/v2/docker/team/public/manifests/1", headers=ACCEPT).status_code == 200

    repository_update(docker_remote, offline=True)
    assert http.get(f"{server.url}/v2/docker-remote/team/public/manifests/1", headers=ACCEPT).status_code == 200
    assert http.get(f"{server.url}/v2/docker-remote/team/other/manifests/1", headers=ACCEPT).status_code == 404
    assert upstream.requests_for("/v2/team/other/manifests/1", status=404) == 0


@pytest.fixture
def hub_down(server):
    """A remote repository whose upstream is a closed port on 127.0.0.1, with nothing cached."""
    return make_repository("hub-down", "remote", "docker", url=CLOSED_UPSTREAM)


def test_a_virtual_passes_over_an_unreachable_upstream_for_a_later_member(server, hub_down, admin_http, http):
    image = make_image(layer_sizes=(3_000,))
    assert push_image(admin_http, server.url, "docker-local/team/app", image, "1").status_code == 201
    make_repository("down-first", "virtual", "docker", members=["hub-down", "docker-local"])
    assert http.get(f"{server.url}/v2/hub-down/team/app/manifests/1", headers=ACCEPT).status_code == 502
    for reference in ("1", image.digest):
        got = http.get(f"{server.url}/v2/down-first/team/app/manifests/{reference}", headers=ACCEPT)
        assert got.status_code == 200, got.text
        assert got.content == image.manifest and got.headers["Docker-Content-Digest"] == image.digest
    for blob in image.blobs:
        got = http.get(f"{server.url}/v2/down-first/team/app/blobs/{sha256(blob)}")
        assert got.status_code == 200, got.text
        assert got.content == blob and got.headers["Docker-Content-Digest"] == sha256(blob)


def test_a_virtual_whose_upstreams_are_unreachable_answers_as_its_remote_does(server, hub_down, http):
    """Nobody has the content and an upstream that might have it is down: the virtual answers
    what the remote repository answers (502 UNAVAILABLE), never MANIFEST_UNKNOWN/BLOB_UNKNOWN."""
    make_repository("down-only", "virtual", "docker", members=["hub-down"])
    digest = sha256(b"held nowhere")
    # The default 'docker' is [docker-local, docker-remote] (at CLOSED_UPSTREAM in tests): the
    # local member has nothing either.
    for virtual, remote in (("down-only", "hub-down"), ("docker", "docker-remote")):
        for path in ("team/app/manifests/1", f"team/app/manifests/{digest}", f"team/app/blobs/{digest}"):
            direct = http.get(f"{server.url}/v2/{remote}/{path}", headers=ACCEPT)
            assert direct.status_code == 502
            assert direct.json() == {"errors": [{"code": "UNAVAILABLE", "detail": None,
                                                 "message": f"Upstream of '{remote}' is unreachable"}]}
            through = http.get(f"{server.url}/v2/{virtual}/{path}", headers=ACCEPT)
            assert (through.status_code, through.json()) == (502, direct.json()), path


def test_a_pushers_layer_check_is_answered_while_an_upstream_is_down(server, hub_down, http):
    """A HEAD on a layer of a repository that takes pushes is a pusher asking whether to upload
    it, and buildah, podman and skopeo give up on anything but 200 or 404."""
    make_repository("down-first", "virtual", "docker", members=["hub-down", "docker-local"],
                    deploy_to="docker-local")
    make_repository("down-only", "virtual", "docker", members=["hub-down"])
    digest = sha256(b"held nowhere")
    assert http.head(f"{server.url}/v2/down-first/team/app/blobs/{digest}").status_code == 404
    assert http.get(f"{server.url}/v2/down-first/team/app/blobs/{digest}").status_code == 502
    assert http.head(f"{server.url}/v2/down-only/team/app/blobs/{digest}").status_code == 502


def test_content_no_member_has_is_unknown_when_every_upstream_answers(server, upstream, docker_remote, http):
    image = make_image(layer_sizes=(2_000,))
    assert push_image(requests.Session(), upstream.url, "team/app", image, "1").status_code == 201
    make_repository("remote-first", "virtual", "docker", members=["docker-remote", "docker-local"])
    for virtual in ("remote-first", "docker"):
        missing = http.get(f"{server.url}/v2/{virtual}/team/app/manifests/2", headers=ACCEPT)
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
        missing = http.get(f"{server.url}/v2/{virtual}/team/app/blobs/{sha256(b'held nowhere')}")
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
    # The upstream was up and asked: its 404 is what made the manifest unknown.
    assert upstream.requests_for("/v2/team/app/manifests/2", status=404) >= 1


def push_as_pushers_do(session: requests.Session, base: str, image_name: str, image, tag: str):
    """skopeo, podman and buildah ask with a HEAD whether the repository they push to has a
    layer, and upload only those it lacks."""
    uploaded = []
    for blob in image.blobs:
        if session.head(f"{base}/v2/{image_name}/blobs/{sha256(blob)}").status_code != 200:
            assert push_blob(session, base, image_name, blob).status_code == 201
            uploaded.append(sha256(blob))
    media_type = json.loads(image.manifest)["mediaType"]
    return uploaded, session.put(f"{base}/v2/{image_name}/manifests/{tag}", data=image.manifest,
                                 headers={"Content-Type": media_type})


def test_a_push_through_a_virtual_takes_the_layers_its_members_hold(server, upstream, docker_remote,
                                                                    admin_http, http):
    """Promoting an image into the deployment repository under the name it has upstream: the
    layers the remote member has cached are not uploaded again, and end up under the image."""
    image = make_image(layer_sizes=(20_000,))
    assert push_image(requests.Session(), upstream.url, "library/base", image, "1").status_code == 201
    assert http.get(f"{server.url}/v2/docker/library/base/manifests/1", headers=ACCEPT).status_code == 200
    for blob in image.blobs:  # pulled once: the remote member holds config and layer
        assert http.get(f"{server.url}/v2/docker/library/base/blobs/{sha256(blob)}").content == blob
    uploaded, pushed = push_as_pushers_do(admin_http, server.url, "docker/library/base", image, "1")
    assert (uploaded, pushed.status_code) == ([], 201), pushed.text
    got = http.get(f"{server.url}/v2/docker-local/library/base/manifests/1", headers=ACCEPT)
    assert got.content == image.manifest
    for blob in image.blobs:
        assert http.get(f"{server.url}/v2/docker-local/library/base/blobs/{sha256(blob)}").content == blob


def test_a_refused_manifest_takes_no_layer_from_the_members(server, upstream, docker_remote, admin_http, http):
    """Bad input stores nothing: a manifest pushed through the virtual that names a layer the
    remote member holds, with the wrong size, links no layer into the deployment repository."""
    image = make_image(layer_sizes=(20_000,))
    assert push_image(requests.Session(), upstream.url, "library/base", image, "1").status_code == 201
    for blob in image.blobs:
        assert http.get(f"{server.url}/v2/docker/library/base/blobs/{sha256(blob)}").content == blob
    manifest = json.loads(image.manifest)
    manifest["layers"][0]["size"] += 1
    refused = admin_http.put(f"{server.url}/v2/docker/library/base/manifests/1", data=json.dumps(manifest),
                             headers={"Content-Type": manifest["mediaType"]})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "MANIFEST_INVALID"
    for blob in image.blobs:
        assert http.head(f"{server.url}/v2/docker-local/library/base/blobs/{sha256(blob)}").status_code == 404


def test_a_pushers_layer_check_never_fetches_from_an_upstream(server, upstream, docker_remote, admin_http):
    """A layer only the upstream has is one for the pusher to upload: the HEAD neither
    answers 200 for it nor starts fetching it into the remote repository's cache."""
    image = make_image(layer_sizes=(20_000,))
    assert push_image(requests.Session(), upstream.url, "library/base", image, "1").status_code == 201
    uploaded, pushed = push_as_pushers_do(admin_http, server.url, "docker/library/base", image, "1")
    assert pushed.status_code == 201, pushed.text
    assert sorted(uploaded) == sorted(sha256(blob) for blob in image.blobs)
    for blob in image.blobs:
        assert upstream.requests_for(f"/v2/library/base/blobs/{sha256(blob)}") == 0
