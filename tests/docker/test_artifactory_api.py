"""Artifactory's Docker REST API: per-repository catalog and tags, and promotion (copy or move
a tag to another repository; layers linked, not copied), also under /artifactory/."""

import pytest
from django.contrib.auth import get_user_model

from apps.packages.models import Blob
from apps.security.tokens import token_create
from tests.factories import grant, make_repository, make_user
from tests.factories.docker import OCI_MANIFEST, make_image, push_image, sha256

pytestmark = pytest.mark.django_db(transaction=True)


def test_catalog_and_tags_of_one_repository(server, admin_http):
    image = make_image()
    for name in ("team/app", "team/tool"):
        assert push_image(admin_http, server.url, f"docker-local/{name}", image, "1").status_code == 201
    for prefix in ("", "/artifactory"):
        base = f"{server.url}{prefix}/api/docker/docker-local/v2"
        assert admin_http.get(f"{base}/_catalog").json() == {"repositories": ["team/app", "team/tool"]}
        page = admin_http.get(f"{base}/_catalog", params={"n": 1})
        assert page.json()["repositories"] == ["team/app"] and "rel=\"next\"" in page.headers["Link"]
        assert admin_http.get(f"{base}/team/app/tags/list").json()["tags"] == ["1"]
    virtual = admin_http.get(f"{server.url}/api/docker/docker/v2/_catalog").json()
    assert virtual["repositories"] == ["team/app", "team/tool"]


def test_catalog_of_one_repository_holds_registry_tokens_to_their_claims(server, admin_http, http):
    image = make_image()
    for name in ("team/app", "other/tool"):
        assert push_image(admin_http, server.url, f"docker-local/{name}", image, "1").status_code == 201
    url = f"{server.url}/api/docker/docker-local/v2/_catalog"
    _, secret = token_create(user=get_user_model().objects.get(username="admin"), read_only=True,
                             repositories=["generic-local"])
    make_user("dev")
    grant("team", repositories=["docker-local"], users={"dev": ["read"]}, include=["team/**"])

    def bearer(auth, scope):
        token = http.get(f"{server.url}/v2/token", auth=auth, params={"scope": scope}).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    # Tokens without the catalog claim: the scoped access token's (it never gets one, so
    # "access" is []), and a user's token for pulling one image.
    for auth, scope in ((("admin", secret), "registry:catalog:*"),
                        (("dev", "secret-pass"), "repository:docker-local/team/app:pull")):
        refused = http.get(url, headers=bearer(auth, scope))
        assert (refused.status_code, refused.json()["errors"][0]["code"]) == (401, "UNAUTHORIZED")
        assert 'scope="registry:catalog:*"' in refused.headers["WWW-Authenticate"]
    assert http.get(url, auth=("admin", secret)).json() == {"repositories": []}  # held to its scope
    # With the claim, the user's permissions decide, as with Basic.
    listed = http.get(url, headers=bearer(("dev", "secret-pass"), "registry:catalog:*"))
    assert listed.json() == {"repositories": ["team/app"]}
    assert http.get(url, headers=bearer(("admin", "password"), "registry:catalog:*")).json() == {
        "repositories": ["other/tool", "team/app"]}


def test_promote_copies_then_moves_without_copying_bytes(server, admin_http, http):
    make_repository("docker-prod", "local", "docker")
    image = make_image(layer_sizes=(6_000,))
    assert push_image(admin_http, server.url, "docker-local/team/app", image, "1.4").status_code == 201
    blobs = Blob.objects.count()
    url = f"{server.url}/api/docker/docker-local/v2/promote"
    copied = admin_http.post(url, json={"targetRepo": "docker-prod", "dockerRepository": "team/app",
                                        "tag": "1.4", "targetTag": "release", "copy": True})
    assert copied.status_code == 200, copied.text
    got = http.get(f"{server.url}/v2/docker-prod/team/app/manifests/release", headers={"Accept": OCI_MANIFEST})
    assert got.content == image.manifest
    assert http.get(f"{server.url}/v2/docker-prod/team/app/blobs/{sha256(image.layers[0])}").content == image.layers[0]
    assert http.get(f"{server.url}/v2/docker-local/team/app/manifests/1.4").status_code == 200
    assert Blob.objects.count() == blobs

    moved = admin_http.post(url, json={"targetRepo": "docker-prod", "dockerRepository": "team/app",
                                       "tag": "1.4"})
    assert moved.status_code == 200
    assert http.get(f"{server.url}/v2/docker-prod/team/app/manifests/1.4").status_code == 200
    assert http.get(f"{server.url}/v2/docker-local/team/app/manifests/1.4").status_code == 404


def test_promote_needs_permissions_and_a_tag(server, admin_http, http):
    make_repository("docker-prod", "local", "docker")
    make_user("dev")
    grant("dev", repositories=["docker-local"], users={"dev": ["read", "deploy"]})
    image = make_image()
    assert push_image(admin_http, server.url, "docker-local/team/app", image, "1").status_code == 201
    url = f"{server.url}/api/docker/docker-local/v2/promote"
    body = {"targetRepo": "docker-prod", "dockerRepository": "team/app", "tag": "1", "copy": True}
    denied = http.post(url, json=body, auth=("dev", "secret-pass"))
    assert denied.status_code == 403 and denied.json()["errors"][0]["status"] == 403
    missing = admin_http.post(url, json={**body, "tag": "nope"})
    assert missing.status_code == 404 and "MANIFEST_UNKNOWN" in missing.json()["errors"][0]["message"]
    assert admin_http.post(url, json={"tag": "1"}).status_code == 400
    assert admin_http.post(url, json={**body, "targetRepo": "docker-remote"}).status_code == 400


def test_promoting_onto_an_existing_tag_of_another_image_needs_delete_on_the_target(server, admin_http, http):
    make_repository("docker-prod", "local", "docker")
    make_user("dev")
    grant("dev", repositories=["docker-local", "docker-prod"], users={"dev": ["read", "deploy"]})
    old, new = make_image(seed="old"), make_image(seed="new")
    assert push_image(admin_http, server.url, "docker-prod/team/app", old, "release").status_code == 201
    assert push_image(admin_http, server.url, "docker-local/team/app", new, "1").status_code == 201
    url = f"{server.url}/api/docker/docker-local/v2/promote"
    body = {"targetRepo": "docker-prod", "dockerRepository": "team/app", "tag": "1",
            "targetTag": "release", "copy": True}
    refused = http.post(url, json=body, auth=("dev", "secret-pass"))
    assert refused.status_code == 403, refused.text
    release = f"{server.url}/v2/docker-prod/team/app/manifests/release"
    assert admin_http.get(release, headers={"Accept": OCI_MANIFEST}).content == old.manifest
    # A new tag is a deploy, not an overwrite; with delete on the target the tag may move.
    assert http.post(url, json={**body, "targetTag": "next"}, auth=("dev", "secret-pass")).status_code == 200
    grant("dev-delete", repositories=["docker-prod"], users={"dev": ["delete"]})
    assert http.post(url, json=body, auth=("dev", "secret-pass")).status_code == 200
    assert admin_http.get(release, headers={"Accept": OCI_MANIFEST}).content == new.manifest
