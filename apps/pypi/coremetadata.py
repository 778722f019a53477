"""A distribution's core metadata (PEP 658 ``<file>.metadata``) for every repository class:
stored at upload for local files; for remote files the upstream's own ``.metadata`` when it
offers one (checked against the hash it published), else read from the cached file itself."""

import hashlib
import shutil
import tempfile

from apps.core.kept import Kept
from apps.packages.models import Artifact
from apps.packages.selectors import artifact_find
from apps.packages.storage import blob_store
from apps.repositories.remote import UpstreamUnavailable, remote_document

from .distributions import InvalidDistribution, read_core_metadata
from .indexes import file_fetch, file_resolve
from .upstream import credentials_for


def core_metadata_resolve(user, repository, project: str, filename: str) -> bytes | None:
    """The core metadata of ``filename``, or None when the file is not there for ``user`` or
    carries none. Raises UpstreamUnavailable."""
    resolved = file_resolve(user, repository, project, filename, fetch=False, need_upstream=True)
    if resolved is not None and resolved.pypi_file is not None:
        return bytes(resolved.pypi_file.core_metadata) or None
    if not filename.endswith(".whl"):
        return None
    if resolved is None:
        return None
    if isinstance(resolved.result, Artifact):  # a cached remote wheel answers without its upstream
        return _extract(resolved.result, filename)
    upstream = resolved.upstream
    if upstream.core_metadata:
        return _upstream_metadata(resolved.source, filename, upstream)
    fetched = file_fetch(resolved, project, filename)  # the file itself, to read its METADATA
    return _extract(_complete(fetched), filename) if fetched is not None else None


def _upstream_metadata(source, filename: str, upstream) -> bytes | None:
    url = upstream.url + ".metadata"
    document = remote_document(source, "metadata:" + filename, url, auth=credentials_for(source, url))
    if document is None:
        return None
    expected = upstream.core_metadata.get("sha256") if isinstance(upstream.core_metadata, dict) else None
    if expected and hashlib.sha256(document.body).hexdigest() != expected.lower():
        raise UpstreamUnavailable(f"the upstream's metadata of {filename} does not match its hash")
    return document.body


def _complete(resolved) -> Artifact:
    """The cached artifact, letting a live download run to its end first."""
    result = resolved.result
    if isinstance(result, Artifact):
        return result
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
    artifact = artifact_find(resolved.source, resolved.result.path)
    if artifact is None:
        raise UpstreamUnavailable("the download of the file failed")
    return artifact


# Every install of a cached remote wheel asks for its metadata: read from the wheel once.
_extracted = Kept(count=512, largest=64 * 1024)


def _extract(artifact: Artifact, filename: str) -> bytes | None:
    def read() -> bytes | None:
        with blob_store().open(artifact.blob.sha256) as handle:
            return _read(handle, filename)
    return _extracted.get((artifact.blob.sha256, filename), read)


def _read(handle, filename: str) -> bytes | None:
    if not hasattr(handle, "tell"):  # object storage: zipfile needs a seekable file
        with tempfile.TemporaryFile() as local:
            shutil.copyfileobj(handle, local)
            return _read(local, filename)
    try:
        return read_core_metadata(handle, filename)
    except InvalidDistribution:
        return None
