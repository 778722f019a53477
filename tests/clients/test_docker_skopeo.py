"""skopeo (containers/image) against the live registry: an OCI layout built here is copied in
and back out with its digests unchanged, as OCI and as Docker schema 2."""

import json
import shutil
import subprocess

import pytest

from apps.repositories.models import Repository
from apps.repositories.services import repository_update
from tests.docker.upstream import DistributionRegistry
from tests.factories.docker import make_image, sha256, write_oci_index_layout, write_oci_layout

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow,
              pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is not installed")]
ADMIN_CREDS = "admin:password"


def skopeo(*args: str) -> str:
    done = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def layout_digests(directory) -> tuple[str, set[str]]:
    index = json.loads((directory / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"]
    blobs = {f"sha256:{p.name}" for p in (directory / "blobs" / "sha256").iterdir()}
    return manifest_digest, blobs


def test_oci_layout_round_trip_keeps_digests(server, tmp_path):
    image = make_image(layer_sizes=(50_000, 200_000))
    source = write_oci_layout(tmp_path / "in", image, "1.0")
    target = f"docker://{server.host}/docker-local/team/app:1.0"
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", ADMIN_CREDS, f"oci:{source}:1.0", target)

    raw = skopeo("inspect", "--tls-verify=false", "--raw", target)
    assert raw.encode() == image.manifest
    assert json.loads(skopeo("list-tags", "--tls-verify=false",
                             f"docker://{server.host}/docker-local/team/app"))["Tags"] == ["1.0"]

    # Back out anonymously (anonymous read is on), through the virtual repository too.
    for repo in ("docker-local", "docker"):
        out = tmp_path / f"out-{repo}"
        skopeo("copy", "--src-tls-verify=false", f"docker://{server.host}/{repo}/team/app:1.0", f"oci:{out}:1.0")
        digest, blobs = layout_digests(out)
        assert digest == image.digest
        assert blobs == {image.digest, *(sha256(b) for b in image.blobs)}


def test_docker_schema2_push_and_delete(server, tmp_path):
    image = make_image(layer_sizes=(10_000,))
    source = write_oci_layout(tmp_path / "in", image, "v2")
    target = f"docker://{server.host}/docker/team/legacy:v2"   # pushed through the virtual repository
    skopeo("copy", "--format", "v2s2", "--dest-tls-verify=false", "--dest-creds", ADMIN_CREDS,
           f"oci:{source}:v2", target)
    manifest = json.loads(skopeo("inspect", "--tls-verify=false", "--raw", target))
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    local = f"docker://{server.host}/docker-local/team/legacy:v2"
    assert json.loads(skopeo("inspect", "--tls-verify=false", "--raw", local)) == manifest
    skopeo("delete", "--tls-verify=false", "--creds", ADMIN_CREDS, local)
    gone = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", local],
                          capture_output=True, text=True, timeout=60)
    assert gone.returncode != 0 and "manifest unknown" in gone.stderr.lower()


def test_wrong_credentials_are_refused(server, tmp_path):
    source = write_oci_layout(tmp_path / "in", make_image(), "x")
    done = subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "--dest-creds", "admin:wrong",
         f"oci:{source}:x", f"docker://{server.host}/docker-local/team/denied:x"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "unauthorized" in done.stderr.lower() or "401" in done.stderr


@pytest.mark.skipif(not DistributionRegistry.available(), reason="docker-registry is not installed")
def test_remote_and_virtual_pull_through_keep_digests(server, tmp_path):
    upstream = DistributionRegistry(tmp_path / "upstream").start()
    try:
        repository_update(Repository.objects.get(key="docker-remote"), url=upstream.url)
        image = make_image(layer_sizes=(80_000,))
        source = write_oci_layout(tmp_path / "in", image, "3.20")
        skopeo("copy", "--dest-tls-verify=false", f"oci:{source}:3.20",
               f"docker://127.0.0.1:{upstream.port}/library/alpine:3.20")
        for repo in ("docker-remote", "docker"):
            out = tmp_path / f"out-{repo}"
            skopeo("copy", "--src-tls-verify=false", f"docker://{server.host}/{repo}/alpine:3.20", f"oci:{out}:3.20")
            digest, blobs = layout_digests(out)
            assert digest == image.digest
            assert blobs == {image.digest, *(sha256(b) for b in image.blobs)}
    finally:
        upstream.stop()
    # The upstream is gone: the cache still serves the image.
    out = tmp_path / "out-offline"
    skopeo("copy", "--src-tls-verify=false", f"docker://{server.host}/docker/alpine:3.20", f"oci:{out}:3.20")
    assert layout_digests(out)[0] == image.digest


@pytest.mark.skipif(not DistributionRegistry.available(), reason="docker-registry is not installed")
def test_multi_platform_index_through_local_and_remote(server, tmp_path):
    images = {"amd64": make_image(seed="amd64"), "arm64": make_image(seed="arm64")}
    index = write_oci_index_layout(tmp_path / "in", images, "multi")
    source = f"oci:{tmp_path / 'in'}:multi"
    upstream = DistributionRegistry(tmp_path / "upstream").start()
    try:
        repository_update(Repository.objects.get(key="docker-remote"), url=upstream.url)
        skopeo("copy", "--all", "--dest-tls-verify=false", source,
               f"docker://127.0.0.1:{upstream.port}/team/multi:1")
        skopeo("copy", "--all", "--dest-tls-verify=false", "--dest-creds", ADMIN_CREDS, source,
               f"docker://{server.host}/docker-local/team/multi:1")
        for repo in ("docker-local", "docker-remote"):
            reference = f"docker://{server.host}/{repo}/team/multi:1"
            assert skopeo("inspect", "--tls-verify=false", "--raw", reference).encode() == index
            out = tmp_path / f"out-{repo}"
            skopeo("copy", "--all", "--src-tls-verify=false", reference, f"oci:{out}:1")
            digest, blobs = layout_digests(out)
            assert digest == sha256(index)
            assert {image.digest for image in images.values()} <= blobs
    finally:
        upstream.stop()
