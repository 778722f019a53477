"""Manifest parsing, digests, names and token scopes: pure functions, no database."""

import json

import pytest

from apps.docker.errors import DigestInvalid, ManifestInvalid, NameInvalid, TagInvalid
from apps.docker.manifests import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, parse_manifest,
                                   referrer_artifact_type)
from apps.docker.references import check_name, check_tag, parse_digest
from apps.docker.tokens import parse_scope
from tests.factories.docker import make_image

SUBJECT = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "a" * 64, "size": 10}


def test_image_manifest_blobs_subject_and_artifact_type():
    image = make_image(layer_sizes=(10, 20), subject=SUBJECT, artifact_type="application/x.sig")
    parsed = parse_manifest(image.manifest, OCI_MANIFEST)
    assert len(parsed.blobs) == 3 and parsed.manifests == []
    assert parsed.subject.digest == SUBJECT["digest"]
    assert referrer_artifact_type(parsed) == "application/x.sig"
    plain = parse_manifest(make_image().manifest, "")
    assert referrer_artifact_type(plain) == "application/vnd.oci.image.config.v1+json"


def test_an_image_without_layers_is_a_manifest():
    """BuildKit writes `FROM scratch` images with only metadata as manifests without layers;
    the distribution registry and Docker Hub take them."""
    docker = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {**SUBJECT, "mediaType":
              "application/vnd.docker.container.image.v1+json"}, "layers": []}
    for document in (docker, {**docker, "mediaType": OCI_MANIFEST, "layers": []}):
        parsed = parse_manifest(json.dumps(document).encode(), document["mediaType"])
        assert [blob.digest for blob in parsed.blobs] == [SUBJECT["digest"]]


def test_index_without_media_type_is_recognised_by_shape():
    index = {"schemaVersion": 2, "manifests": [SUBJECT]}
    parsed = parse_manifest(json.dumps(index).encode(), "")
    assert parsed.media_type == OCI_INDEX and parsed.manifests[0].digest == SUBJECT["digest"]
    assert parse_manifest(json.dumps({**index, "mediaType": DOCKER_LIST}).encode(), DOCKER_LIST).blobs == []


@pytest.mark.parametrize("document", [
    {"schemaVersion": 2, "mediaType": OCI_MANIFEST},
    {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": "sha256:x", "size": 1}},
    {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {**SUBJECT, "size": -1}},
    {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": SUBJECT, "layers": "no"},
    {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": SUBJECT, "annotations": {"a": 1}},
])
def test_invalid_manifests(document):
    with pytest.raises(ManifestInvalid):
        parse_manifest(json.dumps(document).encode(), document["mediaType"])


def test_digests_names_tags_scopes():
    assert str(parse_digest("sha512:" + "b" * 128)).startswith("sha512:")
    for bad in ("sha256:" + "A" * 64, "sha256:abc", "sha1:" + "0" * 40, "nonsense"):
        with pytest.raises(DigestInvalid):
            parse_digest(bad)
    assert check_name("team/app-1.2/x__y") == "team/app-1.2/x__y"
    for bad in ("Team/app", "team//app", "-app", "app/"):
        with pytest.raises(NameInvalid):
            check_name(bad)
    with pytest.raises(TagInvalid):
        check_tag("." + "a")
    scope = parse_scope("repository:docker-local/team/app:pull,push")
    assert (scope.name, scope.actions) == ("docker-local/team/app", ("pull", "push"))
    assert parse_scope("garbage") is None
