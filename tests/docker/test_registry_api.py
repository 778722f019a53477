"""The registry API spoken over HTTP against the live server: pushes and pulls of every
kind, pagination, referrers, deletes and the token dance."""

import json
import os
import threading

import jwt
import pytest
import requests
from django.contrib.auth import get_user_model

from apps.audit.models import AuditEvent
from apps.packages.models import Blob
from apps.security.models import PermissionTarget, SecuritySettings
from apps.security.tokens import token_create
from tests.factories import grant, make_repository, make_user
from tests.factories.docker import (OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, make_image, push_blob, push_image,
                                    sha256, sha512)

pytestmark = pytest.mark.django_db(transaction=True)


def test_ping_challenges_anonymous_and_greets_authenticated(server, http, admin_http):
    anonymous = http.get(server.url + "/v2/")
    assert anonymous.status_code == 401
    challenge = anonymous.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{server.url}/v2/token",service="repomgr"')
    assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"
    greeted = admin_http.get(server.url + "/v2/")
    assert greeted.status_code == 200
    assert greeted.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_push_then_pull_by_tag_and_digest(server, admin_http, http):
    image = make_image(layer_sizes=(3000, 5000))
    pushed = push_image(admin_http, server.url, "docker-local/team/app", image, "1.4")
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["Docker-Content-Digest"] == image.digest
    assert pushed.headers["Location"] == f"/v2/docker-local/team/app/manifests/{image.digest}"
    for reference in ("1.4", image.digest):
        got = http.get(f"{server.url}/v2/docker-local/team/app/manifests/{reference}",
                       headers={"Accept": OCI_MANIFEST})
        assert got.status_code == 200
        assert got.content == image.manifest
        assert got.headers["Content-Type"] == OCI_MANIFEST
        assert got.headers["Docker-Content-Digest"] == image.digest
    head = http.head(f"{server.url}/v2/docker-local/team/app/manifests/1.4")
    assert head.headers["Content-Length"] == str(len(image.manifest)) and head.content == b""
    layer = image.layers[1]
    blob = http.get(f"{server.url}/v2/docker-local/team/app/blobs/{sha256(layer)}")
    assert blob.content == layer and blob.headers["Docker-Content-Digest"] == sha256(layer)
    ranged = http.get(f"{server.url}/v2/docker-local/team/app/blobs/{sha256(layer)}",
                      headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == layer[10:20]


def test_a_manifest_revalidated_by_its_etag_is_not_modified(server, admin_http, http):
    """If-None-Match naming the manifest's ETag (its quoted digest, as the distribution registry
    sends it; weak, in a list, or '*') answers GET and HEAD with 304, the ETag and the digest
    and no body, from a local repository, a remote's cache and a virtual alike."""
    image = make_image()
    assert push_image(admin_http, server.url, "docker-local/team/app", image, "1").status_code == 201
    make_repository("mirror", "remote", "docker", url=f"{server.url}/docker-local")
    cached = http.get(f"{server.url}/v2/mirror/team/app/manifests/1", headers={"Accept": OCI_MANIFEST})
    assert cached.status_code == 200, cached.text
    etag, other = f'"{image.digest}"', f'"{sha256(b"another manifest")}"'
    for repo in ("docker-local", "mirror", "docker"):
        for reference in ("1", image.digest):
            url = f"{server.url}/v2/{repo}/team/app/manifests/{reference}"
            for send in (http.get, http.head):
                for matching in (etag, f"W/{etag}", f"{other}, {etag}", "*"):
                    got = send(url, headers={"Accept": OCI_MANIFEST, "If-None-Match": matching})
                    assert got.status_code == 304, (repo, reference, send, matching, got.text)
                    assert got.headers["ETag"] == etag and got.headers["Docker-Content-Digest"] == image.digest
                    assert got.content == b""
                for headers in ({"If-None-Match": other}, {}):
                    full = send(url, headers={"Accept": OCI_MANIFEST, **headers})
                    assert full.status_code == 200 and full.headers["ETag"] == etag
                    assert full.content == (image.manifest if send == http.get else b"")


def test_a_matching_etag_tells_nothing_to_a_caller_who_may_not_read(server, admin_http, http):
    """Authorization comes first: without read permission the answer is the one a caller
    without If-None-Match gets (401, or 404 through a virtual readable only elsewhere)."""
    image = make_image()
    assert push_image(admin_http, server.url, "docker-local/team/secret", image, "1").status_code == 201
    make_repository("elsewhere", "local", "docker")
    make_repository("mixed", "virtual", "docker", members=["docker-local", "elsewhere"])
    PermissionTarget.objects.filter(name="Anything").delete()  # no blanket anonymous read
    grant("anonymous-elsewhere", repositories=["elsewhere"], users={"anonymous": ["read"]})
    matching = {"Accept": OCI_MANIFEST, "If-None-Match": f'"{image.digest}"'}
    for reference in ("1", image.digest):
        for send in (http.get, http.head):
            local = send(f"{server.url}/v2/docker-local/team/secret/manifests/{reference}", headers=matching)
            assert local.status_code == 401 and "WWW-Authenticate" in local.headers
            assert "ETag" not in local.headers and "Docker-Content-Digest" not in local.headers
            hidden = send(f"{server.url}/v2/mixed/team/secret/manifests/{reference}", headers=matching)
            assert hidden.status_code == 404 and "ETag" not in hidden.headers
    SecuritySettings.objects.update(anonymous_access=False)
    for repo in ("docker-local", "mixed"):
        for send in (http.get, http.head):
            refused = send(f"{server.url}/v2/{repo}/team/secret/manifests/1", headers=matching)
            assert refused.status_code == 401 and "ETag" not in refused.headers
    assert admin_http.get(f"{server.url}/v2/mixed/team/secret/manifests/1", headers=matching).status_code == 304


def test_chunked_upload_with_status_and_out_of_order_chunk(server, admin_http):
    data = bytes(range(256)) * 100
    base = f"{server.url}/v2/docker-local/chunky"
    started = admin_http.post(base + "/blobs/uploads/")
    assert started.status_code == 202
    location = server.url + started.headers["Location"]
    first = admin_http.patch(location, data=data[:10000],
                             headers={"Content-Range": "0-9999", "Content-Type": "application/octet-stream"})
    assert first.status_code == 202 and first.headers["Range"] == "0-9999"
    skipped = admin_http.patch(location, data=data[20000:],
                               headers={"Content-Range": f"20000-{len(data) - 1}"})
    assert skipped.status_code == 416
    assert skipped.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
    status = admin_http.get(location)
    assert status.status_code == 204 and status.headers["Range"] == "0-9999"
    admin_http.patch(location, data=data[10000:20000], headers={"Content-Range": "10000-19999"})
    closed = admin_http.put(location, params={"digest": sha256(data)}, data=data[20000:])
    assert closed.status_code == 201, closed.text
    assert admin_http.get(f"{base}/blobs/{sha256(data)}").content == data
    assert admin_http.get(location).status_code == 404


def test_cancelled_upload_is_gone(server, admin_http):
    started = admin_http.post(f"{server.url}/v2/docker-local/gone/blobs/uploads/")
    location = server.url + started.headers["Location"]
    assert admin_http.delete(location).status_code == 204
    gone = admin_http.get(location)
    assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"


def test_cross_repository_mount(server, admin_http):
    data = b"shared layer bytes" * 50
    assert push_blob(admin_http, server.url, "docker-local/source", data).status_code == 201
    mounted = admin_http.post(f"{server.url}/v2/docker-local/target/blobs/uploads/",
                              params={"mount": sha256(data), "from": "docker-local/source"})
    assert mounted.status_code == 201
    assert admin_http.get(f"{server.url}/v2/docker-local/target/blobs/{sha256(data)}").content == data
    unknown = admin_http.post(f"{server.url}/v2/docker-local/target/blobs/uploads/",
                              params={"mount": sha256(b"nope"), "from": "docker-local/source"})
    assert unknown.status_code == 202 and "/blobs/uploads/" in unknown.headers["Location"]


def test_manifest_naming_unknown_blob_is_refused(server, admin_http):
    image = make_image()
    refused = admin_http.put(f"{server.url}/v2/docker-local/lacking/manifests/1",
                             data=image.manifest, headers={"Content-Type": OCI_MANIFEST})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert admin_http.get(f"{server.url}/v2/docker-local/lacking/manifests/1").status_code == 404


def test_tags_list_and_catalog_paginate_with_link(server, admin_http):
    image = make_image()
    for tag in ("b", "a", "c", "1.0"):
        assert push_image(admin_http, server.url, "docker-local/paged", image, tag).status_code == 201
    url = f"{server.url}/v2/docker-local/paged/tags/list"
    assert admin_http.get(url).json() == {"name": "docker-local/paged", "tags": ["1.0", "a", "b", "c"]}
    page = admin_http.get(url, params={"n": 2})
    assert page.json()["tags"] == ["1.0", "a"]
    assert page.headers["Link"] == '</v2/docker-local/paged/tags/list?n=2&last=a>; rel="next"'
    rest = admin_http.get(server.url + page.headers["Link"].split(";")[0].strip("<>"))
    assert rest.json()["tags"] == ["b", "c"] and "Link" not in rest.headers
    assert admin_http.get(url, params={"n": 0}).json()["tags"] == []
    catalog = admin_http.get(server.url + "/v2/_catalog").json()["repositories"]
    assert "docker-local/paged" in catalog


def test_referrers_with_artifact_type_filter(server, admin_http, http):
    image = make_image()
    assert push_image(admin_http, server.url, "docker-local/signed", image, "v1").status_code == 201
    subject = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}
    signature = make_image(subject=subject, artifact_type="application/example.sig")
    pushed = push_image(admin_http, server.url, "docker-local/signed", signature, signature.digest)
    assert pushed.status_code == 201 and pushed.headers["OCI-Subject"] == image.digest
    sbom = make_image(subject=subject, artifact_type="application/example.sbom")
    assert push_image(admin_http, server.url, "docker-local/signed", sbom, sbom.digest).status_code == 201
    url = f"{server.url}/v2/docker-local/signed/referrers/{image.digest}"
    index = http.get(url).json()
    assert {m["digest"] for m in index["manifests"]} == {signature.digest, sbom.digest}
    filtered = http.get(url, params={"artifactType": "application/example.sbom"})
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in filtered.json()["manifests"]] == [sbom.digest]
    assert filtered.json()["manifests"][0]["artifactType"] == "application/example.sbom"
    none = http.get(f"{server.url}/v2/docker-local/signed/referrers/{sha256(b'x')}")
    assert none.status_code == 200 and none.json()["manifests"] == []


def test_referrers_report_the_artifact_type_as_the_spec_says(server, admin_http, http):
    image = make_image()
    assert push_image(admin_http, server.url, "docker-local/typed", image, "v1").status_code == 201
    subject = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}
    untyped = make_image(subject=subject)  # an image manifest without one: its config's media type
    assert push_image(admin_http, server.url, "docker-local/typed", untyped, untyped.digest).status_code == 201
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [],
                        "subject": subject}).encode()  # an index without one: none at all
    pushed = admin_http.put(f"{server.url}/v2/docker-local/typed/manifests/{sha256(index)}", data=index,
                            headers={"Content-Type": OCI_INDEX})
    assert pushed.status_code == 201 and pushed.headers["OCI-Subject"] == image.digest
    listed = http.get(f"{server.url}/v2/docker-local/typed/referrers/{image.digest}").json()["manifests"]
    by_digest = {m["digest"]: m for m in listed}
    assert by_digest[untyped.digest]["artifactType"] == OCI_CONFIG
    assert by_digest[sha256(index)] == {"mediaType": OCI_INDEX, "digest": sha256(index), "size": len(index)}


def test_deletes(server, admin_http):
    image = make_image()
    base = f"{server.url}/v2/docker-local/deleting"
    assert push_image(admin_http, server.url, "docker-local/deleting", image, "keep").status_code == 201
    admin_http.put(f"{base}/manifests/drop", data=image.manifest, headers={"Content-Type": OCI_MANIFEST})
    assert admin_http.delete(f"{base}/manifests/drop").status_code == 202
    assert admin_http.get(f"{base}/manifests/drop").status_code == 404
    recorded = set(AuditEvent.objects.filter(target__startswith="docker-local/deleting:")
                   .values_list("action", "target", "actor"))
    assert recorded == {("docker.tag", "docker-local/deleting:keep", "admin"),
                        ("docker.tag", "docker-local/deleting:drop", "admin"),
                        ("docker.tag.delete", "docker-local/deleting:drop", "admin")}
    assert admin_http.get(f"{base}/manifests/keep").status_code == 200
    assert admin_http.delete(f"{base}/manifests/{image.digest}").status_code == 202
    assert admin_http.get(f"{base}/manifests/keep").json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    layer = sha256(image.layers[0])
    assert admin_http.delete(f"{base}/blobs/{layer}").status_code == 202
    assert admin_http.get(f"{base}/blobs/{layer}").json()["errors"][0]["code"] == "BLOB_UNKNOWN"


def test_sha512_blob_and_manifest(server, admin_http):
    data = b"sha512 content"
    digest = sha512(data)
    pushed = admin_http.post(f"{server.url}/v2/docker-local/five12/blobs/uploads/",
                             params={"digest": digest}, data=data)
    assert pushed.status_code == 201
    assert admin_http.get(f"{server.url}/v2/docker-local/five12/blobs/{digest}").content == data
    wrong = admin_http.post(f"{server.url}/v2/docker-local/five12/blobs/uploads/",
                            params={"digest": digest}, data=data + b"!")
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "DIGEST_INVALID"


def test_token_grants_the_intersection_of_scope_and_permissions(server, http, admin_http):
    anonymous = http.get(f"{server.url}/v2/token", params={
        "service": "repomgr", "scope": "repository:docker-local/team/app:pull,push"}).json()
    claims = jwt.decode(anonymous["token"], options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "docker-local/team/app", "actions": ["pull"]}]
    bearer = {"Authorization": f"Bearer {anonymous['token']}"}
    denied = http.post(f"{server.url}/v2/docker-local/team/app/blobs/uploads/", headers=bearer)
    assert denied.status_code == 401
    assert 'scope="repository:docker-local/team/app:pull,push"' in denied.headers["WWW-Authenticate"]
    admin = admin_http.get(f"{server.url}/v2/token", params={
        "scope": "repository:docker-local/team/app:pull,push"}).json()
    started = http.post(f"{server.url}/v2/docker-local/team/app/blobs/uploads/",
                        headers={"Authorization": f"Bearer {admin['token']}"})
    assert started.status_code == 202
    bad = http.get(f"{server.url}/v2/token", auth=("admin", "wrong"))
    assert bad.status_code == 401
    assert json.loads(bad.content)["errors"][0]["code"] == "UNAUTHORIZED"


def test_index_needs_its_manifests(server, admin_http):
    amd64, arm64 = make_image(seed="amd64"), make_image(seed="arm64")
    assert push_image(admin_http, server.url, "docker-local/multi", amd64, amd64.digest).status_code == 201
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest),
         "platform": {"architecture": arch, "os": "linux"}}
        for image, arch in ((amd64, "amd64"), (arm64, "arm64"))]}
    body = json.dumps(index).encode()
    url = f"{server.url}/v2/docker-local/multi/manifests/latest"
    refused = admin_http.put(url, data=body, headers={"Content-Type": OCI_INDEX})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert push_image(admin_http, server.url, "docker-local/multi", arm64, arm64.digest).status_code == 201
    assert admin_http.put(url, data=body, headers={"Content-Type": OCI_INDEX}).status_code == 201
    got = admin_http.get(url, headers={"Accept": OCI_INDEX})
    assert got.content == body and got.headers["Content-Type"] == OCI_INDEX


def test_scoped_access_token_stays_within_its_scope(server, http, admin_http):
    _, secret = token_create(user=get_user_model().objects.get(username="admin"), read_only=True,
                             repositories=["docker-local"])
    image = make_image()
    assert push_image(admin_http, server.url, "docker-local/scoped", image, "1").status_code == 201
    token = http.get(f"{server.url}/v2/token", auth=("admin", secret), params={"scope": [
        "repository:docker-local/scoped:pull,push,delete", "repository:docker-remote/x:pull",
        "registry:catalog:*"]}).json()["token"]
    access = jwt.decode(token, options={"verify_signature": False})["access"]
    assert access == [{"type": "repository", "name": "docker-local/scoped", "actions": ["pull"]}]
    bearer = {"Authorization": f"Bearer {token}"}
    assert http.get(f"{server.url}/v2/docker-local/scoped/manifests/1", headers=bearer).status_code == 200
    assert http.delete(f"{server.url}/v2/docker-local/scoped/manifests/1", headers=bearer).status_code == 401
    assert http.get(f"{server.url}/v2/_catalog", headers=bearer).status_code == 401
    # The access token used directly (Basic) is held to its scope by authorize() too.
    direct = http.post(f"{server.url}/v2/docker-local/scoped/blobs/uploads/", auth=("admin", secret))
    assert direct.status_code == 403 and direct.json()["errors"][0]["code"] == "DENIED"


def test_permission_patterns_name_the_image_folder(server, http, admin_http):
    image = make_image()
    for name in ("team/app", "team/other"):
        assert push_image(admin_http, server.url, f"docker-local/{name}", image, "1").status_code == 201
    make_user("dev")
    grant("team-app", repositories=["docker-local"], users={"dev": ["read"]}, include=["team/app/**"])
    SecuritySettings.objects.update(anonymous_access=False)
    dev = ("dev", "secret-pass")
    assert http.get(f"{server.url}/v2/docker-local/team/app/manifests/1", auth=dev).status_code == 200
    hidden = http.get(f"{server.url}/v2/docker-local/team/other/manifests/1", auth=dev)
    assert hidden.status_code == 403 and hidden.json()["errors"][0]["code"] == "DENIED"
    catalog = http.get(f"{server.url}/v2/_catalog", auth=dev).json()["repositories"]
    assert catalog == ["docker-local/team/app"]


def test_bytes_put_at_a_registry_path_by_other_means_are_never_served(server, admin_http):
    genuine = b"the real layer"
    for digest in (sha256(genuine), sha512(genuine)):
        algorithm, hexpart = digest.split(":")
        planted = admin_http.put(f"{server.url}/docker-local/team/raw/_blobs/{algorithm}__{hexpart}", data=b"EVIL")
        assert planted.status_code == 201
        got = admin_http.get(f"{server.url}/v2/docker-local/team/raw/blobs/{digest}")
        assert got.status_code == 404 and got.json()["errors"][0]["code"] == "BLOB_UNKNOWN"

    # A manifest pushed as sha512, then replaced through the raw API.
    image = make_image()
    for blob in image.blobs:
        assert push_blob(admin_http, server.url, "docker-local/team/raw", blob).status_code == 201
    digest = sha512(image.manifest)
    url = f"{server.url}/v2/docker-local/team/raw/manifests/{digest}"
    assert admin_http.put(url, data=image.manifest, headers={"Content-Type": OCI_MANIFEST}).status_code == 201
    assert admin_http.get(url).content == image.manifest
    admin_http.put(f"{server.url}/docker-local/team/raw/_manifests/sha512__{digest[7:]}", data=b"EVIL")
    for answer in (admin_http.get(url), admin_http.head(url)):
        assert answer.status_code == 404, answer.content
    assert admin_http.get(url).json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_concurrent_pushes_of_one_layer_store_it_once(server, admin_http):
    layer = b"popular base layer" * 20_000
    results = []

    def push(name):
        session = requests.Session()
        session.auth = ("admin", "password")
        started = session.post(f"{server.url}/v2/docker-local/{name}/blobs/uploads/")
        location = server.url + started.headers["Location"]
        session.patch(location, data=layer)
        results.append(session.put(location, params={"digest": sha256(layer)}).status_code)

    threads = [threading.Thread(target=push, args=(f"race{i % 3}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [201] * 6
    assert Blob.objects.filter(sha256=sha256(layer)[7:]).count() == 1
    for i in range(3):
        assert admin_http.get(f"{server.url}/v2/docker-local/race{i}/blobs/{sha256(layer)}").content == layer


def test_simultaneous_closes_of_one_upload_store_it_once(server, admin_http):
    layer = os.urandom(8_000_000)
    base = f"{server.url}/v2/docker-local/closing/blobs"
    for _ in range(3):
        location = server.url + admin_http.post(f"{base}/uploads/").headers["Location"]
        assert admin_http.patch(location, data=layer).status_code == 202
        answers, ready = [], threading.Barrier(6)

        def close():
            session = requests.Session()
            session.auth = ("admin", "password")
            ready.wait()
            answers.append(session.put(location, params={"digest": sha256(layer)}))

        threads = [threading.Thread(target=close) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # One close stores the blob; the others find the upload gone, as the spec says.
        assert sorted(a.status_code for a in answers) == [201] + [404] * 5
        assert {a.json()["errors"][0]["code"] for a in answers if a.status_code == 404} == {"BLOB_UPLOAD_UNKNOWN"}
        assert admin_http.get(f"{base}/{sha256(layer)}").content == layer


def test_docker_schema2_list_and_sha512_manifest_references(server, admin_http, http):
    docker_manifest = "application/vnd.docker.distribution.manifest.v2+json"
    docker_list = "application/vnd.docker.distribution.manifest.list.v2+json"
    base = f"{server.url}/v2/docker-local/legacy"
    children = []
    for arch in ("amd64", "arm64"):
        image = make_image(seed=arch)
        for blob in image.blobs:
            assert push_blob(admin_http, server.url, "docker-local/legacy", blob).status_code == 201
        document = json.loads(image.manifest)
        document["mediaType"] = docker_manifest
        document["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
        for layer in document["layers"]:
            layer["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip"
        body = json.dumps(document).encode()
        digest = sha512(body)
        pushed = admin_http.put(f"{base}/manifests/{digest}", data=body, headers={"Content-Type": docker_manifest})
        assert pushed.status_code == 201 and pushed.headers["Docker-Content-Digest"] == digest
        got = http.get(f"{base}/manifests/{digest}", headers={"Accept": docker_manifest})
        assert got.content == body and got.headers["Docker-Content-Digest"] == digest
        children.append({"mediaType": docker_manifest, "digest": digest, "size": len(body),
                         "platform": {"architecture": arch, "os": "linux"}})
    listing = json.dumps({"schemaVersion": 2, "mediaType": docker_list, "manifests": children}).encode()
    assert admin_http.put(f"{base}/manifests/multi", data=listing,
                          headers={"Content-Type": docker_list}).status_code == 201
    got = http.get(f"{base}/manifests/multi", headers={"Accept": docker_list})
    assert got.content == listing and got.headers["Content-Type"] == docker_list
    assert got.headers["Docker-Content-Digest"] == sha256(listing)


def test_empty_blob_monolithic_and_through_a_session(server, admin_http):
    empty = sha256(b"")
    base = f"{server.url}/v2/docker-local/empty/blobs"
    assert admin_http.post(f"{base}/uploads/", params={"digest": empty}, data=b"").status_code == 201
    location = server.url + admin_http.post(f"{base}/uploads/").headers["Location"]
    assert admin_http.put(location, params={"digest": empty}).status_code == 201
    got = admin_http.get(f"{base}/{empty}")
    assert got.status_code == 200 and got.content == b"" and got.headers["Content-Length"] == "0"
