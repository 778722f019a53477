"""Manifest documents (Docker schema 2, OCI image manifests and indexes, artifacts): parsing
and validation, without a database."""

import json
from dataclasses import dataclass, field

from .errors import DigestInvalid, ManifestInvalid
from .references import parse_digest

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)
MEDIA_TYPES = IMAGE_TYPES + INDEX_TYPES
MAX_MANIFEST_BYTES = 4 * 1024 * 1024


@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int
    artifact_type: str = ""
    annotations: dict = field(default_factory=dict)


@dataclass
class ParsedManifest:
    media_type: str
    artifact_type: str
    blobs: list[Descriptor]       # config and layers: must exist as blobs
    manifests: list[Descriptor]   # children of an index: must exist as manifests
    subject: Descriptor | None
    annotations: dict


def parse_manifest(body: bytes, content_type: str) -> ParsedManifest:
    """Validate a pushed manifest. Raises ManifestInvalid."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8 or not JSON, or nested too deep to parse
        raise ManifestInvalid("manifest is not valid JSON") from None
    if not isinstance(document, dict):
        raise ManifestInvalid("manifest must be a JSON object")
    if document.get("schemaVersion") != 2:
        raise ManifestInvalid("only schemaVersion 2 manifests are accepted")
    declared = document.get("mediaType")
    media_type = (content_type or "").split(";")[0].strip() or declared
    if declared and declared != media_type:
        raise ManifestInvalid(f"mediaType {declared!r} does not match Content-Type {media_type!r}")
    if media_type not in MEDIA_TYPES:
        media_type = _guess(document, media_type)
    annotations = _dict(document.get("annotations"), "annotations")
    subject = _descriptor(document["subject"], "subject") if document.get("subject") else None
    artifact_type = _string(document.get("artifactType", ""), "artifactType")
    if media_type in INDEX_TYPES:
        children = _descriptors(document.get("manifests"), "manifests")
        return ParsedManifest(media_type, artifact_type, [], children, subject, annotations)
    if "config" not in document:
        raise ManifestInvalid("an image manifest needs a config descriptor")
    config = _descriptor(document["config"], "config")
    layers = _descriptors(document.get("layers", []), "layers")
    return ParsedManifest(media_type, artifact_type, [config, *layers], [], subject, annotations)


def _guess(document: dict, content_type: str) -> str:
    """OCI lets mediaType be absent; then the Content-Type decides, else the shape does."""
    if content_type:
        raise ManifestInvalid(f"unsupported manifest media type {content_type!r}")
    return OCI_INDEX if "manifests" in document else OCI_MANIFEST


def _descriptors(value, where: str) -> list[Descriptor]:
    if not isinstance(value, list):
        raise ManifestInvalid(f"{where} must be a list")
    return [_descriptor(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _descriptor(value, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where} must be a descriptor object")
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where}.size must be a non-negative integer")
    digest = value.get("digest", "")
    try:
        parse_digest(digest)
    except DigestInvalid:
        raise ManifestInvalid(f"{where}.digest {str(digest)[:140]!r} is not a valid digest") from None
    return Descriptor(_string(value.get("mediaType", ""), f"{where}.mediaType"), digest, size,
                      _string(value.get("artifactType", ""), f"{where}.artifactType"),
                      _dict(value.get("annotations"), f"{where}.annotations"))


def _string(value, where: str) -> str:
    if not isinstance(value, str) or len(value) > 255:
        raise ManifestInvalid(f"{where} must be a string of at most 255 characters")
    return value


def _dict(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ManifestInvalid(f"{where} must map strings to strings")
    return value


def referrer_artifact_type(parsed: ParsedManifest) -> str:
    """What the referrers API reports: the artifactType, else the config's media type."""
    if parsed.artifact_type:
        return parsed.artifact_type
    return parsed.blobs[0].media_type if parsed.blobs else ""
