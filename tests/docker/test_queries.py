"""List endpoints and the manifest hot path run a constant number of queries, however many
images, tags and repositories there are (in-process client over the same views)."""

import base64
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import grant, make_user
from tests.factories.docker import OCI_MANIFEST, make_image, sha256

BASIC = "Basic " + base64.b64encode(b"dev:secret-pass").decode()


@pytest.fixture
def registry(db, client):
    call_command("bootstrap", verbosity=0)
    make_user("dev")
    grant("dev", repositories=["docker-local"], users={"dev": ["read", "deploy"]})

    def push(name: str, tags: list[str]):
        image = make_image(seed=name)
        for blob in image.blobs:
            client.post(f"/v2/docker-local/{name}/blobs/uploads/?digest={sha256(blob)}", data=blob,
                        content_type="application/octet-stream", HTTP_AUTHORIZATION=BASIC)
        for tag in tags:
            response = client.put(f"/v2/docker-local/{name}/manifests/{tag}", data=image.manifest,
                                  content_type=OCI_MANIFEST, HTTP_AUTHORIZATION=BASIC)
            assert response.status_code == 201, response.content
    return push


def queries(client, url: str, authorization: str = BASIC) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_AUTHORIZATION=authorization, HTTP_ACCEPT=OCI_MANIFEST)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def test_catalog_tags_and_manifest_queries_do_not_grow(registry, client):
    registry("one", ["1"])
    small = [queries(client, url) for url in
             ("/v2/_catalog", "/v2/docker-local/one/tags/list", "/v2/docker-local/one/manifests/1")]
    for i in range(5):
        registry(f"more{i}", [f"{i}", f"{i}.0", "latest"])
    registry("one", ["2", "3", "4"])
    large = [queries(client, url) for url in
             ("/v2/_catalog", "/v2/docker-local/one/tags/list", "/v2/docker-local/one/manifests/1")]
    assert large == small, (small, large)
    # A warm manifest GET: one statement, the manifest with the configuration generation read
    # along; repository, user and rules come from the configuration cache.
    assert queries(client, "/v2/docker-local/one/manifests/1") == 1
    # So does one with a bearer token from the token endpoint, as docker pulls (the token's
    # user comes from the cache too).
    token = json.loads(client.get("/v2/token", {"scope": "repository:docker-local/one:pull"},
                                  HTTP_AUTHORIZATION=BASIC).content)["token"]
    bearer = f"Bearer {token}"
    queries(client, "/v2/docker-local/one/manifests/1", bearer)  # the token's user, into the cache
    assert queries(client, "/v2/docker-local/one/manifests/1", bearer) == 1
    catalog = json.loads(client.get("/v2/_catalog", HTTP_AUTHORIZATION=BASIC).content)
    assert len(catalog["repositories"]) == 6
