"""Names, tags and digests as the OCI distribution spec writes them (pure functions), and
where registry things live as artifact paths (the layout, defined here only)."""

import hashlib
import re
from dataclasses import dataclass
from typing import IO

from apps.packages.storage import CHUNK

from .errors import DigestInvalid, NameInvalid, TagInvalid

# Matched whole (fullmatch): '$' would also match before a final newline.
NAME = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
ALGORITHMS = {"sha256": 64, "sha512": 128}
DIGEST = re.compile(r"([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")
MAX_NAME = 255


@dataclass(frozen=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def matches(self, data: bytes) -> bool:
        return hashlib.new(self.algorithm, data).hexdigest() == self.hex


def parse_digest(text: str) -> Digest:
    """Raises DigestInvalid for anything but a well-formed sha256 or sha512 digest."""
    match = DIGEST.fullmatch(text or "")
    if not match:
        raise DigestInvalid(f"invalid digest {text[:200]!r}", detail={"digest": text[:200]})
    algorithm, hexpart = match.groups()
    if algorithm not in ALGORITHMS:
        raise DigestInvalid(f"unsupported digest algorithm {algorithm!r}")
    if len(hexpart) != ALGORITHMS[algorithm] or not re.fullmatch(r"[a-f0-9]+", hexpart):
        raise DigestInvalid(f"invalid {algorithm} digest {text[:200]!r}")
    return Digest(algorithm, hexpart)


def is_digest(reference: str) -> bool:
    return ":" in reference


def check_name(name: str) -> str:
    if len(name) > MAX_NAME or not NAME.fullmatch(name):
        raise NameInvalid(f"invalid image name {name[:300]!r}", detail={"name": name[:300]})
    return name


def check_tag(tag: str) -> str:
    if not TAG.fullmatch(tag):
        raise TagInvalid(f"invalid tag {tag[:200]!r}", detail={"tag": tag[:200]})
    return tag


def digest_of(data: bytes, algorithm: str = "sha256") -> Digest:
    return Digest(algorithm, hashlib.new(algorithm, data).hexdigest())


def digest_of_stream(stream: IO[bytes], algorithm: str) -> Digest:
    hasher = hashlib.new(algorithm)
    while chunk := stream.read(CHUNK):
        hasher.update(chunk)
    return Digest(algorithm, hasher.hexdigest())


# --- layout: artifact paths of registry content inside a repository ------------------------
# Image names never have a component starting with '_', so these folders cannot clash with one.

def image_folder(name: str) -> str:
    """The path permission and include/exclude patterns are matched against for an image: its
    folder, so that 'team/**' and 'team/app/**' (Artifactory's usual form) both admit team/app."""
    return name + "/"


def blob_path(name: str, digest: Digest) -> str:
    return f"{name}/_blobs/{digest.algorithm}__{digest.hex}"


def manifest_path(name: str, digest: Digest) -> str:
    return f"{name}/_manifests/{digest.algorithm}__{digest.hex}"


BLOB_FOLDER = "/_blobs/"
