"""Remote repositories: fetch from the upstream, cache, and keep serving when it is down.

Two kinds of upstream things:

* files never change once published: fetched once, on first request, streamed to that client
  while stored, verified against the digests known for them (the upstream's sha256, the
  sha512 a registry asks for) before they become visible, and fetched only once however many
  clients, processes or nodes ask at the same moment;
* documents (index pages, tags) change: cached with the repository's metadata TTL, served
  stale when the upstream fails, and upstream 404s remembered for the missed-retrieval TTL.
"""

import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.utils import timezone

from apps.core import config_cache
from apps.core.db import fetch_one, insert, model_from_row, model_row, write_row
from apps.core.errors import ApiError
from apps.core.http import whole_number
from apps.packages.selectors import artifact_find
from apps.packages.services import ChecksumMismatch, artifact_deploy, blob_ingest
from apps.packages.storage import ALL_DIGESTS, CHUNK, Spool, blob_store

from .models import RemoteDocument, RemoteFetch, Repository

log = logging.getLogger(__name__)
OWNER = f"{socket.gethostname()}:{os.getpid()}"
STALE_FETCH_SECS = 60
HEARTBEAT_SECS = 5
FOLLOW_POLL_SECS = 0.05


class UpstreamUnavailable(ApiError):
    status = 502


_session = None


def upstream_session() -> requests.Session:
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = "repomgr"
        # Only the repository's own settings apply: never a proxy or netrc from the environment.
        _session.trust_env = False
    return _session


def upstream_get(repository: Repository, url: str, *, stream: bool = False,
                 headers: dict | None = None, auth=None, timeout: float | None = None) -> requests.Response:
    """GET ``url`` with the repository's credentials and timeout. Raises UpstreamUnavailable
    on a network failure, a 5xx answer or a 429 (rate limited: Docker Hub's pull limits).

    ``auth`` (a requests auth object) replaces plain Basic credentials, for upstreams with
    their own dance (a Docker registry's bearer tokens). ``timeout`` replaces the
    repository's socket timeout."""
    config_cache.confirm()  # the repository as it is configured now, not as cached
    if auth is None and repository.username:
        auth = (repository.username, repository.password)
    try:
        response = upstream_session().get(url, stream=stream, headers=headers or {}, auth=auth,
                                          timeout=timeout or repository.socket_timeout_secs)
    except requests.RequestException as exc:
        raise UpstreamUnavailable(f"Upstream of '{repository.key}' is unreachable") from exc
    if response.status_code >= 500 or response.status_code == 429:
        response.close()
        raise UpstreamUnavailable(
            f"Upstream of '{repository.key}' answered {response.status_code}")
    return response


# --- documents ------------------------------------------------------------------------------

@dataclass
class Document:
    status: int
    body: bytes
    content_type: str
    fetched: object
    stale: bool = False


def remote_document(repository: Repository, key: str, url: str, *,
                    headers: dict | None = None, force: bool = False, auth=None,
                    stale_timeout: float | None = None, check=None) -> Document | None:
    """The upstream document at ``url``, cached under ``key``; None when upstream has none.

    Fresh cache entries are answered without asking upstream. When upstream fails, a cached
    copy of any age is answered (stale=True); with nothing cached, UpstreamUnavailable.
    ``stale_timeout`` caps how long a slow upstream is waited for when a cached copy could
    answer instead (clients have timeouts of their own). ``check(body, content_type)`` raises
    ValueError for a found document that cannot be used: that upstream answer counts as a
    failure, and the cached copy stays.
    """
    cached = model_row(RemoteDocument, _BY_KEY, [repository.pk, key])
    if cached is not None and not force and _fresh(repository, cached):
        return _as_document(cached)
    if repository.offline:
        return _as_document(cached, stale=True) if cached else None
    timeout = None
    if stale_timeout and cached is not None and cached.status == 200:
        timeout = min(stale_timeout, repository.socket_timeout_secs)
    try:
        response = upstream_get(repository, url, headers=headers, auth=auth, timeout=timeout)
        if check is not None and response.status_code == 200:
            _checked(repository, key, response, check)
    except UpstreamUnavailable:
        if cached is not None and cached.status == 200:
            log.warning("serving stale %s/%s: upstream unavailable", repository.key, key)
            return _as_document(cached, stale=True)
        raise
    return _as_document(_store_document(repository, key, response, cached))


def _checked(repository, key: str, response, check) -> None:
    try:
        check(response.content, response.headers.get("Content-Type", ""))
    except ValueError as exc:
        log.warning("unusable upstream answer for %s/%s: %s", repository.key, key, exc)
        raise UpstreamUnavailable(f"Upstream of '{repository.key}' sent an answer that cannot be read") from exc


def remote_document_fetched(repository: Repository, key: str):
    """(fetched, fresh until) of the cached document under ``key`` while that copy (found or
    missed) is within its TTL; else None. Reads no body: lets callers that keep their own
    rendering of a document check it is current in one small query."""
    cached = _document_state(repository, key)
    if cached is None or not _fresh(repository, cached):
        return None
    return cached.fetched, cached.fetched + timedelta(seconds=_ttl(repository, cached))


# Every remote page, .metadata and file request reads these: prepared statements (fetch_one),
# which skip the ORM's query compiler.
_BY_KEY = 'repository_id = %s AND "key" = %s'
_STATE = ("status", "fetched")


def _document_state(repository: Repository, key: str) -> RemoteDocument | None:
    """The cached document under ``key`` with only its status and fetch time (body deferred)."""
    row = fetch_one(f"SELECT status, fetched FROM {RemoteDocument._meta.db_table} WHERE {_BY_KEY}",
                    [repository.pk, key])
    return None if row is None else model_from_row(RemoteDocument, row, _STATE)


def _fresh(repository: Repository, cached: RemoteDocument) -> bool:
    return timezone.now() - cached.fetched < timedelta(seconds=_ttl(repository, cached))


def _ttl(repository: Repository, cached: RemoteDocument) -> int:
    return (repository.metadata_retrieval_cache_secs if cached.status == 200
            else repository.missed_retrieval_cache_secs)


def _store_document(repository, key, response, cached: RemoteDocument | None = None) -> RemoteDocument:
    found = response.status_code == 200
    values = {
        "status": 200 if found else 404,
        "body": response.content if found else b"",
        "content_type": response.headers.get("Content-Type", "") if found else "",
        "etag": response.headers.get("ETag", "") if found else "",
        "fetched": timezone.now(),
    }
    return write_row(RemoteDocument, {"repository": repository, "key": key}, values, cached)


def _as_document(cached: RemoteDocument, stale: bool = False) -> Document | None:
    if cached.status != 200:
        return None
    return Document(200, bytes(cached.body), cached.content_type, cached.fetched, stale)


def remote_missed(repository: Repository, path: str) -> bool:
    """Whether upstream answered 404 for this file within the missed-retrieval TTL."""
    cached = _document_state(repository, "file:" + path)
    return cached is not None and cached.status == 404 and _fresh(repository, cached)


def _remember_miss(repository: Repository, path: str) -> None:
    RemoteDocument.objects.update_or_create(
        repository=repository, key="file:" + path,
        defaults={"status": 404, "body": b"", "fetched": timezone.now()})


# --- files ----------------------------------------------------------------------------------

def remote_file(repository: Repository, path: str, url: str, *, sha256: str = "", auth=None,
                not_cached: bool = False, expected: dict[str, str] | None = None):
    """The cached Artifact for ``path``, or a live download of it (an iterable of bytes), or
    None when upstream has no such file. ``not_cached``: the caller has just looked for the
    cached artifact and found none (the look is not repeated; a claim still checks again).
    ``expected``: other digests the file must have, verified as its sha256 is ({"sha512": hex}).

    Raises UpstreamUnavailable when the file is not cached and upstream cannot be reached.
    """
    artifact = None if not_cached else artifact_find(repository, path)
    if artifact is not None:
        return artifact
    if repository.offline or remote_missed(repository, path):
        return None
    if not repository.store_artifacts_locally:
        response = _open_upstream(repository, path, url, auth)
        return PassThrough(path, response) if response is not None else None
    while True:
        fetch = _claim(repository, path)
        if fetch is not None:
            return _start_download(repository, path, url, {"sha256": sha256, **(expected or {})},
                                   fetch, auth)
        other = RemoteFetch.objects.filter(repository=repository, path=path).first()
        if other is None:
            artifact = artifact_find(repository, path)
            if artifact is not None:
                return artifact
            continue
        if timezone.now() - other.heartbeat > timedelta(seconds=STALE_FETCH_SECS):
            RemoteFetch.objects.filter(pk=other.pk, heartbeat=other.heartbeat).delete()
            continue
        return Follower(repository, path, other)


def _claim(repository: Repository, path: str) -> RemoteFetch | None:
    fetch = RemoteFetch(repository=repository, path=path, owner=OWNER)
    return fetch if insert(fetch) else None


def _start_download(repository, path, url, expected: dict[str, str], fetch: RemoteFetch, auth=None):
    try:
        # Someone may have finished between our cache miss and our claim.
        artifact = artifact_find(repository, path)
        if artifact is not None:
            _release(fetch)
            return artifact
        response = _open_upstream(repository, path, url, auth)
        if response is None:
            _release(fetch)
            return None
    except BaseException:
        _release(fetch)
        raise
    return Download(repository, path, url, expected, fetch, response)


def _open_upstream(repository, path, url, auth) -> requests.Response | None:
    """Upstream's streaming 200 answer for a file, or None for a 404/410 (remembered as a
    miss). Raises UpstreamUnavailable for anything else."""
    response = upstream_get(repository, url, stream=True, auth=auth)
    if response.status_code in (404, 410):
        response.close()
        _remember_miss(repository, path)
        return None
    if response.status_code != 200:
        response.close()
        raise UpstreamUnavailable(
            f"Upstream of '{repository.key}' answered {response.status_code} for {path}")
    return response


def _release(fetch: RemoteFetch) -> None:
    # A single DELETE: nothing refers to a claim, so no collector and no transaction around it.
    RemoteFetch.objects.filter(pk=fetch.pk)._raw_delete(RemoteFetch.objects.db)


class Download:
    """Bytes from upstream, handed to the client as they arrive and written to a spool; at the
    end verified and stored. If the client goes away the download still completes, so the
    followers and the cache get the file."""

    def __init__(self, repository, path, url, expected: dict[str, str], fetch, response):
        self.repository, self.path, self.url = repository, path, url
        self.expected = {**expected, "sha256": expected.get("sha256") or _published_sha256(response)}
        self.fetch, self.response = fetch, response
        self.size = whole_number(response.headers.get("Content-Length"))
        self.spool = Spool(ALL_DIGESTS + tuple(name for name in self.expected if name not in ALL_DIGESTS))
        self._chunks = response.iter_content(CHUNK)
        self._done = False
        self._beat = time.monotonic()
        RemoteFetch.objects.filter(pk=fetch.pk).update(
            spool_path=self.spool.temporary_file_path(), size=self.size)

    def __iter__(self) -> Iterator[bytes]:
        # The last chunk waits until the file is verified and stored: a client never receives
        # the whole of a file that failed verification (its transfer ends short instead).
        held = b""
        try:
            for chunk in self._chunks:
                self._write(chunk)
                if held:
                    yield held
                held = chunk
        except requests.RequestException as exc:
            self._finish()
            raise UpstreamUnavailable(f"download of {self.path} broke off") from exc
        self._store()
        if held:
            yield held

    def close(self) -> None:
        """Called when the response ends, however it ended: a client that left early does not
        cancel the download."""
        if self._done:
            return
        try:
            for chunk in self._chunks:
                self._write(chunk)
            self._store()
        except Exception:
            log.exception("could not complete the download of %s/%s", self.repository.key, self.path)
        finally:
            self._finish()

    def _write(self, chunk: bytes) -> None:
        self.spool.write(chunk)
        self.spool.file.flush()
        if time.monotonic() - self._beat > HEARTBEAT_SECS:
            RemoteFetch.objects.filter(pk=self.fetch.pk).update(heartbeat=timezone.now())
            self._beat = time.monotonic()

    def _store(self) -> None:
        try:
            if self.size is not None and self.spool.size != self.size:
                raise UpstreamUnavailable(
                    f"upstream sent {self.spool.size} of {self.size} bytes for {self.path}")
            blob = blob_ingest(self.spool.finish(), expected=self.expected)
            artifact_deploy(repository=self.repository, path=self.path, blob=blob,
                            remote_url=self.url, allow_overwrite=True)
        except (ChecksumMismatch, UpstreamUnavailable) as exc:
            log.error("not caching %s/%s: it failed verification", self.repository.key, self.path)
            raise UpstreamUnavailable(f"Upstream of '{self.repository.key}' sent {self.path} "
                                      f"and it failed verification: {exc}") from exc
        finally:
            self._finish()

    def _finish(self) -> None:
        self._done = True
        self.response.close()
        self.spool.close()
        _release(self.fetch)


def _published_sha256(response: requests.Response) -> str:
    """The sha256 an upstream (another Artifactory or repomgr) declares for a file it sends."""
    declared = response.headers.get("X-Checksum-Sha256", "").strip().lower()
    return declared if len(declared) == 64 and all(c in "0123456789abcdef" for c in declared) else ""


class Begun:
    """A live download (Download, Follower, PassThrough) whose first chunk has been read: what
    fails before the first byte (a file smaller than a chunk that fails verification, an
    upstream that breaks off at once) raises in the view, which can still answer the
    protocol's error, rather than after the response's headers have gone out."""

    def __init__(self, download):
        self.download, self._chunks = download, iter(download)
        try:
            self._first = next(self._chunks, b"")
        except BaseException:
            self.close()  # no response will: a Download's claim, connection and spool go now
            raise
        self.size = download.size  # a Follower learns it on its first read

    def __iter__(self) -> Iterator[bytes]:
        if self._first:
            yield self._first
        yield from self._chunks

    def close(self) -> None:
        if hasattr(self.download, "close"):
            self.download.close()


class PassThrough:
    """Upstream's bytes handed straight to the client and kept nowhere: a remote repository
    that does not store artifacts locally."""

    def __init__(self, path: str, response: requests.Response):
        self.path, self.response = path, response
        self.size = whole_number(response.headers.get("Content-Length"))

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.response.iter_content(CHUNK)
        except requests.RequestException as exc:
            raise UpstreamUnavailable(f"download of {self.path} broke off") from exc

    def close(self) -> None:
        self.response.close()


class Follower:
    """A client asking for a file another request is downloading right now: it reads the
    downloader's spool as it grows when that file is visible here, else waits for the result."""

    def __init__(self, repository, path, fetch: RemoteFetch):
        self.repository, self.path, self.fetch = repository, path, fetch
        self.size = fetch.size

    def __iter__(self) -> Iterator[bytes]:
        handle = self._open_spool()
        if handle is None:
            yield from self._wait_then_stream()
            return
        with handle:
            yield from self._tail(handle)

    def _open_spool(self):
        for _ in range(20):
            fetch = RemoteFetch.objects.filter(pk=self.fetch.pk).first()
            if fetch is None:
                return None
            if fetch.spool_path:
                self.size = fetch.size
                try:
                    return open(fetch.spool_path, "rb")
                except FileNotFoundError:
                    return None
            time.sleep(FOLLOW_POLL_SECS)
        return None

    def _tail(self, handle) -> Iterator[bytes]:
        held = b""  # the last bytes wait for verification, as in Download
        while True:
            chunk = handle.read(CHUNK)
            if chunk:
                if held:
                    yield held
                held = chunk
                continue
            if not RemoteFetch.objects.filter(pk=self.fetch.pk).exists():
                held += handle.read()  # the download ended: what is in the file is final
                break
            time.sleep(FOLLOW_POLL_SECS)
        if artifact_find(self.repository, self.path) is None:
            raise UpstreamUnavailable(f"the download of {self.path} failed")
        if held:
            yield held

    def _wait_then_stream(self) -> Iterator[bytes]:
        while RemoteFetch.objects.filter(pk=self.fetch.pk).exists():
            time.sleep(FOLLOW_POLL_SECS * 4)
        artifact = artifact_find(self.repository, self.path)
        if artifact is None:
            raise UpstreamUnavailable(f"the download of {self.path} failed")
        with blob_store().open(artifact.blob.sha256) as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
