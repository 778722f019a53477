"""Docker/OCI test content: images made of random layers, written as OCI layouts (for skopeo)
or pushed straight through the registry API."""

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class Image:
    layers: list[bytes]
    config: bytes
    manifest: bytes = b""
    extra: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers]


def make_image(*, layer_sizes=(2048,), seed: str = "", subject: dict | None = None,
               artifact_type: str = "") -> Image:
    """An OCI image of random layers (each a gzipped tar of one random file)."""
    layers = [layer_tar({f"file{i}{seed}": os.urandom(size)}) for i, size in enumerate(layer_sizes)]
    diff_ids = [sha256(gzip.decompress(layer)) for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"seed": seed}},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    document = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, layer) for layer in layers],
    }
    if subject:
        document["subject"] = subject
    if artifact_type:
        document["artifactType"] = artifact_type
    image = Image(layers, config)
    image.manifest = json.dumps(document).encode()
    return image


def descriptor(media_type: str, data: bytes) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}


def write_oci_layout(directory: Path, image: Image, tag: str) -> Path:
    """An OCI image layout holding ``image`` under ``tag`` (skopeo's oci:DIR:TAG)."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for data in [*image.blobs, image.manifest]:
        (blobs / sha256(data).split(":")[1]).write_bytes(data)
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {"schemaVersion": 2, "manifests": [{
        **descriptor(OCI_MANIFEST, image.manifest),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (directory / "index.json").write_text(json.dumps(index))
    return directory


def write_oci_index_layout(directory: Path, images: dict[str, Image], tag: str) -> bytes:
    """An OCI layout whose ``tag`` is an image index of ``images`` ({architecture: image});
    returns the index document."""
    for architecture, image in images.items():
        write_oci_layout(directory, image, architecture)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {**descriptor(OCI_MANIFEST, image.manifest), "platform": {"architecture": arch, "os": "linux"}}
        for arch, image in images.items()]}).encode()
    (directory / "blobs" / "sha256" / sha256(index).split(":")[1]).write_bytes(index)
    layout = {"schemaVersion": 2, "manifests": [
        {**descriptor(OCI_INDEX, index), "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (directory / "index.json").write_text(json.dumps(layout))
    return index


def push_blob(session: requests.Session, base: str, image_name: str, data: bytes) -> requests.Response:
    """Single-POST monolithic upload (``image_name`` = '<repo>/<name>'), or POST then PUT for
    registries that answer the single POST with 202 (distribution)."""
    started = session.post(f"{base}/v2/{image_name}/blobs/uploads/", params={"digest": sha256(data)},
                           data=data, headers={"Content-Type": "application/octet-stream"})
    if started.status_code != 202:
        return started
    location = urljoin(base + "/", started.headers["Location"])
    return session.put(location, params={"digest": sha256(data)}, data=data,
                       headers={"Content-Type": "application/octet-stream"})


def push_image(session: requests.Session, base: str, image_name: str, image: Image,
               reference: str) -> requests.Response:
    for blob in image.blobs:
        response = push_blob(session, base, image_name, blob)
        assert response.status_code == 201, response.text
    media_type = json.loads(image.manifest).get("mediaType", OCI_MANIFEST)
    return session.put(f"{base}/v2/{image_name}/manifests/{reference}", data=image.manifest,
                       headers={"Content-Type": media_type})
