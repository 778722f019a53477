"""Storage: layers shared between images and repositories are stored once, and the garbage
collection job removes what no manifest or live upload uses, sparing recent work."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.docker.models import UploadSession
from apps.docker.tasks import collect_garbage
from apps.packages.models import Artifact, Blob
from tests.factories.docker import make_image, push_blob, push_image, sha256

pytestmark = pytest.mark.django_db(transaction=True)


def binaries_count(admin_http, server) -> int:
    return int(admin_http.get(server.url + "/api/storageinfo").json()["binariesSummary"]["binariesCount"])


def backdate(hours: int = 2) -> None:
    past = timezone.now() - timedelta(hours=hours)
    Artifact.objects.update(modified=past)
    Blob.objects.update(touched=past)
    UploadSession.objects.update(modified=past)


def test_shared_layers_stored_once_and_collected_when_unused(server, admin_http):
    shared = make_image(layer_sizes=(4_000,))
    other = make_image(layer_sizes=(4_000,))
    other.layers = [shared.layers[0], *other.layers]   # a layer both images use
    document = json.loads(other.manifest)
    document["layers"].insert(0, json.loads(shared.manifest)["layers"][0])
    other.manifest = json.dumps(document).encode()

    assert push_image(admin_http, server.url, "docker-local/one", shared, "1").status_code == 201
    assert push_image(admin_http, server.url, "docker-local/two", other, "1").status_code == 201
    assert push_image(admin_http, server.url, "docker/one-again", shared, "1").status_code == 201
    layer = sha256(shared.layers[0])
    assert Blob.objects.filter(sha256=layer.split(":")[1]).count() == 1
    before = binaries_count(admin_http, server)

    stale = admin_http.post(f"{server.url}/v2/docker-local/one/blobs/uploads/")
    assert admin_http.patch(server.url + stale.headers["Location"], data=b"abandoned").status_code == 202
    parts = settings.DATA_DIR / "storage" / "uploads" / stale.headers["Docker-Upload-UUID"]
    assert parts.is_dir()
    orphan = b"pushed but never used by a manifest"
    assert push_blob(admin_http, server.url, "docker-local/one", orphan).status_code == 201
    assert admin_http.delete(f"{server.url}/v2/docker-local/one/manifests/{shared.digest}").status_code == 202
    assert admin_http.delete(f"{server.url}/v2/docker-local/one-again/manifests/{shared.digest}").status_code == 202
    backdate()
    fresh = admin_http.post(f"{server.url}/v2/docker-local/one/blobs/uploads/")
    recent = b"a layer of a push still in progress"
    assert push_blob(admin_http, server.url, "docker-local/one", recent).status_code == 201

    removed = collect_garbage.apply(kwargs={"grace_seconds": 3600}).get()
    assert removed["uploads"] == 1
    # one's config (shared.config is also one-again's) and the orphan go; the layer 'two' uses stays.
    assert removed["blobs"] == 3  # orphan, shared config, shared manifest document
    # + the orphan and the recent layer pushed since, - the three collected
    assert binaries_count(admin_http, server) == before + 2 - 3
    assert admin_http.get(server.url + stale.headers["Location"]).status_code == 404
    assert not parts.exists()
    assert admin_http.get(server.url + fresh.headers["Location"]).status_code == 204
    assert admin_http.get(f"{server.url}/v2/docker-local/one/blobs/{sha256(recent)}").status_code == 200
    assert admin_http.get(f"{server.url}/v2/docker-local/one/blobs/{sha256(orphan)}").status_code == 404
    pulled = admin_http.get(f"{server.url}/v2/docker-local/two/blobs/{layer}")
    assert pulled.content == shared.layers[0]
