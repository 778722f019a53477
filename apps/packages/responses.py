"""Rendering artifacts: the download response and the storage API's JSON shapes."""

from urllib.parse import quote

from django.http import HttpResponse, StreamingHttpResponse

from apps.core.formats import base_url, iso8601
from apps.core.http import serve_file
from apps.repositories.remote import Begun

from .models import Artifact
from .storage import blob_store


def download_headers(artifact: Artifact) -> dict:
    checksums = artifact.blob.checksums  # md5/sha1 only once known
    return {
        **{f"X-Checksum-{name.capitalize()}": value for name, value in checksums.items()},
        "X-Artifactory-Filename": quote(artifact.name),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(artifact.name)}",
    }


def artifact_response(request, artifact: Artifact, *, content_type: str | None = None,
                      headers: dict | None = None) -> HttpResponse:
    """GET/HEAD of a stored artifact, with checksum headers, validators and ranges."""
    store, blob = blob_store(), artifact.blob
    return serve_file(
        request,
        opener=lambda: store.open(blob.sha256),
        size=blob.size,
        content_type=content_type or artifact.mime_type,
        etag=blob.sha1 or blob.sha256,
        last_modified=artifact.modified,
        headers={**download_headers(artifact), **(headers or {})},
        redirect_url=store.redirect_url(blob.sha256, artifact.name),
    )


def live_response(download, filename: str, content_type: str) -> StreamingHttpResponse:
    """A file still arriving from upstream (a Download or a Follower), streamed as it comes.
    Raises UpstreamUnavailable when it fails before its first byte."""
    download = Begun(download)
    response = StreamingHttpResponse(download, content_type=content_type)
    if download.size is not None:
        response["Content-Length"] = str(download.size)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def storage_uri(request, repo_key: str, path: str) -> str:
    return f"{base_url(request)}/api/storage/{repo_key}/{quote(path)}".rstrip("/")


def download_uri(request, repo_key: str, path: str) -> str:
    return f"{base_url(request)}/{repo_key}/{quote(path)}"


def item_created(request, artifact: Artifact, repo_key: str) -> dict:
    """Artifactory's ItemCreated document, answered to a deploy."""
    return {
        "repo": repo_key,
        "path": "/" + artifact.path,
        "created": iso8601(artifact.created),
        "createdBy": artifact.created_by,
        "downloadUri": download_uri(request, repo_key, artifact.path),
        "mimeType": artifact.mime_type,
        "size": str(artifact.blob.size),
        "checksums": artifact.blob.checksums,
        "originalChecksums": artifact.blob.checksums,
        "uri": storage_uri(request, repo_key, artifact.path),
    }


def file_info(request, artifact: Artifact, repo_key: str) -> dict:
    """Artifactory's FileInfo document (``repo_key`` is the repository asked, maybe virtual)."""
    return {
        **item_created(request, artifact, repo_key),
        "remoteUrl": artifact.remote_url or None,
        "lastModified": iso8601(artifact.modified),
        "modifiedBy": artifact.modified_by,
        "lastUpdated": iso8601(artifact.modified),
    }
