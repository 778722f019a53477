"""Remote docker repositories: manifests and blobs from an upstream v2 registry (Docker Hub,
a distribution registry, another repomgr), through the shared remote cache (remote.py):
tags re-checked after the metadata TTL, digests cached for good, blobs fetched once however
many clients ask, and everything cached answered while the upstream is down."""

import json
import logging
import re
from urllib.parse import urlsplit

import requests
from django.core.cache import cache
from requests.auth import AuthBase, _basic_auth_str

from apps.packages.selectors import artifact_find
from apps.repositories.models import Repository
from apps.repositories.remote import UpstreamUnavailable, remote_document, remote_file, upstream_session

from . import selectors, services
from .errors import ManifestInvalid
from .manifests import MEDIA_TYPES
from .references import TAG, Digest, blob_path, digest_of, is_digest, parse_digest

log = logging.getLogger(__name__)
ACCEPT = ", ".join(MEDIA_TYPES)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def upstream_name(repository: Repository, name: str) -> str:
    """The image's name upstream: under the URL's path when it has one (another repomgr's
    repository key), else with Docker Hub's 'library/' for single-name images."""
    parts = urlsplit(repository.url)
    prefix = parts.path.strip("/")
    if prefix:
        return f"{prefix}/{name}"
    return f"library/{name}" if "/" not in name else name


def upstream_url(repository: Repository, name: str, kind: str, reference: str) -> str:
    parts = urlsplit(repository.url)
    return f"{parts.scheme}://{parts.netloc}/v2/{upstream_name(repository, name)}/{kind}/{reference}"


class RegistryAuth(AuthBase):
    """Answers an upstream registry's 401: for a Bearer challenge it fetches a token from the
    realm (with the repository's credentials when it has some) and retries; for Basic it
    retries with the credentials. Tokens are kept in the cache until shortly before they expire."""

    def __init__(self, repository: Repository, name: str):
        self.repository, self.name = repository, name
        self.cache_key = f"docker-upstream-token:{repository.pk}:{name}"

    def __call__(self, request):
        token = cache.get(self.cache_key)
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", self._on_response)
        return request

    def _on_response(self, response, **kwargs):
        if response.status_code != 401 or getattr(response.request, "_repomgr_retried", False):
            return response
        header = self._authorization(response.headers.get("WWW-Authenticate", ""))
        if header is None:
            return response
        response.content  # noqa: B018 - drain the 401 so its connection can be reused
        response.close()
        retry = response.request.copy()
        retry.headers["Authorization"] = header
        retry._repomgr_retried = True
        answer = response.connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        return answer

    def _authorization(self, challenge: str) -> str | None:
        scheme = challenge.split(" ", 1)[0].lower()
        credentials = (self.repository.username, self.repository.password) if self.repository.username else None
        if scheme == "basic" and credentials:
            return _basic_auth_str(*credentials)
        if scheme != "bearer":
            return None
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.pop("realm", "")
        if not realm:
            return None
        try:
            answer = upstream_session().get(realm, params=params, auth=credentials,
                                            timeout=self.repository.socket_timeout_secs)
            body = answer.json() if answer.status_code == 200 else {}
        except (requests.RequestException, ValueError):
            return None
        token = body.get("token") or body.get("access_token")
        if not token:
            return None
        cache.set(self.cache_key, token, max(int(body.get("expires_in") or 60) - 10, 10))
        return f"Bearer {token}"


def remote_manifest(repository: Repository, name: str, reference: str) -> selectors.StoredManifest | None:
    """The manifest for ``reference`` from the cache or the upstream, stored in the cache.

    Raises UpstreamUnavailable when the upstream is unreachable or sends no valid manifest,
    and nothing is cached.
    """
    if is_digest(reference):
        cached = selectors.manifest_find(repository, name, reference)
        if cached is not None:
            return cached
    document = remote_document(
        repository, f"docker-manifest:{name}:{reference}",
        upstream_url(repository, name, "manifests", reference),
        headers={"Accept": ACCEPT}, auth=RegistryAuth(repository, upstream_name(repository, name)))
    if document is None:
        return None
    if is_digest(reference) and not parse_digest(reference).matches(document.body):
        return None  # the upstream answered other bytes than the digest names: never cache them
    current = selectors.manifest_find(repository, name, reference)
    if current is not None and current.digest == str(digest_of(document.body)):
        return current
    try:
        return selectors.StoredManifest.of(services.manifest_push(
            repository=repository, name=name, reference=reference, body=document.body,
            content_type=document.content_type, check_blobs=False, may_move_tags=True))  # the upstream's tag moved
    except ManifestInvalid as exc:  # the upstream failing, not the client: the cached copy answers
        log.warning("%s: upstream sent an invalid manifest for %s:%s: %s", repository.key, name,
                    reference, exc.message)
        if current is None:
            raise UpstreamUnavailable(f"Upstream of '{repository.key}' sent an invalid manifest "
                                      f"for {name}:{reference}") from None
        return current


def remote_blob(repository: Repository, name: str, digest: Digest):
    """The cached blob (an Artifact), a live download shared with every other client asking
    for it now, or None when the upstream has no such blob."""
    path = blob_path(name, digest)
    cached = artifact_find(repository, path)
    if cached is not None:
        # A copy cached before sha512 downloads were verified may hold other bytes.
        return cached if selectors.bytes_match(cached, digest) else None
    return remote_file(repository, path, upstream_url(repository, name, "blobs", str(digest)),
                       expected={digest.algorithm: digest.hex}, not_cached=True,
                       auth=RegistryAuth(repository, upstream_name(repository, name)))


def remote_tags(repository: Repository, name: str) -> list[str]:
    """The upstream's tags of the image (cached for the metadata TTL), less names that are no
    tags; [] when it has none, cannot be asked or answers no tag list (the tags cached here
    still answer)."""
    try:
        document = remote_document(repository, f"docker-tags:{name}",
                                   upstream_url(repository, name, "tags", "list"),
                                   auth=RegistryAuth(repository, upstream_name(repository, name)))
    except UpstreamUnavailable:
        log.warning("%s: upstream unavailable for the tags of %s", repository.key, name)
        return []
    if document is None:
        return []
    try:
        tags = json.loads(document.body).get("tags") or []
    except (ValueError, AttributeError, RecursionError):  # not JSON, or not an object
        tags = None
    if not isinstance(tags, list):
        log.warning("%s: the upstream's tag list of %s is malformed", repository.key, name)
        return []
    return [tag for tag in tags if isinstance(tag, str) and TAG.fullmatch(tag)]
