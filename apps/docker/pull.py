"""Pulls: where a manifest or blob is answered from (the repository, or a virtual repository's
members in order; remote members from their cache, else from their upstream)."""

import logging

from django.http import HttpResponse, StreamingHttpResponse

from apps.core.http import serve_file
from apps.core.kept import Kept
from apps.packages.models import Artifact
from apps.packages.storage import blob_store
from apps.repositories.models import Repository
from apps.repositories.remote import Begun, UpstreamUnavailable
from apps.repositories.resolve import first_found

from . import selectors, upstream
from .selectors import StoredManifest
from .references import Digest

log = logging.getLogger(__name__)


def manifest_resolve(user, repository: Repository, name: str, reference: str) -> StoredManifest | None:
    """The first manifest for ``reference`` among the sources the caller may read. Raises
    UpstreamUnavailable when none has it and an upstream that might could not be reached."""
    return _first(user, repository, name,
                  lambda remote: upstream.remote_manifest(remote, name, reference),
                  lambda local: selectors.manifest_find(local, name, reference))


# Manifest documents are small and read on every pull: kept instead of read from the store.
_manifests = Kept(count=512, largest=64 * 1024)


def manifest_bytes(manifest: StoredManifest) -> bytes:
    def read() -> bytes:
        with blob_store().open(manifest.sha256) as handle:
            return handle.read()
    return _manifests.get(manifest.sha256, read)


def blob_resolve(user, repository: Repository, name: str, digest: Digest):
    """An Artifact holding the blob, a live upstream download of it, or None. Raises
    UpstreamUnavailable when none has it and an upstream that might could not be reached."""
    return _first(user, repository, name,
                  lambda remote: upstream.remote_blob(remote, name, digest),
                  lambda local: selectors.blob_find(local, name, digest))


def _first(user, repository, name, from_remote, from_local):
    """The first answer among the sources the caller may read, in order; None when none has
    it. A remote member whose upstream cannot be reached is passed over for the next one.
    Raises the first UpstreamUnavailable when one could not be reached and no source had it
    (the upstream might have had it: a client told MANIFEST_UNKNOWN would be misled)."""
    def find(source: Repository):
        if not source.is_remote:
            return from_local(source)
        try:
            return from_remote(source)
        except UpstreamUnavailable:
            if repository.is_virtual:
                log.warning("%s: upstream of %s unavailable for %s", repository.key, source.key, name)
            raise
    return first_found(selectors.image_sources(user, repository, name), find)


def tags_resolve(user, repository: Repository, name: str) -> list[str] | None:
    """Every tag of the image across the sources the caller may read (remote ones asking
    their upstream too), in ASCII order; None when no source knows the image."""
    sources = selectors.image_sources(user, repository, name)
    tags = selectors.tags_list(sources, name)
    for source in sources:
        if source.is_remote and not source.offline:
            tags.update(upstream.remote_tags(source, name))
    if not tags and not selectors.image_exists(sources, name):
        return None
    return sorted(tags)


def blob_response(request, result, digest: Digest) -> HttpResponse:
    headers = {"Docker-Content-Digest": str(digest)}
    if isinstance(result, Artifact):
        blob, store = result.blob, blob_store()
        return serve_file(request, opener=lambda: store.open(blob.sha256), size=blob.size,
                          content_type="application/octet-stream", etag=str(digest), headers=headers,
                          redirect_url=store.redirect_url(blob.sha256, digest.hex))
    if request.method == "HEAD":
        response = HttpResponse(b"", content_type="application/octet-stream")
        if hasattr(result, "close"):  # a Download completes (and caches) after the answer
            response._resource_closers.append(result.close)
    else:
        result = Begun(result)  # a failure before the first byte is answered in the envelope
        response = StreamingHttpResponse(result, content_type="application/octet-stream")
    if result.size is not None:
        response["Content-Length"] = str(result.size)
    for key, value in headers.items():
        response[key] = value
    return response
